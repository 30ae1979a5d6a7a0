// Leases, run locks and the sweeper, in process: a lease's ids are alive exactly while its connection is; a run lock
// is held by one process at a time; the sweeper closes the runs of dead owners and frees their workers' locks, and
// leaves live ones alone; a new run of a task closes its task's abandoned runs at once.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db/client.js';
import { enqueueTask } from '../src/domain/queue.js';
import { ABANDONED_ERROR, newOwnerId, openLease, ownerAliveSql, withRunLock } from '../src/jobs/lease.js';
import { insertRun } from '../src/jobs/run-sql.js';
import { drainAbortAfterMs } from '../src/jobs/runner.js';
import { sweepAbandoned } from '../src/jobs/sweeper.js';
import { silentLogger } from '../src/logger.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

describe('leases and the sweeper', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, { max: 4 });
    await pool.query(`INSERT INTO cloud_accounts (id, updated_at) VALUES ('acct', now())`);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const alive = async (id: string): Promise<boolean> =>
    (await pool.query<{ alive: boolean }>(`SELECT ${ownerAliveSql('$1::text')} AS alive`, [id])).rows[0]!.alive;
  const open = () => openLease(pool, { owner: newOwnerId('worker'), logger: silentLogger });
  const runningRow = async (task: string, owner: string): Promise<number> =>
    (
      await pool.query<{ id: number }>(
        `INSERT INTO sync_runs (account_id, task, trigger, status, owner) VALUES ('acct', $1, 'cron', 'running', $2) RETURNING id`,
        [task, owner],
      )
    ).rows[0]!.id;
  const row = async (id: number) =>
    (
      await pool.query<{ status: string; complete: boolean | null; error: string | null }>(
        `SELECT status, complete, error FROM sync_runs WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it('an id is alive while its lease holds it, and dead once the lease ends', async () => {
    const lease = await open();
    await lease.hold('pool-abc');
    expect(await alive(lease.owner)).toBe(true);
    expect(await alive('pool-abc')).toBe(true);
    expect(await alive('pool-other')).toBe(false);
    await lease.close();
    expect(await alive(lease.owner)).toBe(false);
    expect(await alive('pool-abc')).toBe(false);
  });

  it('a run lock is held by one process at a time; a waiter runs once it is free', async () => {
    const a = await open();
    const b = await open();
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const first = withRunLock(a, 'acct:droplet', {}, () => (entered(), held));
      await inside;
      // Same process again, and another process without waiting: both refused while it runs.
      expect(await withRunLock(a, 'acct:droplet', {}, () => Promise.resolve(1))).toEqual({ ran: false });
      expect(await withRunLock(b, 'acct:droplet', {}, () => Promise.resolve(1))).toEqual({ ran: false });
      const order: string[] = [];
      const waiter = withRunLock(b, 'acct:droplet', { wait: { onWait: () => order.push('waiting') } }, () => {
        order.push('second');
        return Promise.resolve(2);
      });
      await expect.poll(() => order).toEqual(['waiting']);
      order.push('first done');
      release();
      await first;
      expect(await waiter).toEqual({ ran: true, value: 2 });
      expect(order).toEqual(['waiting', 'first done', 'second']);
      // Another task's lock is independent.
      expect(await withRunLock(b, 'acct:volume', {}, () => Promise.resolve(3))).toEqual({ ran: true, value: 3 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('closes the runs of dead owners and frees their jobs and queues; live ones are left alone', async () => {
    const live = await open();
    const dead = await open();
    await live.hold('pool-live');
    await dead.hold('pool-dead');
    const liveRun = await runningRow('volume', live.owner);
    const deadRun = await runningRow('droplet', dead.owner);
    const legacy = await runningRow('firewall', '');
    await pool.query(`UPDATE sync_runs SET owner = NULL WHERE id = $1`, [legacy]);
    const [liveJob] = (await enqueueTask(pool, 'volume', 'manual')).jobIds;
    const [deadJob] = (await enqueueTask(pool, 'droplet', 'manual')).jobIds;
    const lock = `UPDATE graphile_worker._private_jobs SET locked_by = $2, locked_at = now(), attempts = 1 WHERE id = $1`;
    const lockQueue = `UPDATE graphile_worker._private_job_queues SET locked_by = $2, locked_at = now() WHERE queue_name = $1`;
    await pool.query(lock, [liveJob, 'pool-live']);
    await pool.query(lockQueue, ['sync:volume', 'pool-live']);
    await pool.query(lock, [deadJob, 'pool-dead']);
    await pool.query(lockQueue, ['sync:droplet', 'pool-dead']);
    await dead.close();

    const swept = await sweepAbandoned(pool, silentLogger);
    expect(swept).toEqual({ closedRuns: [deadRun], unlockedWorkers: ['pool-dead'] });
    expect(await row(deadRun)).toEqual({ status: 'failed', complete: false, error: ABANDONED_ERROR });
    expect((await row(liveRun))?.status).toBe('running');
    expect((await row(legacy))?.status).toBe('running');
    const locked = await pool.query<{ locked_by: string }>(
      `SELECT locked_by FROM graphile_worker._private_jobs WHERE locked_by IS NOT NULL
       UNION ALL SELECT locked_by FROM graphile_worker._private_job_queues WHERE locked_by IS NOT NULL`,
    );
    expect(locked.rows).toEqual([{ locked_by: 'pool-live' }, { locked_by: 'pool-live' }]);
    expect(await sweepAbandoned(pool, silentLogger)).toEqual({ closedRuns: [], unlockedWorkers: [] });
    await live.close();
    await pool.query(`DELETE FROM sync_runs; DELETE FROM graphile_worker._private_jobs`);
  });

  it("a new run of a task closes that task's abandoned runs at once, and no other task's", async () => {
    const dead = await open();
    const abandoned = await runningRow('snapshot', dead.owner);
    const otherTask = await runningRow('app', dead.owner);
    await dead.close();
    const live = await open();
    await insertRun(pool, { accountId: 'acct', task: 'snapshot', trigger: 'cron', jobId: null, owner: live.owner });
    expect(await row(abandoned)).toEqual({ status: 'failed', complete: false, error: ABANDONED_ERROR });
    expect((await row(otherTask))?.status).toBe('running');
    await live.close();
  });
});

describe('the drain on SIGTERM', () => {
  it('lets running jobs go on for most of SHUTDOWN_TIMEOUT_MS, keeping time to record them', () => {
    expect(drainAbortAfterMs(15_000)).toBe(12_000);
    expect(drainAbortAfterMs(60_000)).toBe(55_000);
    expect(drainAbortAfterMs(100)).toBe(80);
  });
});
