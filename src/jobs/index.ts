// The task list and the crontab, defined in code (graphile-worker's conventions: one entry per task).
import type { CronItem, TaskList } from 'graphile-worker';
import { publishEvent } from '../events.js';
import type { JobContext } from './context.js';

export function createTaskList(context: JobContext): TaskList {
  return {
    /** Proves the queue end to end: whichever process runs it announces itself on the events channel. */
    ping: async (payload) => {
      const { id } = (payload ?? {}) as { id?: string };
      await publishEvent(context.pool, { type: 'ping', task: 'ping', message: `${id ?? ''} ${process.pid}`.trim() });
    },
  };
}

/** The schedule. Without a DigitalOcean token there is nothing to sync, so nothing is scheduled. */
export function createCrontab(context: Pick<JobContext, 'config'>): CronItem[] {
  if (!context.config.digitalocean.token) return [];
  return [];
}
