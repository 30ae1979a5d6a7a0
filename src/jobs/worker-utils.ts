// Adding jobs from outside a task (GraphQL mutations, the CLI) goes through graphile-worker's WorkerUtils.
import { Logger as WorkerLogger, makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import { logger } from '../logger.js';

const quietLogger = new WorkerLogger(() => (level, message, meta) => {
  if (level === 'error') logger.error({ component: 'worker-utils', meta }, message);
  else if (level === 'warning') logger.warn({ component: 'worker-utils', meta }, message);
});

// One WorkerUtils per pool (it migrates graphile-worker's schema once; the pool stays the caller's).
const utilsByPool = new WeakMap<pg.Pool, Promise<WorkerUtils>>();

export function workerUtils(pool: pg.Pool): Promise<WorkerUtils> {
  let utils = utilsByPool.get(pool);
  if (!utils) {
    utils = (async () => {
      const created = await makeWorkerUtils({ pgPool: pool, logger: quietLogger });
      await created.migrate();
      return created;
    })();
    utils.catch(() => utilsByPool.delete(pool));
    utilsByPool.set(pool, utils);
  }
  return utils;
}
