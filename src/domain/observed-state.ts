// What a scrape reads from the database (src/metrics.ts ObservedState): each task's last success, graphile-worker's
// queue, the invoices' ingest status and the latest match rate, the shared request budget. One statement in a read-only
// transaction with a statement timeout, so a slow database cannot hold a scrape: every statement is an index
// lookup or a scan of a small table (sync_runs by (task, started_at) per task; graphile-worker's jobs, which hold
// only what is queued; cloud_invoices, one row per month; one budget row).
import type pg from 'pg';
import { budgetKey } from '../db/rate-budget.js';
import type { ObservedState } from '../metrics.js';
import { TASK_NAMES, jobIdentifier, nextScheduledRun, taskSchedules, type TaskName } from './tasks.js';

export interface ObservedStateOptions {
  accountId: string;
  /** The DigitalOcean token (only its hash is used, to find its budget row) and the budget's size per window. */
  budget?: { token: string; limit: number; windowMs?: number } | undefined;
  fastDroplets?: boolean;
  /** Per statement, in the database. Default 1 s. */
  statementTimeoutMs?: number;
}

/** The longest gap between two runs of each scheduled task, over two days of its schedule. */
export function schedulePeriods(options: { fastDroplets?: boolean } = {}): Array<{ task: TaskName; seconds: number }> {
  const tasks = [...new Set(taskSchedules(options).map((entry) => entry.task))];
  const from = new Date(Date.UTC(2026, 0, 5)); // a Monday; any instant would do for these patterns
  const horizon = from.getTime() + 2 * 86_400_000;
  return tasks.map((task) => {
    let longest = 0;
    let previous = nextScheduledRun(task, from, options);
    while (previous && previous.getTime() < horizon) {
      const next = nextScheduledRun(task, previous, options);
      if (!next) break;
      longest = Math.max(longest, next.getTime() - previous.getTime());
      previous = next;
    }
    return { task, seconds: longest / 1000 };
  });
}

/**
 * The state in one statement. Its parameters are inlined as escaped literals (`literal`): the statement goes out
 * with BEGIN, SET LOCAL statement_timeout and COMMIT in one simple-protocol message, one round trip per scrape,
 * which the extended protocol's parameters would not allow. graphile-worker's jobs are read once its schema exists.
 */
function stateSql(literal: (value: string) => string, values: StateValues, withJobs: boolean): string {
  const account = literal(values.accountId);
  const tasks = `ARRAY[${values.tasks.map(literal).join(', ')}]::text[]`;
  const jobs = withJobs
    ? `(SELECT coalesce(json_agg(j), '[]') FROM (
         SELECT task_identifier AS job,
                count(*) FILTER (WHERE locked_at IS NULL AND attempts < max_attempts AND run_at <= now())::int AS waiting,
                count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running,
                coalesce(extract(epoch FROM now() - min(run_at) FILTER (
                  WHERE locked_at IS NULL AND attempts < max_attempts AND run_at <= now())), 0)::float8 AS oldest
         FROM graphile_worker.jobs GROUP BY task_identifier) j)`
    : `'[]'::json`;
  return `
SELECT extract(epoch FROM now())::float8 AS now,
  (SELECT coalesce(json_agg(json_build_object('task', t.task, 'at', extract(epoch FROM last.finished_at))), '[]')
     FROM unnest(${tasks}) AS t(task)
     CROSS JOIN LATERAL (SELECT r.finished_at FROM sync_runs r
                         WHERE r.task = t.task AND r.account_id = ${account} AND r.status = 'succeeded'
                         ORDER BY r.started_at DESC LIMIT 1) last) AS last_success,
  (SELECT coalesce(json_agg(json_build_object('status', s.ingest_status, 'count', s.n)), '[]')
     FROM (SELECT ingest_status, count(*)::int AS n FROM cloud_invoices WHERE account_id = ${account}
           GROUP BY ingest_status) s) AS invoices,
  (SELECT match_rate::float8 FROM cloud_invoices
     WHERE account_id = ${account} AND NOT provisional AND ingest_status = 'ingested' AND match_rate IS NOT NULL
     ORDER BY period DESC LIMIT 1) AS match_rate,
  (SELECT count(*)::int FROM digitalocean_request_budgets b, unnest(b.stamps) s
     WHERE b.token_hash = ${literal(values.budgetHash)}
       AND s > now() - make_interval(secs => ${Number(values.windowMs)}::float8 / 1000)) AS budget_used,
  ${jobs} AS jobs,
  to_regclass('graphile_worker.jobs') IS NOT NULL AS has_jobs`;
}

interface StateValues {
  accountId: string;
  tasks: readonly string[];
  budgetHash: string;
  windowMs: number;
}

interface StateRow {
  now: number;
  last_success: Array<{ task: string; at: number | null }>;
  invoices: Array<{ status: string; count: number }>;
  match_rate: number | null;
  budget_used: number;
  jobs: Array<{ job: string; waiting: number; running: number; oldest: number }>;
  has_jobs: boolean;
}

/** A source for setObservedStateSource: reads the state on `pool` for `options.accountId`. */
export function observedStateSource(pool: pg.Pool, options: ObservedStateOptions): () => Promise<ObservedState> {
  const periods = schedulePeriods({ fastDroplets: options.fastDroplets ?? false });
  const taskOfJob = new Map(TASK_NAMES.map((task) => [jobIdentifier(task), task]));
  const values: StateValues = {
    accountId: options.accountId,
    tasks: TASK_NAMES,
    budgetHash: options.budget ? budgetKey(options.budget.token) : '',
    windowMs: options.budget?.windowMs ?? 60_000,
  };
  const timeout = Math.max(1, Math.round(options.statementTimeoutMs ?? 1000));
  let jobsExist = false;

  return async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      let row: StateRow;
      for (;;) {
        const withJobs = jobsExist;
        const sql = stateSql((value) => client.escapeLiteral(value), values, withJobs);
        const results = (await client.query(
          `BEGIN READ ONLY; SET LOCAL statement_timeout = ${timeout}; ${sql}; COMMIT`,
        )) as unknown as Array<pg.QueryResult<StateRow>>;
        row = results[2]!.rows[0]!;
        jobsExist = row.has_jobs;
        // Its schema has appeared (a worker migrated it): read again, with the jobs (once per process).
        if (withJobs || !jobsExist) break;
      }
      const jobs = new Map<string, { waiting: number; running: number; oldestAgeSeconds: number }>();
      for (const { job, waiting, running, oldest } of row.jobs) {
        // Jobs of a task not in the registry (a ping) are counted together, so labels stay bounded.
        const task = taskOfJob.get(job) ?? 'other';
        const sum = jobs.get(task) ?? { waiting: 0, running: 0, oldestAgeSeconds: 0 };
        jobs.set(task, {
          waiting: sum.waiting + waiting,
          running: sum.running + running,
          oldestAgeSeconds: Math.max(sum.oldestAgeSeconds, oldest),
        });
      }
      return {
        now: row.now,
        lastSuccess: row.last_success.flatMap(({ task, at }) => (at === null ? [] : [{ task, at }])),
        schedulePeriods: periods,
        jobs: [...jobs].map(([task, figures]) => ({ task, ...figures })),
        invoices: row.invoices,
        latestInvoiceMatchRatio: row.match_rate ?? undefined,
        budgetRemaining: options.budget ? Math.max(0, options.budget.limit - row.budget_used) : undefined,
      };
    } catch (error) {
      broken = error as Error;
      throw error;
    } finally {
      // A connection left in a failed transaction (a timeout) is discarded rather than handed back.
      client.release(broken);
    }
  };
}
