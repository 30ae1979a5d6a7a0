// The statements of a run's sync_runs row, one typed function each.
import type { RunTrigger } from '../domain/tasks.js';
import { ABANDONED_ERROR, ownerAliveSql } from './lease.js';

/** What run bookkeeping needs from a database handle: a pg Pool fits, and so does a statement-counting wrapper. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export type RunStatus = 'succeeded' | 'incomplete' | 'failed';

export interface RunCounts {
  pages: number;
  apiCalls: number;
  listed: number;
  created: number;
  updated: number;
  unchanged: number;
  markedStale: number;
}

/** A run's duration so far, on the database's clock. */
const DURATION_SO_FAR = 'GREATEST(0, round(extract(epoch FROM (now() - started_at)) * 1000))::int';

/** Makes sure the account row exists (sync rows reference it). */
export async function ensureAccount(db: Queryable, accountId: string): Promise<void> {
  await db.query(
    `INSERT INTO cloud_accounts (id, created_at, updated_at) VALUES ($1, now(), now()) ON CONFLICT (id) DO NOTHING`,
    [accountId],
  );
}

/**
 * Opens a run (`running`, started on the database's clock), owned by `owner` (a lease id, lease.ts). In the same
 * statement, runs of the task whose owner's lease is gone are closed as abandoned (the sweeper does this for every
 * task, every few seconds; here it is certain before a new run of the task starts), and runs without an owner
 * (written before owners were recorded) still `running` six hours after they started are closed as interrupted.
 */
export async function insertRun(
  db: Queryable,
  run: { accountId: string; task: string; trigger: RunTrigger; jobId: string | null; owner: string | null },
): Promise<{ id: number; startedAt: Date }> {
  const { rows } = await db.query(
    `WITH abandoned AS (
       UPDATE sync_runs SET status = 'failed', complete = false, finished_at = now(),
         duration_ms = ${DURATION_SO_FAR},
         error = CASE WHEN owner IS NULL
           THEN 'interrupted: the process running this sync stopped before it finished' ELSE $6 END
       WHERE account_id = $1 AND task = $2 AND status = 'running'
         AND (CASE WHEN owner IS NULL THEN started_at < now() - interval '6 hours' ELSE NOT ${ownerAliveSql('owner')} END)
     )
     INSERT INTO sync_runs (account_id, task, trigger, status, job_id, owner, started_at)
     VALUES ($1, $2, $3, 'running', $4, $5, now())
     RETURNING id, started_at`,
    [run.accountId, run.task, run.trigger, run.jobId, run.owner, ABANDONED_ERROR],
  );
  const row = rows[0] as { id: number; started_at: Date };
  return { id: row.id, startedAt: row.started_at };
}

/** Closes a run; `complete` is true only for a succeeded run. Returns its duration in milliseconds. */
export async function finishRun(
  db: Queryable,
  runId: number,
  outcome: { status: RunStatus; counts: RunCounts; error: string | undefined; details: Record<string, unknown> },
): Promise<number> {
  const c = outcome.counts;
  const { rows } = await db.query(
    `UPDATE sync_runs SET
       status = $2, complete = $3, pages = $4, api_calls = $5, listed = $6, created = $7, updated = $8,
       unchanged = $9, marked_stale = $10, error = $11, details = $12::jsonb,
       finished_at = now(),
       duration_ms = ${DURATION_SO_FAR}
     WHERE id = $1
     RETURNING duration_ms`,
    [
      runId,
      outcome.status,
      outcome.status === 'succeeded',
      c.pages,
      c.apiCalls,
      c.listed,
      c.created,
      c.updated,
      c.unchanged,
      c.markedStale,
      outcome.error ?? null,
      JSON.stringify(outcome.details),
    ],
  );
  return (rows[0] as { duration_ms?: number } | undefined)?.duration_ms ?? 0;
}

export interface RunRow {
  id: number;
  status: RunStatus | 'running';
  complete: boolean | null;
  duration_ms: number | null;
  pages: number;
  api_calls: number;
  listed: number;
  created: number;
  updated: number;
  unchanged: number;
  marked_stale: number;
  error: string | null;
  details: Record<string, unknown> | null;
}

export async function selectRuns(db: Queryable, runIds: readonly number[]): Promise<RunRow[]> {
  const { rows } = await db.query(
    `SELECT id, status, complete, duration_ms, pages, api_calls, listed, created, updated, unchanged, marked_stale, error, details
     FROM sync_runs WHERE id = ANY($1::int[])`,
    [runIds],
  );
  return rows as RunRow[];
}

/** Which `running` runs to close: those of these graphile-worker jobs, or those whose owner's lease is gone. */
export type RunningRunsSelector = { jobIds: readonly string[] } | { ownerGone: true };

/**
 * Closes as failed, with `error`, the runs still `running` that `which` selects; returns them. A process that died
 * (or lost its database) mid-run cannot close its own runs; another one, or itself later, does it here.
 */
export async function closeRunningRuns(
  db: Queryable,
  which: RunningRunsSelector,
  error: string,
): Promise<Array<{ id: number; task: string; owner: string | null }>> {
  const condition =
    'jobIds' in which ? 'job_id = ANY($2::text[])' : `owner IS NOT NULL AND NOT ${ownerAliveSql('owner')}`;
  const { rows } = await db.query(
    `UPDATE sync_runs SET status = 'failed', complete = false, finished_at = now(), duration_ms = ${DURATION_SO_FAR},
       error = $1
     WHERE status = 'running' AND ${condition}
     RETURNING id, task, owner`,
    'jobIds' in which ? [error, which.jobIds] : [error],
  );
  return rows as Array<{ id: number; task: string; owner: string | null }>;
}

/** Frees the jobs and queues graphile-worker pools that are gone still lock (graphile-worker's own function). */
export async function forceUnlockWorkers(db: Queryable, workerPoolIds: readonly string[]): Promise<void> {
  if (workerPoolIds.length === 0) return;
  await db.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [workerPoolIds]);
}
