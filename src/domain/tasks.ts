/**
 * The task registry: every job cloud-ops runs, declared once. Its name (also `sync_runs.task`), graphile-worker job
 * identifier, schedule, queue policy and group; everything else (the task union, the crontab, `npm run sync`,
 * triggerSync, syncStatus, the next scheduled run) is derived from this table.
 *
 * Queue policy, so that runs of a task never overlap and never pile up:
 * - a task without an argument has its own queue and job key (`queueName = jobKey = job`, `preserve_run_at`): at
 *   most one PENDING job per task; a cron tick or a manual request while one is pending updates it (keeping the
 *   earlier run_at); while one is running, graphile-worker adds a single successor;
 * - a task with an argument (one invoice's ingest) shares the declared queue (one at a time across the cluster, so
 *   a backfill does not hammer the API) with a job key per argument (`replace`): an invoice is never queued twice;
 * - `maxAttempts: 1` everywhere: a failed run is recorded in sync_runs and the next scheduled run is the retry;
 *   missed cron ticks are not replayed (`backfillPeriod: 0`);
 * - outside the queue (`npm run sync`) the same holds through each target's run lock (jobs/lease.ts).
 */
import { parseCronItem, type TaskSpec } from 'graphile-worker';

const EVERY_15_MINUTES = '*/15 * * * *';
const HOURLY_AT_33 = '33 * * * *';

interface TaskDeclaration {
  group: 'inventory' | 'billing';
  /** graphile-worker task identifier. */
  job: string;
  /** graphile-worker cron pattern (UTC); null: only ever enqueued. */
  schedule: string | null;
  /** A second cron entry on the same queue and key, when config.sync.fastDroplets is on. */
  fastSchedule?: string;
  /** Runs after the others of an `all` request (higher runs later). */
  priority?: number;
  /** A task run on one thing: its shared queue, and the argument's name in `task:<argument>`. */
  argument?: { name: 'uuid'; queue: string };
}

/** Order matters: `all` and `npm run sync` run the inventory tasks in this order, projects last. */
export const TASKS = {
  droplet: { group: 'inventory', job: 'sync:droplet', schedule: EVERY_15_MINUTES, fastSchedule: '* * * * *' },
  volume: { group: 'inventory', job: 'sync:volume', schedule: EVERY_15_MINUTES },
  snapshot: { group: 'inventory', job: 'sync:snapshot', schedule: HOURLY_AT_33 },
  floating_ip: { group: 'inventory', job: 'sync:floating_ip', schedule: EVERY_15_MINUTES },
  reserved_ipv6: { group: 'inventory', job: 'sync:reserved_ipv6', schedule: EVERY_15_MINUTES },
  firewall: { group: 'inventory', job: 'sync:firewall', schedule: EVERY_15_MINUTES },
  load_balancer: { group: 'inventory', job: 'sync:load_balancer', schedule: EVERY_15_MINUTES },
  dns_zone: { group: 'inventory', job: 'sync:dns_zone', schedule: EVERY_15_MINUTES },
  managed_db: { group: 'inventory', job: 'sync:managed_db', schedule: EVERY_15_MINUTES },
  kubernetes_cluster: { group: 'inventory', job: 'sync:kubernetes_cluster', schedule: EVERY_15_MINUTES },
  app: { group: 'inventory', job: 'sync:app', schedule: EVERY_15_MINUTES },
  // Projects after the kinds, so that a first sync attributes resources that already exist.
  projects: { group: 'inventory', job: 'sync:projects', schedule: EVERY_15_MINUTES, priority: 1 },
  balance: { group: 'billing', job: 'billing:balance', schedule: '7 * * * *' },
  // History and invoice headers; enqueues one `invoice` job per invoice to ingest.
  billing_history: { group: 'billing', job: 'billing:history', schedule: '23 2 * * *' },
  // DigitalOcean estimates each day's invoice items in a nightly run on US time; 09:17 UTC is after midnight on the
  // US west coast (07:00-08:00 UTC) with an hour to spare, so the run finds yesterday's points, and it is off the
  // minutes the other tasks start at.
  billing_insights: { group: 'billing', job: 'billing:insights', schedule: '17 9 * * *' },
  invoice: {
    group: 'billing',
    job: 'billing:invoice',
    schedule: null,
    argument: { name: 'uuid', queue: 'billing:invoices' },
  },
} as const satisfies Record<string, TaskDeclaration>;

export type TaskName = keyof typeof TASKS;
export type InventoryTaskName = {
  [K in TaskName]: (typeof TASKS)[K]['group'] extends 'inventory' ? K : never;
}[TaskName];
/** The inventory tasks that list one resource kind (every inventory task but projects). */
export type KindTaskName = Exclude<InventoryTaskName, 'projects'>;

/** cron (the schedule), manual (triggerSync), cli (npm run sync), startup (the first sync of an empty mirror). */
export type RunTrigger = 'cron' | 'manual' | 'cli' | 'startup';

const declarations = TASKS as Record<TaskName, TaskDeclaration>;

/** Every task, in table order: also every value `sync_runs.task` takes. */
export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

/** `all`: every inventory task. Billing tasks are asked for by name. */
export const ALL_TASKS = 'all';

