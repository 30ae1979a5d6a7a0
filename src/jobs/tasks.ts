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
  taskSchedules,
  TASK_NAMES,
  type InventoryTaskName,
  type RunTrigger,
  type TaskName,
} from '../domain/tasks.js';
import { publishEvent } from '../events.js';
import { syncBalance } from './billing/balance.js';
import { syncBillingHistory } from './billing/history.js';
import { ingestInvoice } from './billing/ingest.js';
import { triggerOf, type JobContext } from './context.js';
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
  invoice: async (services, { payload, trigger, helpers }) => {
    const { invoiceUuid } = (payload ?? {}) as { invoiceUuid?: unknown };
    const target = typeof invoiceUuid === 'string' ? parseTaskTarget(`invoice:${invoiceUuid}`) : null;
    if (!target?.argument) throw new Error('billing:invoice needs { invoiceUuid }');
    const outcome = await ingestInvoice(services.billing, target.argument, { trigger, jobId: helpers.job.id });
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

export function createTaskList(context: JobContext): TaskList {
  let services: JobServices | undefined;
  const getServices = (): JobServices => (services ??= createJobServices(context.config, context.pool, context.logger));

  const tasks: TaskList = {
    /** Proves the queue end to end: whichever process runs it announces itself on the events channel. */
    ping: async (payload) => {
      const { id } = (payload ?? {}) as { id?: string };
      await publishEvent(context.pool, { type: 'ping', task: 'ping', message: `${id ?? ''} ${process.pid}`.trim() });
    },
  };
  for (const name of TASK_NAMES) {
    const task: Task = async (payload, helpers) => {
      const result = await RUNNERS[name](getServices(), { payload, trigger: triggerOf(payload), helpers });
      // A failed run is recorded in sync_runs; the queue is told too, so the job shows as failed.
      const error = result && failedRunError(`sync ${name}`, result);
      if (error) throw error;
    };
    tasks[jobIdentifier(name)] = task;
  }
  return tasks;
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
