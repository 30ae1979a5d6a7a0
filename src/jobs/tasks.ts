/**
 * The registry's tasks bound to what runs them (one function per task name, checked exhaustively by the compiler),
 * as graphile-worker's task list and crontab.
 */
import type { CronItem, JobHelpers, Task, TaskList } from 'graphile-worker';
import { addTaskJob } from '../domain/queue.js';
import {
  INVENTORY_TASKS,
  jobIdentifier,
  jobOptions,
  parseTaskTarget,
  targetName,
  taskSchedules,
  TASK_NAMES,
  type InventoryTaskName,
  type RunTrigger,
  type TaskName,
  type TaskTarget,
} from '../domain/tasks.js';
import { publishEvent } from '../events.js';
import { syncBalance } from './billing/balance.js';
import { syncBillingHistory } from './billing/history.js';
import { ingestInvoice } from './billing/ingest.js';
import { syncBillingInsights } from './billing/insights.js';
import { triggerOf, type JobContext } from './context.js';
import { withRunLock, type Lease } from './lease.js';
import { failedRunError, type RunResult } from './run.js';
import { createJobServices, type JobServices } from './services.js';

interface Job {
  payload: unknown;
  trigger: RunTrigger;
  helpers: JobHelpers;
}

/** Runs one job; returns its run (null: no run was made, e.g. the invoice is being ingested elsewhere). */
type Runner = (services: JobServices, job: Job) => Promise<Pick<RunResult, 'status' | 'runId' | 'error'> | null>;

const BUSY_RETRY_MS = 30_000;

function inventoryRunner(task: InventoryTaskName): Runner {
  return (services, { trigger, helpers }) =>
    services.engine.run(task, { trigger, jobId: helpers.job.id, signal: helpers.abortSignal });
}

const BILLING_RUNNERS: { [K in Exclude<TaskName, InventoryTaskName>]: Runner } = {
  balance: (services, { trigger, helpers }) => syncBalance(services.billing, { trigger, jobId: helpers.job.id }),
  billing_history: (services, { trigger, helpers }) =>
    syncBillingHistory(services.billing, {
      trigger,
      jobId: helpers.job.id,
      enqueueInvoice: async (invoiceUuid) =>
        void (await addTaskJob(helpers.addJob, { task: 'invoice', argument: invoiceUuid }, trigger)),
    }),
  billing_insights: (services, { trigger, helpers }) =>
    syncBillingInsights(services.billing, { trigger, jobId: helpers.job.id, signal: helpers.abortSignal }),
  invoice: async (services, { payload, trigger, helpers }) => {
    const { invoiceUuid } = (payload ?? {}) as { invoiceUuid?: unknown };
    const target = typeof invoiceUuid === 'string' ? parseTaskTarget(`invoice:${invoiceUuid}`) : null;
    if (!target?.argument) throw new Error('billing:invoice needs { invoiceUuid }');
    const outcome = await ingestInvoice(services.billing, target.argument, {
      trigger,
      jobId: helpers.job.id,
      signal: helpers.abortSignal,
    });
    if (outcome.status !== 'busy')
      return outcome.status === 'failed' ? outcome : { status: 'succeeded', runId: outcome.runId };
    // Another ingest of this invoice holds the lock: come back once it is done (the data may be newer).
    await addTaskJob(helpers.addJob, target, trigger, new Date(Date.now() + BUSY_RETRY_MS));
    return null;
  },
};

const RUNNERS: { [K in TaskName]: Runner } = {
  ...(Object.fromEntries(INVENTORY_TASKS.map((task) => [task, inventoryRunner(task)])) as Record<
    InventoryTaskName,
    Runner
  >),
  ...BILLING_RUNNERS,
};

/** The run lock of a target: one run of a task (of an invoice, for `invoice`) at a time, across every process. */
export function runLockKey(accountId: string, target: TaskTarget): string {
  return `${accountId}:${targetName(target)}`;
}

/**
 * The task list. Without a DigitalOcean token it holds no DigitalOcean task: graphile-worker only takes jobs of the
 * tasks it knows, so such a worker leaves them to the workers that can run them instead of failing them.
 *
 * With `lease` (the worker always passes its own), each job runs under its target's run lock: while another
 * process runs the same target (`npm run sync`), the job does not list a second time alongside it; it queues the
 * target again for BUSY_RETRY_MS later (a trigger is never lost, and the retry sees the newer state) and records no
 * run, so a busy job never counts toward staleness.
 */
export function createTaskList(context: JobContext, lease?: Lease): TaskList {
  let services: JobServices | undefined;
  const getServices = (): JobServices =>
    (services ??= createJobServices(context.config, context.pool, context.logger, {
      ...(lease && { owner: lease.owner }),
    }));

  const tasks: TaskList = {
    /** Proves the queue end to end: whichever process runs it announces itself on the events channel. */
    ping: async (payload) => {
      const { id } = (payload ?? {}) as { id?: string };
      await publishEvent(context.pool, { type: 'ping', task: 'ping', message: `${id ?? ''} ${process.pid}`.trim() });
    },
  };
  if (!context.config.digitalocean.token) return tasks;
  const { accountId } = context.config.digitalocean;
  for (const name of TASK_NAMES) {
    const task: Task = async (payload, helpers) => {
      const trigger = triggerOf(payload);
      const job = { payload, trigger, helpers };
      const target = targetOf(name, payload);
      const locked = lease && target ? await withRunLock(lease, runLockKey(accountId, target), {}, runJob) : null;
      if (locked && !locked.ran) {
        helpers.logger.info(`${targetName(target!)} is running in another process: queued again`);
        await addTaskJob(helpers.addJob, target!, trigger, new Date(Date.now() + BUSY_RETRY_MS));
      }
      const result = locked ? (locked.ran ? locked.value : null) : await runJob();
      // A failed run is recorded in sync_runs; the queue is told too, so the job shows as failed.
      const error = result && failedRunError(`sync ${name}`, result);
      if (error) throw error;

      function runJob(): ReturnType<Runner> {
        return RUNNERS[name](getServices(), job);
      }
    };
    tasks[jobIdentifier(name)] = task;
  }
  return tasks;
}

/**
 * The target a job of `task` runs on, read back from its payload (queue.ts's jobPayload); null for a payload without
 * the argument its task needs (the runner then says why).
 */
function targetOf(task: TaskName, payload: unknown): TaskTarget | null {
  const bare = parseTaskTarget(task);
  if (bare) return bare;
  const { invoiceUuid } = (payload ?? {}) as { invoiceUuid?: unknown };
  return typeof invoiceUuid === 'string' ? parseTaskTarget(`${task}:${invoiceUuid}`) : null;
}

/** The schedule. Without a DigitalOcean token there is nothing to sync, so nothing is scheduled. Cron jobs carry `{ trigger: 'cron' }`. */
export function createCrontab(context: Pick<JobContext, 'config'>): CronItem[] {
  if (!context.config.digitalocean.token) return [];
  return taskSchedules({ fastDroplets: context.config.sync.fastDroplets }).map(({ task, identifier, pattern }) => {
    const { queueName, jobKey, jobKeyMode, maxAttempts } = jobOptions({ task });
    return {
      task: jobIdentifier(task),
      match: pattern,
      identifier,
      payload: { trigger: 'cron' },
      options: { queueName, jobKey, jobKeyMode, maxAttempts, backfillPeriod: 0 },
    };
  });
}
