import { Logger as WorkerLogger, parseCronItems, run, type Runner } from 'graphile-worker';
import { logger } from '../logger.js';
import type { JobContext } from './context.js';
import { createCrontab, createTaskList } from './index.js';

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
  }
  return run({
    pgPool: context.pool,
    concurrency: context.config.worker.concurrency,
    taskList: createTaskList(context),
    parsedCronItems: parseCronItems(crontab),
    noHandleSignals: true,
    logger: workerLogger,
    pollInterval: 2000,
  });
}
