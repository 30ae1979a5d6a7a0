/**
 * Billing as graphile-worker sees it.
 *
 * | job identifier      | sync_runs.task    | schedule         | what                                            |
 * |---------------------|-------------------|------------------|-------------------------------------------------|
 * | `billing:balance`   | `balance`         | hourly at :07    | one balance snapshot                            |
 * | `billing:history`   | `billing_history` | daily at 02:23   | history + invoice headers, enqueues the ingests |
 * | `billing:invoice`   | `invoice`         | (enqueued)       | one invoice's lines: `{ invoiceUuid }`          |
 *
 * Job options follow the inventory sync's (sync.ts): balance and history each have their own queue and jobKey
 * (`preserve_run_at`), so runs never overlap or pile up; `maxAttempts: 1`, a failed run is recorded in sync_runs and
 * the next scheduled run is the retry (the history run re-enqueues every invoice that is not ingested). Invoice
 * ingests share ONE queue (`billing:invoices`: one ingest at a time per cluster, so a backfill of many invoices does
 * not hammer the API or the database) and have a jobKey per invoice, so an invoice is never queued twice; the ingest
 * itself also holds an advisory lock per invoice (ingest.ts), which covers direct calls (CLI, tests).
 *
 * Billing talks through the process's one DigitalOcean transport (shared with the inventory sync), so one rate
 * limiter paces every request the token makes.
 */
import type { CronItem, Task, TaskList, TaskSpec } from 'graphile-worker';
import type pg from 'pg';
import type { Config } from '../../config.js';
import { digitalOceanClientOn } from '../../digitalocean/client.js';
import type { Transport } from '../../digitalocean/transport.js';
import { logger } from '../../logger.js';
import { triggerOf, type JobContext, type RunTrigger } from '../context.js';
import { workerUtils } from '../worker-utils.js';
import { syncBalance } from './balance.js';
import type { BillingApi, BillingContext } from './context.js';
import { syncBillingHistory } from './history.js';
import { ingestInvoice } from './ingest.js';
import type { BillingTask } from './run.js';

export const BILLING_JOBS = {
  balance: 'billing:balance',
  history: 'billing:history',
  invoice: 'billing:invoice',
} as const;

export const BALANCE_SCHEDULE = '7 * * * *';
export const HISTORY_SCHEDULE = '23 2 * * *';
const INVOICE_QUEUE = 'billing:invoices';

/** The periodic billing tasks (the table above): sync_runs.task, job identifier, schedule. */
export const BILLING_SCHEDULES = [
  { task: 'balance', job: BILLING_JOBS.balance, pattern: BALANCE_SCHEDULE },
  { task: 'billing_history', job: BILLING_JOBS.history, pattern: HISTORY_SCHEDULE },
] as const;

export type PeriodicBillingTask = (typeof BILLING_SCHEDULES)[number]['task'];

/** The periodic billing task names: `balance`, `billing_history`. */
export const BILLING_TASKS: readonly PeriodicBillingTask[] = BILLING_SCHEDULES.map((s) => s.task);

/** One invoice's ingest, by name (`invoice:<uuid>`), as written in help and error messages. */
export const INVOICE_TARGET_FORM = 'invoice:<uuid>';
const INVOICE_PREFIX = 'invoice:';

/** sync_runs.task of billing runs: the periodic tasks, and `invoice`. */
export const BILLING_RUN_TASKS: readonly BillingTask[] = [...BILLING_TASKS, 'invoice'];

/** What `enqueueBilling` accepts: `balance`, `billing_history`, or `invoice:<uuid>`. */
export type BillingTarget = PeriodicBillingTask | `invoice:${string}`;

const UUIDISH = /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/;

function isPeriodicBillingTask(target: string): target is PeriodicBillingTask {
  return (BILLING_TASKS as readonly string[]).includes(target);
}

export function isBillingTarget(target: string): target is BillingTarget {
  if (isPeriodicBillingTask(target)) return true;
  return target.startsWith(INVOICE_PREFIX) && UUIDISH.test(target.slice(INVOICE_PREFIX.length));
}

/** The sync_runs.task names a run of `target` produces (a history run goes on to ingest invoices in runBillingNow). */
export function billingRunTasks(target: BillingTarget): BillingTask[] {
  if (target === 'billing_history') return ['billing_history', 'invoice'];
  return [isPeriodicBillingTask(target) ? target : 'invoice'];
}

type JobSpec = Pick<TaskSpec, 'queueName' | 'jobKey' | 'maxAttempts'> & { jobKeyMode: 'preserve_run_at' | 'replace' };

function periodicSpec(identifier: string): JobSpec {
  return { queueName: identifier, jobKey: identifier, jobKeyMode: 'preserve_run_at', maxAttempts: 1 };
}

/** Invoice uuids are globally unique, so the uuid alone keys the job. */
export function invoiceJobSpec(invoiceUuid: string): JobSpec {
  return { queueName: INVOICE_QUEUE, jobKey: `${BILLING_JOBS.invoice}:${invoiceUuid}`, jobKeyMode: 'replace', maxAttempts: 1 };
}

export function billingContextFromConfig(config: Config, pool: pg.Pool, transport: Transport | undefined): BillingContext {
  const api: BillingApi | undefined = transport && digitalOceanClientOn(transport);
  return { pool, api, accountId: config.digitalocean.accountId, logger: logger.child({ component: 'billing' }) };
}

