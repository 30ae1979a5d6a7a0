// sync_runs rows and progress events for billing runs (tasks `balance`, `billing_history`, `invoice`).
// The statements are the inventory engine's own (inventory/sql.ts), so both write runs the same way:
// one row opened as `running` with the database's clock, closed with status, counts, error and details.
import { publishEvent, type SyncEvent } from '../../events.js';
import { logger } from '../../logger.js';
import { ENSURE_ACCOUNT, FINISH_RUN, INSERT_RUN } from '../inventory/sql.js';
import type { RunTrigger } from '../context.js';

export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export type BillingTask = 'balance' | 'billing_history' | 'invoice';
export type { RunTrigger };
export type RunStatus = 'succeeded' | 'incomplete' | 'failed';

export interface RunCounts {
  pages: number;
  apiCalls: number;
  listed: number;
  created: number;
  updated: number;
  unchanged: number;
}

export interface BillingRun {
  id: number;
  task: BillingTask;
  startedAt: Date;
  counts: RunCounts;
  details: Record<string, unknown>;
}

const log = logger.child({ component: 'billing' });

export async function ensureAccount(db: Queryable, accountId: string): Promise<void> {
  await db.query(ENSURE_ACCOUNT, [accountId]);
}

/** Best effort: a lost event must never fail a run (the run row is the record). */
export async function emit(db: Queryable, event: Omit<SyncEvent, 'at'>): Promise<void> {
  try {
    await publishEvent(db, event);
  } catch (error) {
    log.warn({ task: event.task, err: error instanceof Error ? error.message : String(error) }, 'billing: could not publish an event');
  }
}

export async function startRun(
  db: Queryable,
  options: { accountId: string; task: BillingTask; trigger: RunTrigger; jobId?: string | null | undefined },
): Promise<BillingRun> {
  await ensureAccount(db, options.accountId);
  const opened = await db.query(INSERT_RUN, [options.accountId, options.task, options.trigger, options.jobId ?? null]);
  const row = opened.rows[0] as { id: number; started_at: Date };
  const run: BillingRun = {
    id: row.id,
    task: options.task,
    startedAt: row.started_at,
    counts: { pages: 0, apiCalls: 0, listed: 0, created: 0, updated: 0, unchanged: 0 },
    details: {},
  };
  await emit(db, { type: 'started', task: run.task, runId: run.id });
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
  const c = run.counts;
  const finished = await db.query(FINISH_RUN, [
    run.id,
    status,
    status === 'succeeded',
    c.pages,
    c.apiCalls,
    c.listed,
    c.created,
    c.updated,
    c.unchanged,
    0,
    error ?? null,
    JSON.stringify(run.details),
  ]);
  const durationMs = (finished.rows[0] as { duration_ms?: number } | undefined)?.duration_ms ?? 0;
  const counts: Record<string, number> = { ...c, durationMs };
  if (status === 'failed') {
    await emit(db, { type: 'failed', task: run.task, runId: run.id, counts, message: error ?? 'failed' });
  } else {
    await emit(db, { type: 'finished', task: run.task, runId: run.id, counts, message: status });
  }
  runLog?.info({ task: run.task, runId: run.id, status, ...counts, ...(error ? { err: error } : {}) }, 'billing run finished');
  return durationMs;
}

/** A message safe to store and show: the client's errors never carry the token; cap the length anyway. */
export function errorMessage(error: unknown, redact: (text: string) => string = (text) => text): string {
  const text = error instanceof Error ? error.message : String(error);
  return redact(text).slice(0, 2000);
}
