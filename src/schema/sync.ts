// Sync observability and control: SyncRun, syncRuns, syncStatus, the triggerSync mutation and the
// syncProgress subscription (events from whichever process runs the jobs, through Postgres LISTEN).
import type { SyncEvent } from '../events.js';
import type { Prisma, SyncRun } from '../generated/prisma/client.js';
import { enqueueTask } from '../domain/queue.js';
import {
  ALL_TASKS,
  isRunnableTask,
  nextScheduledRun,
  SCHEDULED_TASKS,
  TASK_NAME_FORMS,
  TASK_NAMES,
} from '../domain/tasks.js';
import { badInput, builder } from './builder.js';

const SYNC_RUN_STATUSES = ['running', 'succeeded', 'incomplete', 'failed'] as const;

const SyncRunStatus = builder.enumType('SyncRunStatus', {
  values: {
    RUNNING: { value: 'running' },
    SUCCEEDED: { value: 'succeeded' },
    INCOMPLETE: {
      value: 'incomplete',
      description: 'Finished, but some listing was incomplete: staleness did not move.',
    },
    FAILED: { value: 'failed' },
  } as const,
});

export const SyncRunRef = builder.prismaObject('SyncRun', {
  description: 'One run of one sync task.',
  fields: (t) => ({
    id: t.exposeID('id'),
    task: t.exposeString('task'),
    trigger: t.exposeString('trigger', {
      description: 'cron, manual (triggerSync), cli (npm run sync) or startup (first sync of an empty mirror).',
    }),
    status: t.field({
      type: SyncRunStatus,
      // A status this API does not know yet reads as the closest one rather than failing the query.
      resolve: (run) =>
        (SYNC_RUN_STATUSES as readonly string[]).includes(run.status)
          ? (run.status as (typeof SYNC_RUN_STATUSES)[number])
          : 'failed',
    }),
    jobId: t.exposeString('jobId', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    complete: t.exposeBoolean('complete', {
      nullable: true,
      description: 'Whether every listing of the run was complete.',
    }),
    pages: t.exposeInt('pages'),
    apiCalls: t.exposeInt('apiCalls'),
    listed: t.exposeInt('listed'),
    created: t.exposeInt('created'),
    updated: t.exposeInt('updated'),
    unchanged: t.exposeInt('unchanged'),
    markedStale: t.exposeInt('markedStale'),
    error: t.exposeString('error', { nullable: true }),
    details: t.expose('details', {
      type: 'JSON',
      nullable: true,
      authScopes: { admin: true },
      description: 'Raw run details (platform admin only).',
    }),
  }),
});

const SyncRunConnection = builder.connectionObject(
  {
    type: SyncRunRef,
    name: 'SyncRunConnection',
    fields: (t) => ({
      totalCount: t.int({
        resolve: (connection) =>
          typeof connection.totalCount === 'function' ? connection.totalCount() : (connection.totalCount ?? 0),
      }),
    }),
  },
  { name: 'SyncRunEdge' },
);

/**
 * `runnable`: a name triggerSync runs (`all`, a task, `invoice:<uuid>`); otherwise a sync_runs.task to filter by
 * (a task, or `invoice`).
 */
function knownTask(task: string, argument: string, runnable = false): string {
  const value = task.trim();
  if (runnable ? isRunnableTask(value) : (TASK_NAMES as readonly string[]).includes(value)) return value;
  const expected = runnable
    ? `"${ALL_TASKS}" or one of ${TASK_NAME_FORMS.join(', ')}`
    : `one of ${TASK_NAMES.join(', ')}`;
  throw badInput(`Unknown sync task "${value.slice(0, 60)}": expected ${expected}`, argument);
}

interface TaskStatus {
  task: string;
  lastRun: SyncRun | null;
  lastSuccess: SyncRun | null;
}

const TaskSyncStatus = builder.objectRef<TaskStatus>('TaskSyncStatus').implement({
  description: 'Where one sync task stands.',
  fields: (t) => ({
    task: t.exposeString('task'),
    lastRun: t.field({ type: SyncRunRef, nullable: true, resolve: (status) => status.lastRun }),
    lastSuccess: t.field({ type: SyncRunRef, nullable: true, resolve: (status) => status.lastSuccess }),
    running: t.boolean({
      description: 'The latest run has not finished yet.',
      resolve: (status) => status.lastRun?.status === 'running',
    }),
    nextScheduledRun: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the schedule runs the task next (null: not scheduled, e.g. without a DigitalOcean token).',
      resolve: (status, _args, ctx) =>
        ctx.config.digitalocean.token
          ? nextScheduledRun(status.task, new Date(), { fastDroplets: ctx.config.sync.fastDroplets })
          : null,
    }),
  }),
});

