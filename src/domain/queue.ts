/**
 * Enqueueing runs from outside a job (triggerSync, the first sync of an empty mirror, a job that enqueues another):
 * every job goes on graphile-worker's queue with its task's queue, key and attempts (tasks.ts), so a manual request
 * never overlaps a running run of the same task and never piles up behind it.
 */
import { Logger as WorkerLogger, makeWorkerUtils, type AddJobFunction, type WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import {
  ALL_TASKS,
  INVENTORY_TASKS,
  jobIdentifier,
  jobOptions,
  parseTaskTarget,
  TASK_NAME_FORMS,
  type RunTrigger,
  type TaskTarget,
} from './tasks.js';

export type EnqueueTrigger = Exclude<RunTrigger, 'cron'>;

export class UnknownTaskError extends Error {
  constructor(readonly task: string) {
    super(
      `Unknown sync task "${task}". Known tasks: ${TASK_NAME_FORMS.join(', ')}, or "${ALL_TASKS}" (every inventory task).`,
    );
    this.name = 'UnknownTaskError';
  }
}

/** The payload every job of `target` carries: who asked, and the argument of a task that takes one. */
export function jobPayload(target: TaskTarget, trigger: RunTrigger): Record<string, unknown> {
  return target.argument === undefined ? { trigger } : { invoiceUuid: target.argument, trigger };
}

/** Adds the job of one target through `addJob` (WorkerUtils' or a running job's helpers). `runAt` delays it. */
export async function addTaskJob(
  addJob: AddJobFunction,
  target: TaskTarget,
  trigger: RunTrigger,
  runAt?: Date,
): Promise<string> {
  const job = await addJob(jobIdentifier(target.task), jobPayload(target, trigger), {
    ...jobOptions(target),
    ...(runAt && { runAt }),
  });
  return job.id;
}

/**
 * Enqueues a run of `name` (a task, `invoice:<uuid>`, or `all`: every inventory task, projects last by priority).
 * Returns the ids of the jobs (an existing pending job of a task is reused, so its id comes back). Throws
 * UnknownTaskError for any other name.
 */
export async function enqueueTask(pool: pg.Pool, name: string, trigger: EnqueueTrigger): Promise<{ jobIds: string[] }> {
  let targets: TaskTarget[];
  if (name === ALL_TASKS) targets = INVENTORY_TASKS.map((task) => ({ task }));
  else {
    const target = parseTaskTarget(name);
    if (!target) throw new UnknownTaskError(name);
    targets = [target];
  }
  const utils = await workerUtils(pool);
  const jobIds: string[] = [];
  for (const target of targets) jobIds.push(await addTaskJob(utils.addJob.bind(utils), target, trigger));
  return { jobIds };
}

// WorkerUtils only adds jobs here; its failures reach the caller as rejections, so its log lines are not needed.
const quietLogger = new WorkerLogger(() => () => undefined);

// One WorkerUtils per pool (it migrates graphile-worker's schema once; the pool stays the caller's).
const utilsByPool = new WeakMap<pg.Pool, Promise<WorkerUtils>>();

function workerUtils(pool: pg.Pool): Promise<WorkerUtils> {
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
