import type pg from 'pg';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/client.js';

/** What every task needs; built once per process and closed over by the task list. */
export interface JobContext {
  config: Config;
  pool: pg.Pool;
  prisma: PrismaClient;
}

/** cron (the schedule), manual (triggerSync), cli (npm run sync), startup (the first sync of an empty mirror). */
export type RunTrigger = 'cron' | 'manual' | 'cli' | 'startup';

/** Who started a job: cron items carry `_cron`, manual and CLI enqueues say so in the payload. */
export function triggerOf(payload: unknown): RunTrigger {
  const p = (payload ?? {}) as { trigger?: unknown; _cron?: unknown };
  if (p.trigger === 'manual' || p.trigger === 'cli' || p.trigger === 'cron' || p.trigger === 'startup') return p.trigger;
  return p._cron ? 'cron' : 'manual';
}
