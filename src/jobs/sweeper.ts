/**
 * Frees what dead processes left behind, by who holds a lease (lease.ts) rather than by how old a lock is:
 * - sync_runs rows still `running` whose owner's lease is gone are closed as failed (abandoned), and a `failed`
 *   event says so;
 * - graphile-worker jobs and queues locked by a pool whose lease is gone are unlocked (graphile-worker's own
 *   force_unlock_workers), so the task's next trigger or cron tick runs at once instead of hours later. The job that
 *   was running has used its one attempt, so it is not run again: the next trigger is the retry.
 * Every worker sweeps when it starts and every SWEEP_INTERVAL_MS after; `npm run sync` sweeps once when it starts.
 * Rows without an owner (written before owners were recorded) are left to insertRun's six-hour rule.
 */
import { publishEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { ABANDONED_ERROR, ownerAliveSql } from './lease.js';
import { closeRunningRuns, forceUnlockWorkers, type Queryable } from './run-sql.js';

export const SWEEP_INTERVAL_MS = 15_000;

export interface SweepResult {
  /** Runs closed as abandoned. */
  closedRuns: number[];
  /** graphile-worker pool ids whose locks were released. */
  unlockedWorkers: string[];
}

/** One sweep (see the module comment). */
export async function sweepAbandoned(db: Queryable, logger: Logger): Promise<SweepResult> {
  const runs = await closeRunningRuns(db, { ownerGone: true }, ABANDONED_ERROR);
  const dead = await db.query(
    `SELECT DISTINCT locked_by AS id FROM (
       SELECT locked_by FROM graphile_worker._private_jobs WHERE locked_by IS NOT NULL
       UNION ALL SELECT locked_by FROM graphile_worker._private_job_queues WHERE locked_by IS NOT NULL
     ) locks WHERE NOT ${ownerAliveSql('locked_by')}`,
  );
  const workers = (dead.rows as Array<{ id: string }>).map((row) => row.id);
  await forceUnlockWorkers(db, workers);

  for (const run of runs) {
    logger.warn({ task: run.task, runId: run.id, owner: run.owner }, 'closed a run its process abandoned');
    await publishEvent(db, { type: 'failed', task: run.task, runId: run.id, message: ABANDONED_ERROR }).catch(
      (error: unknown) => logger.warn({ err: String(error) }, 'could not publish a run event'),
    );
  }
  if (workers.length > 0) logger.warn({ workers }, 'released the jobs and queues of stopped workers');
  return { closedRuns: runs.map((run) => run.id), unlockedWorkers: workers };
}

/** Sweeps now and every SWEEP_INTERVAL_MS until stopped; a failed sweep (the database is down) waits for the next. */
export function startSweeper(db: Queryable, logger: Logger): { swept: Promise<void>; stop(): Promise<void> } {
  const log = logger.child({ component: 'sweeper' });
  let current: Promise<void> = Promise.resolve();
  const sweep = (): void => {
    current = sweepAbandoned(db, log).then(
      () => undefined,
      (error: unknown) => log.warn({ err: String(error) }, 'sweep failed'),
    );
  };
  sweep();
  const swept = current;
  const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    /** The first sweep, done. */
    swept,
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
