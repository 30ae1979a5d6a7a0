// What a worker that lost its database leaves behind, put right once the database answers again: the sync_runs rows
// its interrupted jobs could not close, and graphile-worker's locks on those jobs and their queues.
import type pg from 'pg';

/** The error an interrupted run is closed with. */
export const INTERRUPTED_BY_DATABASE =
  'interrupted: the database connection was lost while this sync ran; the next run starts afresh';

/**
 * Closes as failed every run of these jobs still `running`. Called only for jobs whose attempt has ended in this
 * process (failed, or cut off by a lost worker), so no live run is closed. Returns the number of rows closed.
 */
export async function closeInterruptedRuns(pool: pg.Pool, jobIds: readonly string[]): Promise<number> {
  if (jobIds.length === 0) return 0;
  const { rowCount } = await pool.query(
    `UPDATE sync_runs SET status = 'failed', complete = false, finished_at = now(), error = $2,
       duration_ms = GREATEST(0, round(extract(epoch FROM (now() - started_at)) * 1000))::int
     WHERE status = 'running' AND job_id = ANY($1::text[])`,
    [jobIds, INTERRUPTED_BY_DATABASE],
  );
  return rowCount ?? 0;
}

/**
 * Frees the jobs and queues still locked by graphile-worker pools of this process that are gone (they would stay
 * locked for hours otherwise). A job out of attempts is not run again; the next trigger or tick replaces it.
 */
export async function unlockWorkerPools(pool: pg.Pool, workerPoolIds: readonly string[]): Promise<void> {
  if (workerPoolIds.length === 0) return;
  await pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [workerPoolIds]);
}
