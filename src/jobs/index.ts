// The task names, the task list and the crontab, defined in code (graphile-worker's conventions: one entry per task).
import { parseCronItem, type CronItem, type Task, type TaskList } from 'graphile-worker';
import { publishEvent } from '../events.js';
import { BILLING_RUN_TASKS, BILLING_SCHEDULES, BILLING_TASKS, billingCronItems, billingTasks, INVOICE_TARGET_FORM, isBillingTarget } from './billing/tasks.js';
import type { Transport } from '../digitalocean/transport.js';
import { triggerOf, type JobContext } from './context.js';
import type { SyncEngine } from './inventory/engine.js';
import {
  createSyncCrontab,
  createSyncEngineFromConfig,
  createTransportFromConfig,
  SYNC_TASKS,
  syncJobIdentifier,
  syncSchedules,
  type ScheduleOptions,
  type SyncSchedule,
} from './sync.js';

// --- the task names: what `npm run sync`, triggerSync and syncStatus share ------------------------------------

/**
 * Every scheduled task, by name (sync_runs.task): the inventory tasks (the kinds, then projects), then the periodic
 * billing tasks (balance, billing_history). `npm run sync` and triggerSync run any of them by name (and one invoice,
 * `invoice:<uuid>`); syncStatus lists each one.
 */
export const TASKS: readonly string[] = [...SYNC_TASKS, ...BILLING_TASKS];

/** `all`: every inventory task (the kinds, then projects). Billing tasks are asked for by name. */
export const ALL_TASKS = 'all';

/** Every name a user may ask to run, as help and error messages spell them (then `"all"`). */
export const TASK_NAME_FORMS: readonly string[] = [...TASKS, INVOICE_TARGET_FORM];

/** sync_runs.task of every run (what syncRuns and syncProgress filter by): TASKS plus `invoice`. */
export const RUN_TASKS: readonly string[] = [...new Set([...TASKS, ...BILLING_RUN_TASKS])];

/** Whether `name` can be run by name: `all`, a task of TASKS, or `invoice:<uuid>`. */
export function isRunnableTask(name: string): boolean {
  return name === ALL_TASKS || SYNC_TASKS.includes(name) || isBillingTarget(name);
}

/** The schedule of every task of TASKS (inventory, plus the droplet fast lane when enabled, then billing). */
export function taskSchedules(options: ScheduleOptions = {}): SyncSchedule[] {
  return [...syncSchedules(options), ...BILLING_SCHEDULES.map(({ task, job, pattern }) => ({ task, identifier: job, pattern }))];
}

const MINUTE = 60_000;
/** Upper bound of the search: every pattern in use matches within a day; a year covers any valid pattern. */
const SEARCH_MINUTES = 366 * 24 * 60;

/**
 * The next time (strictly after `from`, on a whole minute, UTC as graphile-worker's cron) the schedule runs `task`;
 * null for an unknown task. Uses graphile-worker's own cron parser, so it agrees with what the worker does.
 */
export function nextScheduledRun(task: string, from: Date, options: ScheduleOptions = {}): Date | null {
  const entries = taskSchedules(options).filter((s) => s.task === task);
  if (entries.length === 0) return null;
  const matchers = entries.map((e) => parseCronItem({ task: e.identifier, match: e.pattern, identifier: e.identifier }).match);
  let t = Math.floor(from.getTime() / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < SEARCH_MINUTES; i++, t += MINUTE) {
    const d = new Date(t);
    const digest = { min: d.getUTCMinutes(), hour: d.getUTCHours(), date: d.getUTCDate(), month: d.getUTCMonth() + 1, dow: d.getUTCDay() };
    if (matchers.some((match) => match(digest))) return d;
  }
  return null;
}

// --- the task list and the crontab ------------------------------------------------------------------------------

export function createTaskList(context: JobContext): TaskList {
  // One DigitalOcean transport per process (so one rate limiter for the token), shared by every sync and billing task.
  let transport: Transport | undefined;
  const getTransport = (): Transport | undefined => (transport ??= createTransportFromConfig(context.config));
  let engine: SyncEngine | undefined;
  const getEngine = (): SyncEngine => (engine ??= createSyncEngineFromConfig(context.config, context.pool, { transport: getTransport() }));

  const tasks: TaskList = {
    /** Proves the queue end to end: whichever process runs it announces itself on the events channel. */
    ping: async (payload) => {
      const { id } = (payload ?? {}) as { id?: string };
      await publishEvent(context.pool, { type: 'ping', task: 'ping', message: `${id ?? ''} ${process.pid}`.trim() });
    },
  };
  for (const task of SYNC_TASKS) tasks[syncJobIdentifier(task)] = syncTask(task, getEngine);
  return { ...tasks, ...billingTasks(context, getTransport) };
}

/** `sync:<task>`: one run of the engine. A failed run is recorded in sync_runs, then reported to the queue. */
function syncTask(task: string, getEngine: () => SyncEngine): Task {
  return async (payload, helpers) => {
    const trigger = triggerOf(payload);
    const result = await getEngine().run(task, { trigger, jobId: helpers.job.id, signal: helpers.abortSignal });
    if (result.status === 'failed') throw new Error(`sync ${task} failed (run ${result.runId}): ${result.error ?? 'unknown error'}`);
  };
}

/** The schedule. Without a DigitalOcean token there is nothing to sync, so nothing is scheduled. */
export function createCrontab(context: Pick<JobContext, 'config'>): CronItem[] {
  if (!context.config.digitalocean.token) return [];
  return [...createSyncCrontab({ fastDroplets: context.config.sync.fastDroplets }), ...billingCronItems(context.config)];
}