/** The billing tasks, keyed by job identifier; spread them into the task list. */
export function billingTasks(context: Pick<JobContext, 'config' | 'pool'>, getTransport: () => Transport | undefined): TaskList {
  let billing: BillingContext | undefined;
  const get = (): BillingContext => (billing ??= billingContextFromConfig(context.config, context.pool, getTransport()));

  const balance: Task = async (payload, helpers) => {
    const outcome = await syncBalance(get(), { trigger: triggerOf(payload), jobId: helpers.job.id });
    if (outcome.status === 'failed') throw new Error(`balance failed (run ${outcome.runId}): ${outcome.error ?? 'unknown error'}`);
  };

  const history: Task = async (payload, helpers) => {
    const trigger = triggerOf(payload);
    const ctx = get();
    const outcome = await syncBillingHistory(ctx, {
      trigger,
      jobId: helpers.job.id,
      enqueueInvoice: async (invoiceUuid) => {
        await helpers.addJob(BILLING_JOBS.invoice, { invoiceUuid, trigger }, invoiceJobSpec(invoiceUuid));
      },
    });
    if (outcome.status === 'failed') throw new Error(`billing history failed (run ${outcome.runId}): ${outcome.error ?? 'unknown error'}`);
  };

  const invoice: Task = async (payload, helpers) => {
    const { invoiceUuid } = (payload ?? {}) as { invoiceUuid?: unknown };
    if (typeof invoiceUuid !== 'string' || !UUIDISH.test(invoiceUuid)) throw new Error('billing:invoice needs { invoiceUuid }');
    const ctx = get();
    const outcome = await ingestInvoice(ctx, invoiceUuid, { trigger: triggerOf(payload), jobId: helpers.job.id });
    if (outcome.status === 'busy') {
      // Another ingest of this invoice holds the lock: come back once it is done (the data may be newer).
      await helpers.addJob(BILLING_JOBS.invoice, payload as object, { ...invoiceJobSpec(invoiceUuid), runAt: new Date(Date.now() + 30_000) });
      return;
    }
    if (outcome.status === 'failed') throw new Error(`invoice ${invoiceUuid} ingest failed (run ${outcome.runId}): ${outcome.error}`);
  };

  return { [BILLING_JOBS.balance]: balance, [BILLING_JOBS.history]: history, [BILLING_JOBS.invoice]: invoice };
}

/** The billing schedule (nothing without a token): balance hourly at :07, history daily at 02:23 (UTC). */
export function billingCronItems(config: Config): CronItem[] {
  if (!config.digitalocean.token) return [];
  return BILLING_SCHEDULES.map(({ job, pattern }) => {
    const { queueName, jobKey, jobKeyMode, maxAttempts } = periodicSpec(job);
    return { task: job, identifier: job, match: pattern, payload: { trigger: 'cron' }, options: { queueName, jobKey, jobKeyMode, maxAttempts, backfillPeriod: 0 } };
  });
}

export class UnknownBillingTargetError extends Error {
  constructor(readonly target: string) {
    super(`Unknown billing sync "${target}". Known: ${[...BILLING_TASKS, INVOICE_TARGET_FORM].join(', ')}.`);
    this.name = 'UnknownBillingTargetError';
  }
}

/**
 * Manual runs (GraphQL triggerSync, CLI): `balance`, `billing_history` or `invoice:<uuid>`, with the same queue and
 * key as the scheduled ones. Returns the job id (an existing pending job is reused).
 */
export async function enqueueBilling(
  pool: pg.Pool,
  target: string,
  trigger: Exclude<RunTrigger, 'cron'>,
): Promise<{ jobIds: string[] }> {
  if (!isBillingTarget(target)) throw new UnknownBillingTargetError(target);
  const utils = await workerUtils(pool);
  const periodic = BILLING_SCHEDULES.find((s) => s.task === target);
  if (periodic) {
    const job = await utils.addJob(periodic.job, { trigger }, periodicSpec(periodic.job));
    return { jobIds: [job.id] };
  }
  const invoiceUuid = target.slice(INVOICE_PREFIX.length);
  const job = await utils.addJob(BILLING_JOBS.invoice, { invoiceUuid, trigger }, invoiceJobSpec(invoiceUuid));
  return { jobIds: [job.id] };
}

/**
 * Runs `target` now, in this process, without the queue (`npm run sync`): the balance poll; the history, then the
 * ingest of every invoice it would have enqueued (one at a time, as the queue would); or one invoice's ingest.
 * Returns the runs, in order, each named as asked (`invoice:<uuid>` for an ingest). An invoice that another process
 * is ingesting right now is skipped (it has no run here); after `signal` aborts, no further ingest starts.
 */
export async function runBillingNow(
  context: BillingContext,
  target: BillingTarget,
  options: { trigger: RunTrigger; signal?: AbortSignal },
): Promise<Array<{ task: string; runId: number }>> {
  const { trigger } = options;
  if (target === 'balance') return [{ task: target, runId: (await syncBalance(context, { trigger })).runId }];
  const runs: Array<{ task: string; runId: number }> = [];
  const invoices: string[] = [];
  if (target === 'billing_history') {
    const history = await syncBillingHistory(context, { trigger, enqueueInvoice: async (uuid) => void invoices.push(uuid) });
    runs.push({ task: target, runId: history.runId });
  } else {
    invoices.push(target.slice(INVOICE_PREFIX.length));
  }
  for (const invoiceUuid of invoices) {
    if (options.signal?.aborted) break;
    const outcome = await ingestInvoice(context, invoiceUuid, { trigger });
    if (outcome.status !== 'busy') runs.push({ task: `${INVOICE_PREFIX}${invoiceUuid}`, runId: outcome.runId });
  }
  return runs;
}
