// The worker: graphile-worker on the shared pool, running the task list and the crontab (tasks.ts).
import { Logger as WorkerLogger, parseCronItems, run, type Runner } from 'graphile-worker';
import { LOCAL_SIMULATOR_TOKEN } from '../config.js';
import { enqueueTask } from '../domain/queue.js';
import { ALL_TASKS, SCHEDULED_TASKS, groupOf } from '../domain/tasks.js';
import type { Logger } from '../logger.js';
import type { JobContext } from './context.js';
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

/** Starts graphile-worker on the shared pool: it migrates its own schema, then runs tasks and the crontab. */
export async function startWorker(context: JobContext): Promise<Runner> {
  const { logger } = context;
  const crontab = createCrontab(context);
  if (!context.config.digitalocean.token) {
    logger.info(
      'DIGITALOCEAN_TOKEN is not set: no sync is scheduled (set it, or DIGITALOCEAN_API_URL to a simulator, to start mirroring)',
    );
  } else if (context.config.digitalocean.token === LOCAL_SIMULATOR_TOKEN) {
    logger.info(
      { apiUrl: context.config.digitalocean.apiUrl },
      'DIGITALOCEAN_API_URL is on this machine: mirroring it without a token (a simulator)',
    );
  }
  const runner = await run({
    pgPool: context.pool,
    concurrency: context.config.worker.concurrency,
    taskList: createTaskList(context),
    parsedCronItems: parseCronItems(crontab),
    noHandleSignals: true,
    logger: workerLogger(logger),
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
 * A mirror that has never completed a sync gets one at once (every inventory task, then every scheduled billing
 * task: the balance poll and billing history), rather than at the next tick of each schedule. Job keys make this a
 * no-op when another process already queued it.
 */
async function syncEmptyMirror(context: JobContext): Promise<void> {
  const { rows } = await context.pool.query<{ synced: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM sync_runs WHERE account_id = $1 AND status = 'succeeded') AS synced`,
    [context.config.digitalocean.accountId],
  );
  if (rows[0]?.synced) return;
  context.logger.info('the mirror has never been synced: syncing everything now');
  const billing = SCHEDULED_TASKS.filter((task) => groupOf(task) === 'billing');
  for (const name of [ALL_TASKS, ...billing]) await enqueueTask(context.pool, name, 'startup');
}
