// What every job needs, built once per process by the entry point and closed over by the task list.
import type pg from 'pg';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/client.js';
import type { RunTrigger } from '../domain/tasks.js';
import type { Logger } from '../logger.js';

export interface JobContext {
  config: Config;
  pool: pg.Pool;
  prisma: PrismaClient;
  logger: Logger;
}

/** Who started a job: cron items carry `_cron`, manual and CLI enqueues say so in the payload. */
export function triggerOf(payload: unknown): RunTrigger {
  const p = (payload ?? {}) as { trigger?: unknown; _cron?: unknown };
  if (p.trigger === 'manual' || p.trigger === 'cli' || p.trigger === 'cron' || p.trigger === 'startup')
    return p.trigger;
  return p._cron ? 'cron' : 'manual';
}