builder.queryFields((t) => ({
  syncRuns: t.prismaConnection(
    {
      type: SyncRunRef,
      cursor: 'id',
      authScopes: { member: true },
      description: 'Sync runs, newest first.',
      args: {
        task: t.arg.string(),
        status: t.arg({ type: SyncRunStatus }),
      },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.syncRun.findMany({ ...query, where: syncRunWhere(args), orderBy: { id: 'desc' } }),
      totalCount: (_connection, args, ctx) => ctx.prisma.syncRun.count({ where: syncRunWhere(args) }),
    },
    SyncRunConnection,
  ),
  syncStatus: t.field({
    type: [TaskSyncStatus],
    authScopes: { member: true },
    description:
      'Per scheduled task (the inventory kinds, projects, balance, billing_history, billing_insights): the last run, the last successful run, whether one is running, and the next scheduled run.',
    resolve: async (_root, _args, ctx) => {
      // Two statements for every task together: the ids (DISTINCT ON uses the (task, started_at) index), then the rows.
      const latest = await ctx.prisma.$queryRaw<Array<{ which: 'last' | 'success'; id: number }>>`
        SELECT 'last' AS which, id FROM (
          SELECT DISTINCT ON (task) id FROM sync_runs WHERE task = ANY(${[...SCHEDULED_TASKS]}::text[]) ORDER BY task, started_at DESC, id DESC
        ) last_run
        UNION ALL
        SELECT 'success' AS which, id FROM (
          SELECT DISTINCT ON (task) id FROM sync_runs WHERE task = ANY(${[...SCHEDULED_TASKS]}::text[]) AND status = 'succeeded'
          ORDER BY task, started_at DESC, id DESC
        ) last_success`;
      const runs =
        latest.length === 0
          ? []
          : await ctx.prisma.syncRun.findMany({ where: { id: { in: latest.map((row) => row.id) } } });
      const byId = new Map(runs.map((run) => [run.id, run]));
      const statuses = new Map<string, TaskStatus>(
        SCHEDULED_TASKS.map((task) => [task, { task, lastRun: null, lastSuccess: null }]),
      );
      for (const row of latest) {
        const run = byId.get(row.id);
        const status = run && statuses.get(run.task);
        if (!status) continue;
        if (row.which === 'last') status.lastRun = run;
        else status.lastSuccess = run;
      }
      return [...statuses.values()];
    },
  }),
}));

function syncRunWhere(args: {
  task?: string | null | undefined;
  status?: string | null | undefined;
}): Prisma.SyncRunWhereInput {
  return {
    ...(args.task != null ? { task: knownTask(args.task, 'task') } : {}),
    ...(args.status != null ? { status: args.status } : {}),
  };
}

const TriggerSyncPayload = builder.objectRef<{ task: string; jobIds: string[] }>('TriggerSyncPayload').implement({
  fields: (t) => ({
    task: t.exposeString('task', { description: 'The task asked for ("all" for every inventory task).' }),
    jobIds: t.exposeStringList('jobIds', {
      description: 'The queued jobs (a run appears in syncRuns, with this jobId, when a worker starts it).',
    }),
  }),
});

