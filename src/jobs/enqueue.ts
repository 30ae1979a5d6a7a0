/**
 * On-demand syncs for the GraphQL layer (and anyone else): put sync jobs on graphile-worker's queue with the same
 * queue, key and attempts as the scheduled ones, so a manual request never overlaps a running sync of the same task
 * and never piles up behind it (at most one pending job per task; see sync.ts).
 */
import type pg from 'pg';
import { enqueueBilling, isBillingTarget } from './billing/tasks.js';
import type { RunTrigger } from './context.js';
import { ALL_TASKS, TASK_NAME_FORMS } from './index.js';
import { isSyncTask, SYNC_TASKS, syncJobIdentifier, syncJobSpec } from './sync.js';
import { workerUtils } from './worker-utils.js';

export { nextScheduledRun, TASKS } from './index.js';
export { SYNC_TASKS } from './sync.js';

export type EnqueueTrigger = Exclude<RunTrigger, 'cron'>;

export class UnknownSyncTaskError extends Error {
  constructor(readonly task: string) {
    super(`Unknown sync task "${task}". Known tasks: ${TASK_NAME_FORMS.join(', ')}, or "${ALL_TASKS}" (every inventory task).`);
    this.name = 'UnknownSyncTaskError';
  }
}

/**
 * Enqueues a run of `task` (a name from TASKS, or `invoice:<uuid>`) or of every inventory task (`'all'`: the kinds
 * first, projects last by priority, so a first sync attributes resources that already exist). Returns the ids of
 * the jobs (an existing pending job of a task is reused, so its id comes back). Throws UnknownSyncTaskError for any
 * other name.
 */
export async function enqueueSync(pool: pg.Pool, task: string | 'all', trigger: EnqueueTrigger): Promise<{ jobIds: string[] }> {
  if (isBillingTarget(task)) return enqueueBilling(pool, task, trigger); // balance, billing_history, invoice:<uuid>
  const tasks = task === ALL_TASKS ? [...SYNC_TASKS] : [task];
  for (const t of tasks) if (!isSyncTask(t)) throw new UnknownSyncTaskError(t);
  const utils = await workerUtils(pool);
  const jobIds: string[] = [];
  for (const t of tasks) {
    const job = await utils.addJob(syncJobIdentifier(t), { trigger }, { ...syncJobSpec(t), priority: t === 'projects' ? 1 : 0 });
    jobIds.push(job.id);
  }
  return { jobIds };
}
