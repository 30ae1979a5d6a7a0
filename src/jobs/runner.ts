// The worker: graphile-worker on the shared pool, running the task list and the crontab (tasks.ts), under the
// process's lease, with the sweeper that frees what dead processes left (lease.ts, sweeper.ts).
import { Logger as WorkerLogger, parseCronItems, run, type Runner } from 'graphile-worker';
import { LOCAL_SIMULATOR_TOKEN } from '../config.js';
import { enqueueTask } from '../domain/queue.js';
import { INVENTORY_TASKS, SCHEDULED_TASKS, groupOf, jobOptions, type TaskName } from '../domain/tasks.js';
import type { Logger } from '../logger.js';
import type { JobContext } from './context.js';
import { newOwnerId, openLease, withRunLock, type Lease } from './lease.js';
import { startSweeper } from './sweeper.js';
import { createCrontab, createTaskList } from './tasks.js';

/** graphile-worker's log lines, through our logger. */
function workerLogger(logger: Logger): WorkerLogger {
  return new WorkerLogger((scope) => (level, message, meta) => {
    const log = logger.child({ component: 'worker', ...(scope.taskIdentifier ? { task: scope.taskIdentifier } : {}) });
    const fields = meta && Object.keys(meta).length > 0 ? { meta } : {};
    const name: string = level;
    if (name === 'error') log.error(fields, message);
    else if (name === 'warning') log.warn(fields, message);
    else if (name === 'info') log.info(fields, message);
    else log.debug(fields, message);
  });
}

/**
 * How long a SIGTERM lets running jobs go on before their abort signal fires: most of SHUTDOWN_TIMEOUT_MS, keeping
 * the rest (a fifth, at most 5 s) for an aborted run to record its outcome and for graphile-worker to write the
 * jobs' completion before the pool closes.
 */
export function drainAbortAfterMs(shutdownTimeoutMs: number): number {
  return shutdownTimeoutMs - Math.min(5000, Math.floor(shutdownTimeoutMs / 5));
}

/** Holds each worker pool's id in the lease before the pool asks for its first job (see lease.ts). */
function leasePlugin(lease: Lease): GraphileConfig.Plugin {
  return {
    name: 'CloudOpsLeasePlugin',
    version: '1.0.0',
    worker: { hooks: { startWorker: (_context, event) => lease.hold(event.worker.workerPool.id) } },
  };
}

/**
 * Starts graphile-worker on the shared pool: it migrates its own schema, then runs tasks and the crontab. The
 * process's lease (lease.ts) and the sweeper (sweeper.ts) live as long as the runner.
 */
export async function startWorker(context: JobContext): Promise<Runner> {
  const { logger } = context;
  const crontab = createCrontab(context);
  if (!context.config.digitalocean.token) {
    logger.info(
      'DIGITALOCEAN_TOKEN is not set: no sync is scheduled and this worker takes no DigitalOcean job (set it, or DIGITALOCEAN_API_URL to a simulator, to start mirroring)',
    );
  } else if (context.config.digitalocean.token === LOCAL_SIMULATOR_TOKEN) {
    logger.info(
      { apiUrl: context.config.digitalocean.apiUrl },
      'DIGITALOCEAN_API_URL is on this machine: mirroring it without a token (a simulator)',
    );
  }
  const lease = await openLease(context.pool, { owner: newOwnerId('worker'), logger });
  let runner: Runner;
  try {
    runner = await run({
      pgPool: context.pool,
      concurrency: context.config.worker.concurrency,
      taskList: createTaskList(context, lease),
      parsedCronItems: parseCronItems(crontab),
      noHandleSignals: true,
      logger: workerLogger(logger),
      pollInterval: 2000,
      preset: {
        plugins: [leasePlugin(lease)],
        worker: {
          // Without batching, graphile-worker marks a finished job complete without waiting for it, so a shutdown
          // right after a job ends could close the pool first and leave the job locked. A batcher is flushed on
          // shutdown, and a 0 ms one costs no latency.
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
          gracefulShutdownAbortTimeout: drainAbortAfterMs(context.config.shutdownTimeoutMs),
        },
      },
    });
  } catch (error) {
    await lease.close();
    throw error;
  }
  const sweeper = startSweeper(context.pool, logger);
  // The lease ends after the last job has been recorded; a process that dies first loses it with its connection.
  const release = async (): Promise<void> => {
    await sweeper.stop();
    await lease.close();
  };
  void runner.promise.then(release, release);
  if (context.config.digitalocean.token) {
    await sweeper.swept;
    await syncEmptyMirror(context, lease);
    await syncInsightsOfEmptyMonth(context, lease);
  }
  return runner;
}

