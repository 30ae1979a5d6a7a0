// sync_runs rows and progress events for billing runs (tasks `balance`, `billing_history`, `invoice`), opened and
// closed through ../runs.ts like the inventory engine's.
import { publishEvent, type SyncEvent } from '../../events.js';
import { logger } from '../../logger.js';
import type { RunTrigger } from '../context.js';
import { closeRun, openRun, type Queryable, type RunCounts, type RunStatus } from '../runs.js';

export type BillingTask = 'balance' | 'billing_history' | 'invoice';
export type { Queryable, RunCounts, RunStatus, RunTrigger };

export interface BillingRun {
  id: number;
  task: BillingTask;
  startedAt: Date;
  counts: RunCounts;
  details: Record<string, unknown>;
  /** Also gets every event of the run, in this process (BillingContext.onEvent). */
  onEvent?: ((event: SyncEvent) => void) | undefined;
}

const log = logger.child({ component: 'billing' });

/** Best effort: a lost event must never fail a run (the run row is the record). `onEvent` also gets it, in process. */
export async function emit(db: Queryable, event: Omit<SyncEvent, 'at'>, onEvent?: (event: SyncEvent) => void): Promise<void> {
  onEvent?.({ ...event, at: new Date().toISOString() });
  try {
    await publishEvent(db, event);
  } catch (error) {
    log.warn({ task: event.task, err: error instanceof Error ? error.message : String(error) }, 'billing: could not publish an event');
  }
}

export async function startRun(
  db: Queryable,
  options: {
    accountId: string;
    task: BillingTask;
    trigger: RunTrigger;
    jobId?: string | null | undefined;
    onEvent?: ((event: SyncEvent) => void) | undefined;
  },
): Promise<BillingRun> {
  const opened = await openRun(db, options);
  const run: BillingRun = {
    id: opened.id,
    task: options.task,
    startedAt: opened.startedAt,
    counts: { pages: 0, apiCalls: 0, listed: 0, created: 0, updated: 0, unchanged: 0 },
    details: {},
    onEvent: options.onEvent,
  };
  await emit(db, { type: 'started', task: run.task, runId: run.id }, run.onEvent);
  return run;
}

/** Closes the run row and publishes `finished` (or `failed`); logs one line to `runLog`. Returns the duration. */
export async function finishRun(
  db: Queryable,
  run: BillingRun,
  status: RunStatus,
  error?: string,
  runLog?: { info(obj: object, msg?: string): void },
): Promise<number> {
  const durationMs = await closeRun(db, run.id, { status, counts: run.counts, error, details: run.details });
  const counts: Record<string, number> = { ...run.counts, durationMs };
  if (status === 'failed') {
    await emit(db, { type: 'failed', task: run.task, runId: run.id, counts, message: error ?? 'failed' }, run.onEvent);
  } else {
    await emit(db, { type: 'finished', task: run.task, runId: run.id, counts, message: status }, run.onEvent);
  }
  runLog?.info({ task: run.task, runId: run.id, status, ...counts, ...(error ? { err: error } : {}) }, 'billing run finished');
  return durationMs;
}

/** A message safe to store and show: the client's errors never carry the token; cap the length anyway. */
export function errorMessage(error: unknown, redact: (text: string) => string = (text) => text): string {
  const text = error instanceof Error ? error.message : String(error);
  return redact(text).slice(0, 2000);
}
