// Every job run (an inventory kind, projects, balance, billing history, one invoice) is one sync_runs row: opened
// as `running` on the database's clock, closed with its status, counts, error and details. Both the inventory
// engine and billing open and close their runs here.
import type { RunTrigger } from './context.js';
import type { SyncRunResult } from './inventory/engine.js';

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
  markedStale?: number;
}

/** Makes sure the account row exists (sync rows reference it). */
const ENSURE_ACCOUNT = `
INSERT INTO cloud_accounts (id, created_at, updated_at) VALUES ($1, now(), now())
ON CONFLICT (id) DO NOTHING`;

/**
 * $1 account, $2 task, $3 trigger, $4 job id → the run's id and the database's start time. In the same statement,
 * runs of the task still `running` six hours after they started are closed as failed: their process died without
 * finishing them (no sync takes that long), so they would otherwise say "running" forever.
 */
const INSERT_RUN = `
WITH abandoned AS (
  UPDATE sync_runs SET status = 'failed', complete = false, finished_at = now(),
    error = 'interrupted: the process running this sync stopped before it finished'
  WHERE account_id = $1 AND task = $2 AND status = 'running' AND started_at < now() - interval '6 hours'
)
INSERT INTO sync_runs (account_id, task, trigger, status, job_id, started_at)
VALUES ($1, $2, $3, 'running', $4, now())
RETURNING id, started_at`;

/** $1 id, $2 status, $3 complete, $4 pages, $5 api calls, $6 listed, $7 created, $8 updated, $9 unchanged,
 *  $10 marked stale, $11 error, $12 details. */
const FINISH_RUN = `
UPDATE sync_runs SET
  status = $2, complete = $3, pages = $4, api_calls = $5, listed = $6, created = $7, updated = $8,
  unchanged = $9, marked_stale = $10, error = $11, details = $12::jsonb,
  finished_at = now(),
  duration_ms = GREATEST(0, round(extract(epoch FROM (now() - started_at)) * 1000))::int
WHERE id = $1
RETURNING duration_ms`;

/** Makes sure the account row exists, then opens the run. */
export async function openRun(
  db: Queryable,
  run: { accountId: string; task: string; trigger: RunTrigger; jobId?: string | null | undefined },
): Promise<{ id: number; startedAt: Date }> {
  await db.query(ENSURE_ACCOUNT, [run.accountId]);
  const opened = await db.query(INSERT_RUN, [run.accountId, run.task, run.trigger, run.jobId ?? null]);
  const row = opened.rows[0] as { id: number; started_at: Date };
  return { id: row.id, startedAt: row.started_at };
}

/** Closes the run; `complete` is true only for a succeeded run. Returns its duration in milliseconds. */
export async function closeRun(
  db: Queryable,
  runId: number,
  outcome: { status: RunStatus; counts: RunCounts; error?: string | undefined; details: Record<string, unknown> },
): Promise<number> {
  const c = outcome.counts;
  const finished = await db.query(FINISH_RUN, [
    runId,
    outcome.status,
    outcome.status === 'succeeded',
    c.pages,
    c.apiCalls,
    c.listed,
    c.created,
    c.updated,
    c.unchanged,
    c.markedStale ?? 0,
    outcome.error ?? null,
    JSON.stringify(outcome.details),
  ]);
  return (finished.rows[0] as { duration_ms?: number } | undefined)?.duration_ms ?? 0;
}

/** The runs `runs` name, as the engine reports one (for the CLI's summary), each under the given task name, in order. */
export async function readRunResults(db: Queryable, runs: ReadonlyArray<{ task: string; runId: number }>): Promise<SyncRunResult[]> {
  if (runs.length === 0) return [];
  const { rows } = await db.query(
    `SELECT id, status, complete, duration_ms, pages, api_calls, listed, created, updated, unchanged, marked_stale, error, details
     FROM sync_runs WHERE id = ANY($1::int[])`,
    [runs.map((r) => r.runId)],
  );
  const byId = new Map((rows as RunRow[]).map((row) => [row.id, row]));
  return runs.flatMap(({ task, runId }) => {
    const row = byId.get(runId);
    if (!row) return [];
    return [
      {
        runId,
        task,
        status: row.status === 'running' ? 'failed' : row.status,
        complete: row.complete === true,
        durationMs: row.duration_ms ?? 0,
        pages: row.pages,
        apiCalls: row.api_calls,
        listed: row.listed,
        created: row.created,
        updated: row.updated,
        unchanged: row.unchanged,
        markedStale: row.marked_stale,
        details: row.details ?? {},
        ...(row.error ? { error: row.error } : {}),
      },
    ];
  });
}

interface RunRow {
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