/**
 * A mirror that has never completed a sync gets one at once (every inventory task, then every scheduled billing
 * task: the balance poll and billing history), rather than at the next tick of each schedule. Workers starting
 * together decide one after the other (a lock), and a task already queued, running or synced is left alone: job keys
 * alone would not do, since a job added while the same task runs is queued to run again after it.
 */
async function syncEmptyMirror(context: JobContext, lease: Lease): Promise<void> {
  const { accountId } = context.config.digitalocean;
  await withRunLock(lease, `${accountId}:first-sync`, { wait: {} }, async () => {
    const { rows } = await context.pool.query<{ synced: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM sync_runs WHERE account_id = $1 AND status = 'succeeded') AS synced`,
      [accountId],
    );
    if (rows[0]?.synced) return void context.logger.info('first sync: not needed, the mirror was synced before');
    const billing = SCHEDULED_TASKS.filter((task) => groupOf(task) === 'billing');
    const wanted = [...INVENTORY_TASKS, ...billing];
    const pending = await context.pool.query<{ task: TaskName }>(
      `SELECT t.task FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(task, job_key, n)
       WHERE NOT EXISTS (SELECT 1 FROM sync_runs r
                         WHERE r.account_id = $1 AND r.task = t.task AND r.status IN ('running', 'succeeded'))
         AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs j
                         WHERE j.key = t.job_key AND (j.locked_at IS NOT NULL OR j.attempts < j.max_attempts))
       ORDER BY t.n`,
      [accountId, wanted, wanted.map((task) => jobOptions({ task }).jobKey)],
    );
    if (pending.rows.length === 0)
      return void context.logger.info('first sync: already queued, running or done (another worker)');
    context.logger.info(
      { tasks: pending.rows.map((row) => row.task) },
      'first sync: the mirror has never been synced: syncing everything now',
    );
    for (const { task } of pending.rows) await enqueueTask(context.pool, task, 'startup');
  });
}

/**
 * Live accrual needs the current month's billing insights; the schedule fetches them once a day, so a worker that
 * starts in a month without any gets them at once (unless a run is queued or running already, or one succeeded this
 * month and found none: the month's first day has none yet, and the schedule comes back for them).
 */
async function syncInsightsOfEmptyMonth(context: JobContext, lease: Lease): Promise<void> {
  const { accountId } = context.config.digitalocean;
  await withRunLock(lease, `${accountId}:first-insights`, { wait: {} }, async () => {
    const { rows } = await context.pool.query<{ wanted: boolean }>(
      `SELECT NOT EXISTS (SELECT 1 FROM billing_insight_points
                           WHERE account_id = $1 AND day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date)
          AND NOT EXISTS (SELECT 1 FROM sync_runs WHERE account_id = $1 AND task = 'billing_insights'
                           AND (status = 'running' OR (status = 'succeeded'
                                AND started_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')))
          AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs j
                           WHERE j.key = $2 AND (j.locked_at IS NOT NULL OR j.attempts < j.max_attempts)) AS wanted`,
      [accountId, jobOptions({ task: 'billing_insights' }).jobKey],
    );
    if (!rows[0]?.wanted) return;
    context.logger.info('billing insights: the current month has none yet: fetching them now');
    await enqueueTask(context.pool, 'billing_insights', 'startup');
  });
}