/** The inventory tasks (the kinds, then projects): what `all` runs. */
export const INVENTORY_TASKS = TASK_NAMES.filter(
  (task): task is InventoryTaskName => declarations[task].group === 'inventory',
);

/** The scheduled tasks, each with its own status in syncStatus. */
export const SCHEDULED_TASKS = TASK_NAMES.filter((task) => declarations[task].schedule !== null);

/** One run asked for by name: a task, with its argument when it takes one (`invoice:<uuid>`). */
export interface TaskTarget {
  task: TaskName;
  argument?: string;
}

/** How a user names a task: its name, or `name:<argument>`. */
function formOf(task: TaskName): string {
  const argument = declarations[task].argument;
  return argument ? `${task}:<${argument.name}>` : task;
}

/** Every name a user may ask to run, as help and error messages spell them (then `"all"`). */
export const TASK_NAME_FORMS: readonly string[] = TASK_NAMES.map(formOf);

const ARGUMENT = /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/;

/** The run `name` asks for (`droplet`, `invoice:<uuid>`), or null when it names none (`all` is not a target). */
export function parseTaskTarget(name: string): TaskTarget | null {
  const colon = name.indexOf(':');
  const task = colon < 0 ? name : name.slice(0, colon);
  if (!Object.hasOwn(TASKS, task)) return null;
  const declared = declarations[task as TaskName];
  if (!declared.argument) return colon < 0 ? { task: task as TaskName } : null;
  const argument = colon < 0 ? '' : name.slice(colon + 1);
  return ARGUMENT.test(argument) ? { task: task as TaskName, argument } : null;
}

/** The name a target is asked for by, and shown under: `droplet`, `invoice:<uuid>`. */
export function targetName(target: TaskTarget): string {
  return target.argument === undefined ? target.task : `${target.task}:${target.argument}`;
}

/** Whether `name` can be run by name: `all`, a task, or a task with its argument. */
export function isRunnableTask(name: string): boolean {
  return name === ALL_TASKS || parseTaskTarget(name) !== null;
}

export function groupOf(task: TaskName): 'inventory' | 'billing' {
  return declarations[task].group;
}

export function jobIdentifier(task: TaskName): string {
  return declarations[task].job;
}

export type JobOptions = Required<Pick<TaskSpec, 'queueName' | 'jobKey' | 'maxAttempts' | 'priority'>> & {
  jobKeyMode: 'preserve_run_at' | 'replace';
};

/** Queue, key, attempts and priority of a target's job, the same for scheduled and on-demand runs (module comment). */
export function jobOptions(target: TaskTarget): JobOptions {
  const declared: TaskDeclaration = declarations[target.task];
  const priority = declared.priority ?? 0;
  if (declared.argument) {
    const jobKey = `${declared.job}:${target.argument ?? ''}`;
    return { queueName: declared.argument.queue, jobKey, jobKeyMode: 'replace', maxAttempts: 1, priority };
  }
  return { queueName: declared.job, jobKey: declared.job, jobKeyMode: 'preserve_run_at', maxAttempts: 1, priority };
}

export interface TaskSchedule {
  task: TaskName;
  /** Crontab identifier (unique per entry). */
  identifier: string;
  pattern: string;
}

export interface ScheduleOptions {
  /** Also sync droplets every minute (config.sync.fastDroplets). */
  fastDroplets?: boolean;
}

/** Every crontab entry: one per scheduled task, plus the droplet fast lane when enabled. */
export function taskSchedules(options: ScheduleOptions = {}): TaskSchedule[] {
  const entries: TaskSchedule[] = [];
  for (const task of SCHEDULED_TASKS) {
    const declared: TaskDeclaration = declarations[task];
    if (declared.schedule !== null) entries.push({ task, identifier: declared.job, pattern: declared.schedule });
  }
  if (options.fastDroplets) {
    for (const task of TASK_NAMES) {
      const declared: TaskDeclaration = declarations[task];
      if (declared.fastSchedule)
        entries.push({ task, identifier: `${declared.job}:fast`, pattern: declared.fastSchedule });
    }
  }
  return entries;
}

const MINUTE = 60_000;
/** Upper bound of the search: every pattern in use matches within a day; a year covers any valid pattern. */
const SEARCH_MINUTES = 366 * 24 * 60;

/**
 * The next time (strictly after `from`, on a whole minute, UTC as graphile-worker's cron) the schedule runs `task`;
 * null for a task that is not scheduled. Uses graphile-worker's own cron parser, so it agrees with the worker.
 */
export function nextScheduledRun(task: string, from: Date, options: ScheduleOptions = {}): Date | null {
  const entries = taskSchedules(options).filter((s) => s.task === task);
  if (entries.length === 0) return null;
  const matchers = entries.map(
    (e) => parseCronItem({ task: e.identifier, match: e.pattern, identifier: e.identifier }).match,
  );
  let t = Math.floor(from.getTime() / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < SEARCH_MINUTES; i++, t += MINUTE) {
    const d = new Date(t);
    const digest = {
      min: d.getUTCMinutes(),
      hour: d.getUTCHours(),
      date: d.getUTCDate(),
      month: d.getUTCMonth() + 1,
      dow: d.getUTCDay(),
    };
    if (matchers.some((match) => match(digest))) return d;
  }
  return null;
}
