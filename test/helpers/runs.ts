// What tests of worker processes ask the database: the runs of a task, the locks graphile-worker holds, which worker
// owns a run; and a poll that waits for a state within a bound (no timed assertions: states, within generous bounds).
import type pg from 'pg';
import type { ServiceProcess } from './process.js';

export const MINUTE = 60_000;

export interface RunRow {
  id: number;
  task: string;
  trigger: string;
  status: string;
  owner: string | null;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

/** The probe's first defined value, or undefined once `timeoutMs` has passed without one. */
export async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** As `poll`, but a state that never comes fails the test, naming what was awaited. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = MINUTE): Promise<T> {
  const value = await poll(probe, timeoutMs);
  if (value === undefined) throw new Error(`timed out waiting for ${what}`);
  return value;
}

export async function runsOf(pool: pg.Pool, task: string): Promise<RunRow[]> {
  const { rows } = await pool.query<RunRow>(
    `SELECT id, task, trigger, status, owner, error, started_at, finished_at FROM sync_runs WHERE task = $1 ORDER BY id`,
    [task],
  );
  return rows;
}

/** Jobs and named queues graphile-worker holds locked right now. */
export async function lockedJobsAndQueues(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM graphile_worker._private_jobs WHERE locked_by IS NOT NULL)
           + (SELECT count(*) FROM graphile_worker._private_job_queues WHERE locked_by IS NOT NULL))::int AS n`,
  );
  return rows[0]!.n;
}

/** The worker whose lease owns `run` (owner ids carry the process id). */
export function ownerOf(run: RunRow, among: ServiceProcess[]): ServiceProcess {
  const found = among.find((w) => run.owner?.includes(`-${w.child.pid}-`));
  if (!found) throw new Error(`no worker owns run ${run.id} (${run.owner})`);
  return found;
}

/** A mirror that was synced before: a worker's start queues no first sync. */
export async function markSynced(pool: pg.Pool): Promise<void> {
  await pool.query(`INSERT INTO cloud_accounts (id, updated_at) VALUES ('default', now()) ON CONFLICT DO NOTHING`);
  await pool.query(
    `INSERT INTO sync_runs (account_id, task, trigger, status, finished_at) VALUES ('default', 'volume', 'cron', 'succeeded', now())`,
  );
  // Billing insights too: a month without points gets them at a worker's start unless a run this month found none.
  await pool.query(
    `INSERT INTO sync_runs (account_id, task, trigger, status, finished_at) VALUES ('default', 'billing_insights', 'cron', 'succeeded', now())`,
  );
}
