import { Logger as WorkerLogger, parseCronItems, run, type Runner } from 'graphile-worker';
import { LOCAL_SIMULATOR_TOKEN } from '../config.js';
import { logger } from '../logger.js';
import { enqueueSync } from './enqueue.js';
import type { JobContext } from './context.js';
import { BILLING_TASKS } from './billing/tasks.js';
import { ALL_TASKS, createCrontab, createTaskList } from './index.js';

const workerLogger = new WorkerLogger((scope) => (level, message, meta) => {
  const log = logger.child({ component: 'worker', ...(scope.taskIdentifier ? { task: scope.taskIdentifier } : {}) });
  const fields = meta && Object.keys(meta).length > 0 ? { meta } : {};
  if (level === 'error') log.error(fields, message);
  else if (level === 'warning') log.warn(fields, message);
  else if (level === 'info') log.info(fields, message);
  else log.debug(fields, message);
});

/** Starts graphile-worker on the shared pool: it migrates its own schema, then runs tasks and the crontab. */
export async function startWorker(context: JobContext): Promise<Runner> {
  const crontab = createCrontab(context);
  if (!context.config.digitalocean.token) {
    logger.info('DIGITALOCEAN_TOKEN is not set: no sync is scheduled (set it, or DIGITALOCEAN_API_URL to a simulator, to start mirroring)');
  } else if (context.config.digitalocean.token === LOCAL_SIMULATOR_TOKEN) {
    logger.info({ apiUrl: context.config.digitalocean.apiUrl }, 'DIGITALOCEAN_API_URL is on this machine: mirroring it without a token (a simulator)');
  }
  const runner = await run({
    pgPool: context.pool,
    concurrency: context.config.worker.concurrency,
    taskList: createTaskList(context),
    parsedCronItems: parseCronItems(crontab),
    noHandleSignals: true,
    logger: workerLogger,
    pollInterval: 2000,
    // Without batching, graphile-worker marks a finished job complete without waiting for it, so a shutdown right
    // after a job ends could close the pool first and leave the job locked (it would run again hours later). A
    // batcher is flushed on shutdown, and a 0 ms one costs no latency.
    preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  });
  if (context.config.digitalocean.token) await syncEmptyMirror(context);
  return runner;
}

/**
 * A mirror that has never completed a sync gets one at once (the kinds, then projects, then every periodic billing
 * task: the balance poll and billing history), rather than at the next tick of each schedule. Job keys make this a
 * no-op when another process already queued it.
 */
async function syncEmptyMirror(context: JobContext): Promise<void> {
  const { rows } = await context.pool.query<{ synced: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM sync_runs WHERE account_id = $1 AND status = 'succeeded') AS synced`,
    [context.config.digitalocean.accountId],
  );
  if (rows[0]?.synced) return;
  logger.info('the mirror has never been synced: syncing everything now');
  for (const task of [ALL_TASKS, ...BILLING_TASKS]) await enqueueSync(context.pool, task, 'startup');
}
