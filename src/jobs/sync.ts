/**
 * The inventory sync as graphile-worker sees it: one job identifier per task (`sync:droplet`, …, `sync:projects`),
 * all running the same engine; the crontab built from the kind table; and the job options that keep runs of one
 * task from overlapping or piling up:
 *
 * - `queueName: sync:<task>`: jobs of one queue run one at a time, so two runs of a task never overlap;
 * - `jobKey: sync:<task>` + `jobKeyMode: preserve_run_at`: at most one PENDING job per task. A cron tick or a
 *   manual request while one is pending updates that job instead of adding another (keeping its earlier run_at);
 *   while one is running, graphile-worker adds a single successor (the running job gives up the key);
 * - `maxAttempts: 1`: a failed sync is not retried by the queue (it is recorded in sync_runs); the next scheduled
 *   run is the retry. `backfillPeriod: 0`: runs missed while no worker was up are not replayed.
 */
import type { CronItem, TaskSpec } from 'graphile-worker';
import type { Config } from '../config.js';
import { createTransport, type Transport } from '../digitalocean/transport.js';
import { logger } from '../logger.js';
import { createSyncEngine, SYNC_TASK_NAMES, type SqlClient, type SyncEngine, type SyncEngineOptions } from './inventory/engine.js';
import { INVENTORY_SCHEDULES } from './inventory/kinds.js';

/**
 * Every inventory sync task name (`droplet`, `volume`, …, `projects`), in the order `all` runs them (projects last).
 * Every task name, billing's included, is index.ts's TASKS.
 */
export const SYNC_TASKS: readonly string[] = SYNC_TASK_NAMES;

export const SYNC_JOB_PREFIX = 'sync:';

/** Every minute, for droplets, when SYNC_FAST_DROPLETS is on. */
export const FAST_DROPLETS_SCHEDULE = '* * * * *';

export function isSyncTask(task: string): boolean {
  return SYNC_TASKS.includes(task);
}

/** The graphile-worker task identifier of a sync task. */
export function syncJobIdentifier(task: string): string {
  return `${SYNC_JOB_PREFIX}${task}`;
}

/** Queue, key and attempts shared by scheduled and on-demand jobs of a task (see the module comment). */
export function syncJobSpec(task: string): Required<Pick<TaskSpec, 'queueName' | 'jobKey' | 'maxAttempts'>> & { jobKeyMode: 'preserve_run_at' } {
  const key = syncJobIdentifier(task);
  return { queueName: key, jobKey: key, jobKeyMode: 'preserve_run_at', maxAttempts: 1 };
}

export interface ScheduleOptions {
  /** Also sync droplets every minute (config.sync.fastDroplets). */
  fastDroplets?: boolean;
}

export interface SyncSchedule {
  task: string;
  /** Crontab identifier (unique per entry). */
  identifier: string;
  pattern: string;
}

/** The schedule entries, from the kind table (plus the droplet fast lane when enabled). */
export function syncSchedules(options: ScheduleOptions = {}): SyncSchedule[] {
  const entries = INVENTORY_SCHEDULES.map(({ task, schedule }) => ({ task, identifier: syncJobIdentifier(task), pattern: schedule }));
  if (options.fastDroplets) {
    entries.push({ task: 'droplet', identifier: `${syncJobIdentifier('droplet')}:fast`, pattern: FAST_DROPLETS_SCHEDULE });
  }
  return entries;
}

/** graphile-worker cron items for every sync task. Cron jobs carry `{ trigger: 'cron' }`. */
export function createSyncCrontab(options: ScheduleOptions = {}): CronItem[] {
  return syncSchedules(options).map(({ task, identifier, pattern }) => {
    const { queueName, jobKey, jobKeyMode, maxAttempts } = syncJobSpec(task);
    return {
      task: syncJobIdentifier(task),
      match: pattern,
      identifier,
      payload: { trigger: 'cron' },
      options: { queueName, jobKey, jobKeyMode, maxAttempts, backfillPeriod: 0 },
    };
  });
}

/** The DigitalOcean transport from configuration, or undefined without a token. One per process: one rate limiter. */
export function createTransportFromConfig(config: Config): Transport | undefined {
  const { token, apiUrl, timeoutMs, maxRequestsPerMinute } = config.digitalocean;
  if (!token) return undefined;
  return createTransport({
    token,
    baseUrl: apiUrl,
    timeoutMs,
    maxRequestsPerMinute,
    logger: logger.child({ component: 'digitalocean' }),
  });
}

/** The sync engine wired to this process's configuration. */
export function createSyncEngineFromConfig(
  config: Config,
  db: SqlClient,
  extra: Partial<Pick<SyncEngineOptions, 'onEvent' | 'transport' | 'logger'>> = {},
): SyncEngine {
  return createSyncEngine({
    db,
    accountId: config.digitalocean.accountId,
    transport: extra.transport ?? createTransportFromConfig(config),
    fallback: { projectId: config.sync.fallbackProjectId, tenantId: config.sync.fallbackTenantId },
    logger: extra.logger ?? logger.child({ component: 'sync' }),
    ...(extra.onEvent && { onEvent: extra.onEvent }),
  });
}
