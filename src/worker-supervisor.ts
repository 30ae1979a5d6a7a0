// Keeps this process's job worker alive across database outages. graphile-worker gives up when it cannot record a
// job's outcome ("queue is in an inconsistent state") and its runner just ends, leaving the process without a worker
// and the job and its queue locked for hours. The supervisor notices, waits (with backoff) until the database answers,
// closes the runs the outage interrupted, frees the dead runner's locks and starts a new runner.
import type { Runner } from 'graphile-worker';
import type pg from 'pg';
import { isReachable } from './db/client.js';
import { closeRunningRuns, forceUnlockWorkers } from './jobs/run-sql.js';
import type { Logger } from './logger.js';

/** The error an interrupted run is closed with. */
export const INTERRUPTED_BY_DATABASE =
  'interrupted: the database connection was lost while this sync ran; the next run starts afresh';

export interface WorkerSupervisor {
  /** A runner is up (false while one is being restarted, and after stop). */
  running(): boolean;
  /** Stops the current runner (its running jobs finish) and any restart in progress. */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  /** Starts one runner (jobs/runner.ts startWorker); throws when it cannot. */
  start: () => Promise<Runner>;
  /** Where the supervisor checks the database and records what the outage interrupted. */
  pool: pg.Pool;
  logger: Logger;
  /** Delay before restart attempt `attempt` (1, 2, ...). */
  retryDelayMs?: (attempt: number) => number;
}

/** 0.5 s, 1 s, 2 s, then every 5 s: an outage's end is noticed within 5 s, at one `SELECT 1` per attempt. */
export function restartDelayMs(attempt: number): number {
  return Math.min(5000, 500 * 2 ** (attempt - 1));
}

/** Starts the first runner (its failure is the caller's: a worker that cannot start at all is a startup error). */
export async function superviseWorker(options: SuperviseOptions): Promise<WorkerSupervisor> {
  const { pool, logger } = options;
  const retryDelayMs = options.retryDelayMs ?? restartDelayMs;
  let runner: Runner | undefined;
  let stopped = false;
  let restarting: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  // Jobs whose run row may still say `running`, and graphile-worker pools (lock owners) that are gone.
  const interrupted = new Set<string>();
  const deadPools = new Set<string>();

  const closeRuns = async (): Promise<void> => {
    const ids = [...interrupted];
    const closed = ids.length === 0 ? [] : await closeRunningRuns(pool, { jobIds: ids }, INTERRUPTED_BY_DATABASE);
    for (const id of ids) interrupted.delete(id);
    if (closed.length > 0) {
      logger.warn({ runs: closed.length }, 'closed runs interrupted by a lost database connection as failed');
    }
  };

  const watch = (current: Runner): void => {
    const active = new Set<string>();
    const owners = new Set<string>();
    current.events.on('job:start', ({ job }) => {
      active.add(job.id);
      if (job.locked_by) owners.add(job.locked_by);
    });
    // Emitted before graphile-worker records the failure, so the job is still locked by this process: no other
    // attempt of it can have opened a run yet. A run the job closed itself is left alone (status is no longer running).
    current.events.on('job:error', ({ job }) => {
      interrupted.add(job.id);
      void closeRuns().catch(() => undefined);
    });
    current.events.on('job:complete', ({ job }) => active.delete(job.id));
    void current.promise
      .then(
        () => undefined,
        (error: unknown) => error,
      )
      .then((error) => {
        if (stopped || runner !== current) return;
        runner = undefined;
        for (const id of active) interrupted.add(id);
        for (const id of owners) deadPools.add(id);
        logger.error(
          { err: error instanceof Error ? error.message : undefined, jobs: active.size },
          'the worker stopped unexpectedly; restarting it once the database answers',
        );
        restarting = restart().finally(() => (restarting = undefined));
      });
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => (clearTimeout(timer), resolve());
    });

  const restart = async (): Promise<void> => {
    for (let attempt = 1; !stopped; attempt += 1) {
      await sleep(retryDelayMs(attempt));
      if (stopped || !(await isReachable(pool))) continue;
      try {
        // Runs first, locks second: once a job is unlocked another process may start it, with a run of its own.
        await closeRuns();
        await forceUnlockWorkers(pool, [...deadPools]);
        deadPools.clear();
        const next = await options.start();
        if (stopped) {
          await next.stop();
          return;
        }
        runner = next;
        watch(next);
        logger.info({ attempts: attempt }, 'worker restarted');
        return;
      } catch (error) {
        logger.warn({ err: String(error), attempt }, 'worker restart failed; trying again');
      }
    }
  };

  runner = await options.start();
  watch(runner);

  return {
    running: () => runner !== undefined,
    async stop() {
      stopped = true;
      wake?.();
      await restarting;
      const current = runner;
      runner = undefined;
      await current?.stop();
    },
  };
}