builder.mutationFields((t) => ({
  triggerSync: t.field({
    type: TriggerSyncPayload,
    authScopes: { admin: true },
    description: `Queues a run of one task now, or of every inventory task (the kinds, then projects) with "all". Platform admin only.`,
    args: {
      task: t.arg.string({ required: true, description: `"${ALL_TASKS}" or one of ${TASK_NAME_FORMS.join(', ')}.` }),
    },
    resolve: async (_root, args, ctx) => {
      const task = knownTask(args.task, 'task', true);
      const { jobIds } = await enqueueTask(ctx.pool, task, 'manual');
      return { task, jobIds };
    },
  }),
}));

// --- live progress -------------------------------------------------------------------------------

const PROGRESS_TYPES = new Set<SyncEvent['type']>(['started', 'progress', 'finished', 'failed']);

const SyncEventType = builder.enumType('SyncEventType', {
  values: {
    STARTED: { value: 'started' },
    PROGRESS: { value: 'progress' },
    FINISHED: { value: 'finished' },
    FAILED: { value: 'failed' },
  } as const,
});

const SyncCount = builder.objectRef<{ name: string; value: number }>('SyncCount').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeInt('value') }),
});

const SyncCounts = builder.objectRef<Record<string, number>>('SyncCounts').implement({
  description: 'The counts a finished run reports.',
  fields: (t) => {
    const count = (...keys: string[]) =>
      t.int({
        nullable: true,
        resolve: (counts) => keys.map((key) => counts[key]).find((value) => typeof value === 'number') ?? null,
      });
    return {
      listed: count('listed'),
      created: count('created'),
      updated: count('updated'),
      unchanged: count('unchanged'),
      markedStale: count('markedStale', 'marked_stale'),
      pages: count('pages'),
      apiCalls: count('apiCalls', 'api_calls'),
      all: t.field({
        type: [SyncCount],
        description: 'Every count, by name (including any without a field of its own).',
        resolve: (counts) =>
          Object.entries(counts)
            .filter((entry): entry is [string, number] => Number.isInteger(entry[1]))
            .map(([name, value]) => ({ name, value })),
      }),
    };
  },
});

const SyncProgressEvent = builder.objectRef<SyncEvent>('SyncProgressEvent').implement({
  description: 'A sync job’s progress, as the job publishes it.',
  fields: (t) => ({
    type: t.field({
      type: SyncEventType,
      resolve: (event) => event.type as 'started' | 'progress' | 'finished' | 'failed',
    }),
    task: t.exposeString('task'),
    runId: t.int({ nullable: true, resolve: (event) => event.runId ?? null }),
    done: t.int({
      nullable: true,
      description: 'progress: items done so far.',
      resolve: (event) => event.done ?? null,
    }),
    total: t.int({
      nullable: true,
      description: 'progress: the total, when the API told it.',
      resolve: (event) => event.total ?? null,
    }),
    page: t.int({ nullable: true, resolve: (event) => event.page ?? null }),
    counts: t.field({
      type: SyncCounts,
      nullable: true,
      description: 'finished: the run’s counts.',
      resolve: (event) => event.counts ?? null,
    }),
    message: t.string({
      nullable: true,
      description: 'failed: what went wrong; progress: what is being listed, when not the task itself.',
      resolve: (event) => event.message ?? null,
    }),
    at: t.field({ type: 'DateTime', resolve: (event) => event.at }),
  }),
});

builder.subscriptionFields((t) => ({
  syncProgress: t.field({
    type: SyncProgressEvent,
    authScopes: { member: true },
    description:
      'Live sync progress from every worker process: started, progress (done/total), finished (counts), failed (message). A client that falls behind receives the latest progress of a run rather than every intermediate one; started, finished and failed always arrive.',
    args: { task: t.arg.string({ description: 'Only this task (default: every task).' }) },
    subscribe: (_root, args, ctx) => {
      const task = args.task == null ? null : knownTask(args.task, 'task');
      return ctx.events.subscribe(
        (event) => PROGRESS_TYPES.has(event.type) && (task === null || event.task === task),
        ctx.viewer?.expiresAt ?? null,
        ctx.viewer?.subject,
      );
    },
    resolve: (event) => event,
  }),
}));
