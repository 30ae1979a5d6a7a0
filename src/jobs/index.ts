// The task list and the crontab, defined in code (graphile-worker's conventions: one entry per task).
import type { CronItem, Task, TaskList } from 'graphile-worker';
import { publishEvent } from '../events.js';
import { billingCronItems, billingTasks } from './billing/tasks.js';
import type { Transport } from '../digitalocean/transport.js';
import { triggerOf, type JobContext } from './context.js';
import type { SyncEngine } from './inventory/engine.js';
import { createSyncCrontab, createSyncEngineFromConfig, createTransportFromConfig, SYNC_TASKS, syncJobIdentifier } from './sync.js';

export function createTaskList(context: JobContext): TaskList {
  // One DigitalOcean transport per process (so one rate limiter for the token), shared by every sync and billing task.
  let transport: Transport | undefined;
  const getTransport = (): Transport | undefined => (transport ??= createTransportFromConfig(context.config));
  let engine: SyncEngine | undefined;
  const getEngine = (): SyncEngine => (engine ??= createSyncEngineFromConfig(context.config, context.pool, { transport: getTransport() }));

  const tasks: TaskList = {
    /** Proves the queue end to end: whichever process runs it announces itself on the events channel. */
    ping: async (payload) => {
      const { id } = (payload ?? {}) as { id?: string };
      await publishEvent(context.pool, { type: 'ping', task: 'ping', message: `${id ?? ''} ${process.pid}`.trim() });
    },
  };
  for (const task of SYNC_TASKS) tasks[syncJobIdentifier(task)] = syncTask(task, getEngine);
  return { ...tasks, ...billingTasks(context, getTransport) };
}

/** `sync:<task>`: one run of the engine. A failed run is recorded in sync_runs, then reported to the queue. */
function syncTask(task: string, getEngine: () => SyncEngine): Task {
  return async (payload, helpers) => {
    const trigger = triggerOf(payload);
    const result = await getEngine().run(task, { trigger, jobId: helpers.job.id, signal: helpers.abortSignal });
    if (result.status === 'failed') throw new Error(`sync ${task} failed (run ${result.runId}): ${result.error ?? 'unknown error'}`);
  };
}

/** The schedule. Without a DigitalOcean token there is nothing to sync, so nothing is scheduled. */
export function createCrontab(context: Pick<JobContext, 'config'>): CronItem[] {
  if (!context.config.digitalocean.token) return [];
  return [...createSyncCrontab({ fastDroplets: context.config.sync.fastDroplets }), ...billingCronItems(context.config)];
}
