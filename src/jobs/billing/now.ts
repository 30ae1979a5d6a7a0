// Billing runs in this process, without the queue (`npm run sync`): the same runs the queued jobs make.
import { targetName, type RunTrigger, type TaskTarget } from '../../domain/tasks.js';
import { syncBalance } from './balance.js';
import type { BillingContext } from './context.js';
import { syncBillingHistory } from './history.js';
import { ingestInvoice } from './ingest.js';
import { syncBillingInsights } from './insights.js';

/** The sync_runs.task names a run of `target` produces (a history run goes on to ingest its invoices here). */
export function billingRunTasks(target: TaskTarget): string[] {
  return target.task === 'billing_history' ? ['billing_history', 'invoice'] : [target.task];
}

/**
 * Runs a billing target now: the balance poll; the history, then the ingest of every invoice it would have enqueued
 * (one at a time, as the queue would); or one invoice's ingest. Returns the runs, in order, each named as asked
 * (`invoice:<uuid>` for an ingest). An invoice that another process is ingesting right now is skipped (it has no
 * run here); after `signal` aborts, no further ingest starts.
 */
export async function runBillingNow(
  context: BillingContext,
  target: TaskTarget,
  options: { trigger: RunTrigger; signal?: AbortSignal },
): Promise<Array<{ task: string; runId: number }>> {
  const { trigger } = options;
  if (target.task === 'balance') return [{ task: target.task, runId: (await syncBalance(context, { trigger })).runId }];
  if (target.task === 'billing_insights') {
    const signal = options.signal ? { signal: options.signal } : {};
    return [{ task: target.task, runId: (await syncBillingInsights(context, { trigger, ...signal })).runId }];
  }
  const runs: Array<{ task: string; runId: number }> = [];
  const invoices: string[] = [];
  if (target.task === 'billing_history') {
    const history = await syncBillingHistory(context, {
      trigger,
      enqueueInvoice: (uuid) => {
        invoices.push(uuid);
        return Promise.resolve();
      },
    });
    runs.push({ task: target.task, runId: history.runId });
  } else if (target.task === 'invoice' && target.argument !== undefined) {
    invoices.push(target.argument);
  } else {
    throw new Error(`${target.task} is not a billing task`);
  }
  for (const invoiceUuid of invoices) {
    if (options.signal?.aborted) break;
    const outcome = await ingestInvoice(context, invoiceUuid, { trigger });
    if (outcome.status !== 'busy')
      runs.push({ task: targetName({ task: 'invoice', argument: invoiceUuid }), runId: outcome.runId });
  }
  return runs;
}
