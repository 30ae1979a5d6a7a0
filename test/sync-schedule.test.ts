// The sync as graphile-worker runs it: the crontab (parsed by graphile-worker itself, checked by pattern and
// identifier, not by the clock), next scheduled runs, enqueueing (validation, one pending job per task), a job run
// end to end through the worker, and the foreground CLI with its progress output and summary.
import { Logger, parseCronItems, runOnce } from 'graphile-worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createPool, createPrisma, type PrismaClient } from '../src/db/client.js';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import type { SyncEvent } from '../src/events.js';
import { SyncDisplay, summaryTable } from '../src/cli/sync-display.js';
import { enqueueTask, UnknownTaskError } from '../src/domain/queue.js';
import { INVENTORY_TASKS as SYNC_TASKS, nextScheduledRun, SCHEDULED_TASKS as TASKS } from '../src/domain/tasks.js';
import { silentLogger } from '../src/logger.js';
import type { RunResult as SyncRunResult } from '../src/jobs/run.js';
import { createCrontab, createTaskList } from '../src/jobs/tasks.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { runSyncCli } from './helpers/process.js';
import { TEST_TOKEN } from './helpers/sync.js';

const KIND_TASKS = [
  'droplet',
  'volume',
  'snapshot',
  'floating_ip',
  'reserved_ipv6',
  'firewall',
  'load_balancer',
  'dns_zone',
  'managed_db',
  'kubernetes_cluster',
  'app',
];

function configFor(env: Record<string, string> = {}) {
  return loadConfig({ NODE_ENV: 'test', ...env });
}

const digest = (iso: string) => {
  const d = new Date(iso);
  return {
    min: d.getUTCMinutes(),
    hour: d.getUTCHours(),
    date: d.getUTCDate(),
    month: d.getUTCMonth() + 1,
    dow: d.getUTCDay(),
  };
};

describe('sync schedule', () => {
  it('names one task per kind plus projects', () => {
    expect([...SYNC_TASKS]).toEqual([...KIND_TASKS, 'projects']);
  });

  it('names every scheduled task: the inventory tasks, then the balance poll, billing history and insights', () => {
    expect([...TASKS]).toEqual([...KIND_TASKS, 'projects', 'balance', 'billing_history', 'billing_insights']);
    // Each one is on the crontab.
    const crontab = createCrontab({ config: configFor({ DIGITALOCEAN_TOKEN: 't' }) });
    for (const task of TASKS) expect(nextScheduledRun(task, new Date('2026-03-04T10:40:12Z')), task).not.toBeNull();
    expect(crontab.map((c) => c.task)).toEqual([
      ...SYNC_TASKS.map((t) => `sync:${t}`),
      'billing:balance',
      'billing:history',
      'billing:insights',
    ]);
  });

  it('schedules nothing without a token', () => {
    expect(createCrontab({ config: configFor() })).toEqual([]);
  });

  it('every 15 minutes for projects and every kind but snapshots (hourly at :33), per graphile-worker itself', () => {
    const parsed = parseCronItems(createCrontab({ config: configFor({ DIGITALOCEAN_TOKEN: 't' }) })).filter((p) =>
      p.task.startsWith('sync:'),
    );
    expect(parsed.map((p) => p.identifier).sort()).toEqual([...SYNC_TASKS].map((t) => `sync:${t}`).sort());
    for (const item of parsed) {
      const task = item.identifier.slice('sync:'.length);
      expect(item.task).toBe(`sync:${task}`);
      expect(item.payload).toEqual({ trigger: 'cron' });
      expect(item.options).toMatchObject({
        queueName: `sync:${task}`,
        jobKey: `sync:${task}`,
        jobKeyMode: 'preserve_run_at',
        maxAttempts: 1,
        backfillPeriod: 0,
      });
      const minutes = Array.from({ length: 60 }, (_, m) => m).filter((m) =>
        item.match(digest(`2026-03-04T05:${String(m).padStart(2, '0')}:00Z`)),
      );
      if (task === 'snapshot') expect(minutes, task).toEqual([33]);
      else expect(minutes, task).toEqual([0, 15, 30, 45]);
      // Every hour of every day.
      expect(item.match(digest(task === 'snapshot' ? '2026-12-31T23:33:00Z' : '2026-12-31T23:45:00Z'))).toBe(true);
    }
  });

  it('adds a droplet lane every minute behind SYNC_FAST_DROPLETS, on the same queue and key', () => {
    const parsed = parseCronItems(
      createCrontab({ config: configFor({ DIGITALOCEAN_TOKEN: 't', SYNC_FAST_DROPLETS: 'true' }) }),
    ).filter((p) => p.task.startsWith('sync:'));
    const fast = parsed.find((p) => p.identifier === 'sync:droplet:fast')!;
    expect(fast.task).toBe('sync:droplet');
    expect(fast.options).toMatchObject({ queueName: 'sync:droplet', jobKey: 'sync:droplet', maxAttempts: 1 });
    expect([0, 1, 7, 59].every((m) => fast.match(digest(`2026-03-04T05:${String(m).padStart(2, '0')}:00Z`)))).toBe(
      true,
    );
    expect(parsed).toHaveLength(SYNC_TASKS.length + 1);
  });

  it('computes the next scheduled run from the cron pattern (UTC, strictly after)', () => {
    const at = new Date('2026-03-04T10:40:12Z');
    expect(nextScheduledRun('droplet', at)?.toISOString()).toBe('2026-03-04T10:45:00.000Z');
    expect(nextScheduledRun('projects', at)?.toISOString()).toBe('2026-03-04T10:45:00.000Z');
    expect(nextScheduledRun('snapshot', at)?.toISOString()).toBe('2026-03-04T11:33:00.000Z');
    expect(nextScheduledRun('snapshot', new Date('2026-03-04T10:20:00Z'))?.toISOString()).toBe(
      '2026-03-04T10:33:00.000Z',
    );
    expect(nextScheduledRun('volume', new Date('2026-03-04T10:45:00Z'))?.toISOString()).toBe(
      '2026-03-04T11:00:00.000Z',
    );
    expect(nextScheduledRun('app', new Date('2026-12-31T23:59:30Z'))?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextScheduledRun('droplet', at, { fastDroplets: true })?.toISOString()).toBe('2026-03-04T10:41:00.000Z');
    expect(nextScheduledRun('balance', at)?.toISOString()).toBe('2026-03-04T11:07:00.000Z');
    expect(nextScheduledRun('balance', new Date('2026-03-04T10:06:59Z'))?.toISOString()).toBe(
      '2026-03-04T10:07:00.000Z',
    );
    expect(nextScheduledRun('billing_history', at)?.toISOString()).toBe('2026-03-05T02:23:00.000Z');
    expect(nextScheduledRun('invoice', at)).toBeNull(); // enqueued by billing history, never scheduled
    expect(nextScheduledRun('nope', at)).toBeNull();
  });

  it('registers a task per sync name', () => {
    const tasks = createTaskList({
      config: configFor({ DIGITALOCEAN_TOKEN: 't' }),
      pool: {} as pg.Pool,
      prisma: {} as PrismaClient,
      logger: silentLogger,
    });
    expect(
      Object.keys(tasks)
        .filter((t) => t.startsWith('sync:'))
        .sort(),
    ).toEqual(SYNC_TASKS.map((t) => `sync:${t}`).sort());
  });

  it('registers no DigitalOcean task without a token (graphile-worker then leaves those jobs to other workers)', () => {
    const tasks = createTaskList({
      config: configFor(),
      pool: {} as pg.Pool,
      prisma: {} as PrismaClient,
      logger: silentLogger,
    });
    expect(Object.keys(tasks)).toEqual(['ping']);
  });
});

describe('sync jobs', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let prisma: PrismaClient;
  let sim: Simulator;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, { max: 4 });
    prisma = createPrisma(pool);
    sim = await startSimulator({ seed: 41, scale: { droplets: 250 } });
  });
  afterAll(async () => {
    await sim?.close();
    await prisma?.$disconnect();
    await pool?.end();
    await db?.drop();
  });

  const jobs = async () =>
    (
      await pool.query<{
        id: string;
        task_identifier: string;
        queue_name: string;
        key: string;
        max_attempts: number;
        priority: number;
        payload: unknown;
      }>(
        `SELECT j.id::text, j.task_identifier, j.queue_name, j.key, j.max_attempts, j.priority, p.payload
       FROM graphile_worker.jobs j JOIN graphile_worker._private_jobs p ON p.id = j.id
       WHERE j.task_identifier LIKE 'sync:%' ORDER BY j.id`,
      )
    ).rows;

  it('refuses an unknown task with a clear error', async () => {
    await expect(enqueueTask(pool, 'droplets', 'manual')).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(enqueueTask(pool, 'droplets', 'manual')).rejects.toThrow(
      /Unknown sync task "droplets".*droplet, volume.*"all"/,
    );
    await expect(enqueueTask(pool, 'balances', 'manual')).rejects.toThrow(
      /Unknown sync task "balances"\. Known tasks: droplet, .*, app, projects, balance, billing_history, billing_insights, invoice:<uuid>, or "all"/,
    );
  });

  it('enqueues one job per task, and never a second pending one', async () => {
    const first = await enqueueTask(pool, 'volume', 'manual');
    const again = await enqueueTask(pool, 'volume', 'cli');
    expect(first.jobIds).toHaveLength(1);
    expect(again.jobIds).toEqual(first.jobIds);
    const rows = await jobs();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      task_identifier: 'sync:volume',
      queue_name: 'sync:volume',
      key: 'sync:volume',
      max_attempts: 1,
      payload: { trigger: 'cli' },
    });

    const all = await enqueueTask(pool, 'all', 'manual');
    expect(all.jobIds).toHaveLength(SYNC_TASKS.length);
    expect(all.jobIds).toContain(first.jobIds[0]);
    const byTask = new Map((await jobs()).map((j) => [j.task_identifier, j]));
    expect(byTask.size).toBe(SYNC_TASKS.length);
    // Projects after the kinds, so a first sync attributes resources that already exist.
    expect(byTask.get('sync:projects')?.priority).toBeGreaterThan(byTask.get('sync:droplet')!.priority);
  });

  it('a queued job runs the engine through graphile-worker and records the run with its trigger and job id', async () => {
    await pool.query(`DELETE FROM graphile_worker._private_jobs`);
    const { jobIds } = await enqueueTask(pool, 'droplet', 'manual');
    const config = configFor({
      DIGITALOCEAN_TOKEN: TEST_TOKEN,
      DIGITALOCEAN_API_URL: sim.url,
      DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
      DIGITALOCEAN_ACCOUNT_ID: 'acct-job',
    });
    await runOnce({
      pgPool: pool,
      taskList: createTaskList({ config, pool, prisma, logger: silentLogger }),
      noHandleSignals: true,
      logger: new Logger(() => () => undefined),
    });
    const run = await prisma.syncRun.findFirstOrThrow({ where: { task: 'droplet' } });
    expect(run).toMatchObject({
      status: 'succeeded',
      trigger: 'manual',
      jobId: jobIds[0],
      accountId: 'acct-job',
      listed: sim.account.count('droplet'),
    });
    expect(await jobs()).toHaveLength(0);
  });
});

describe('sync CLI', () => {
  let db: TestDatabase;
  let sim: Simulator;
  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({ seed: 42, scale: { droplets: 450 } });
  });
  afterAll(async () => {
    await sim?.close();
    await db?.drop();
  });

  const env = () => ({
    DATABASE_URL: db.url,
    DIGITALOCEAN_TOKEN: TEST_TOKEN,
    DIGITALOCEAN_API_URL: sim.url,
    DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
  });

  const runCli = (args: string[], extraEnv: Record<string, string> = {}) => runSyncCli(args, { ...env(), ...extraEnv });

  it('runs the named syncs in the foreground with progress lines and a summary table', async () => {
    const { code, stdout, stderr } = await runCli(['--', 'volume', 'droplet', 'projects']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/syncing 3 tasks from http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/droplet: started \(run \d+\)/);
    expect(stdout).toMatch(/droplet: 400\/\d+ \(page 2\)/);
    expect(stdout).toMatch(/projects: members \d+\/\d+/);
    // The summary, in table order (projects last).
    const table = stdout.slice(stdout.indexOf('task  '));
    expect(
      table
        .split('\n')
        .slice(2, 5)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['droplet', 'volume', 'projects']);
    expect(table).toMatch(
      new RegExp(`droplet +succeeded +\\d+ +\\d+ +${sim.account.count('droplet')} +${sim.account.count('droplet')} `),
    );
    const pool = createPool(db.url, { max: 1 });
    try {
      const runs = await pool.query<{ task: string; trigger: string; status: string }>(
        `SELECT task, trigger, status FROM sync_runs ORDER BY id`,
      );
      // Kinds run concurrently (in any order); projects always last.
      expect(
        runs.rows
          .map((r) => [r.task, r.trigger, r.status])
          .slice(0, 2)
          .sort(),
      ).toEqual([
        ['droplet', 'cli', 'succeeded'],
        ['volume', 'cli', 'succeeded'],
      ]);
      expect(runs.rows[2]).toEqual({ task: 'projects', trigger: 'cli', status: 'succeeded' });
    } finally {
      await pool.end();
    }
  }, 60_000);

  it('exits non-zero on a failed run, on a missing token and on an unknown task', async () => {
    sim.setFaults({ notFound: '/v2/firewalls' }); // not retryable: fails at once
    const failed = await runCli(['firewall']);
    sim.setFaults({});
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/firewall: failed: DigitalOcean GET \/v2\/firewalls\S* HTTP 404/);
    expect(failed.stdout).toMatch(/firewall +failed/);
    expect(failed.stdout).not.toContain(TEST_TOKEN);

    // (A loopback API URL needs no token, so the real API's URL stands in here.)
    const noToken = await runCli(['volume'], {
      DIGITALOCEAN_TOKEN: '',
      DIGITALOCEAN_API_URL: 'https://api.digitalocean.com',
    });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/DIGITALOCEAN_TOKEN is not set/);

    const unknown = await runCli(['droplets']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown task: droplets[\s\S]*usage: npm run sync/);
    // The usage names every task triggerSync takes.
    expect(unknown.stderr).toMatch(
      /tasks: droplet, volume, .*, app, projects, balance, billing_history, billing_insights, invoice:<uuid>\n/,
    );
  }, 60_000);

  it('runs the billing tasks by name: the balance poll, and billing history with the ingest of its invoices', async () => {
    const { code, stdout, stderr } = await runCli(['--', 'billing_history', 'balance']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/syncing 2 tasks from http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/balance: started \(run \d+\)/);
    expect(stdout).toMatch(/billing_history: succeeded/);
    const pool = createPool(db.url, { max: 1 });
    try {
      const runs = (
        await pool.query<{ task: string; trigger: string; status: string; uuid: string | null }>(
          `SELECT task, trigger, status, details->>'invoiceUuid' AS uuid FROM sync_runs WHERE task IN ('balance', 'billing_history', 'invoice') ORDER BY id`,
        )
      ).rows;
      // Table order (balance before billing history), then the invoices the history run found.
      expect(runs.slice(0, 2)).toEqual([
        { task: 'balance', trigger: 'cli', status: 'succeeded', uuid: null },
        { task: 'billing_history', trigger: 'cli', status: 'succeeded', uuid: null },
      ]);
      const invoices = runs.slice(2);
      expect(invoices.length).toBeGreaterThan(0);
      expect(invoices.every((r) => r.task === 'invoice' && r.trigger === 'cli' && r.status === 'succeeded')).toBe(true);
      const snapshots = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cloud_balance_snapshots`);
      expect(snapshots.rows[0]!.n).toBe(1);
      const ingested = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM cloud_invoices WHERE ingest_status = 'ingested'`,
      );
      expect(ingested.rows[0]!.n).toBe(invoices.length);
      // The summary: one row per run, the invoices by name.
      const table = stdout.slice(stdout.indexOf('task  '));
      const names = table
        .split('\n')
        .slice(2, 4 + invoices.length)
        .map((l) => l.split(/\s+/)[0]);
      expect(names).toEqual(['balance', 'billing_history', ...invoices.map((r) => `invoice:${r.uuid}`)]);

      // One invoice by name, as triggerSync takes it.
      const one = await runCli([`invoice:${invoices[0]!.uuid}`]);
      expect(one.stderr).toBe('');
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(new RegExp(`invoice:${invoices[0]!.uuid} +succeeded`));
    } finally {
      await pool.end();
    }
  }, 120_000);
});

describe('sync CLI display', () => {
  it('draws plain lines when not on a terminal', () => {
    const out: string[] = [];
    const display = new SyncDisplay(['volume'], { write: (t) => out.push(t), isTTY: false }, () => 0);
    const ev = (e: Partial<SyncEvent>): SyncEvent => ({ type: 'progress', task: 'volume', at: '', ...e });
    display.onEvent(ev({ type: 'started', runId: 7 }));
    display.onEvent(ev({ type: 'progress', done: 200, total: 450, page: 1 }));
    display.onEvent(ev({ type: 'finished', message: 'succeeded' }));
    expect(out.join('')).toBe('volume: started (run 7)\nvolume: 200/450 (page 1)\nvolume: succeeded\n');
  });

  it('redraws one bar per task in place on a terminal', () => {
    const out: string[] = [];
    const display = new SyncDisplay(['droplet', 'volume'], { write: (t) => out.push(t), isTTY: true }, () => 0);
    display.start();
    display.onEvent({ type: 'started', task: 'droplet', at: '' });
    display.onEvent({ type: 'progress', task: 'droplet', done: 100, total: 400, page: 1, at: '' });
    display.stop();
    const last = out.at(-1)!;
    expect(last.startsWith('\x1b[2A')).toBe(true); // moved up over the previous frame
    expect(last).toMatch(/droplet +\[█{6}░{18}\] +100\/400 +page 1 +running/);
    expect(last).toMatch(/volume +\[ {24}\] +0 +waiting/);
  });

  it('sums the runs in a table and lists problems', () => {
    const r = (task: string, status: SyncRunResult['status'], n: number, error?: string): SyncRunResult => ({
      runId: 1,
      task,
      status,
      complete: status === 'succeeded',
      durationMs: 1234,
      pages: 1,
      apiCalls: 2,
      listed: n,
      created: n,
      updated: 0,
      unchanged: 0,
      markedStale: 0,
      details: {},
      ...(error ? { error } : {}),
    });
    const table = summaryTable([r('droplet', 'succeeded', 10), r('volume', 'failed', 0, 'HTTP 500')]);
    expect(table).toMatch(/^task +status +pages +api calls +listed +created/);
    expect(table).toMatch(/droplet +succeeded +1 +2 +10 +10 +0 +0 +0 +1\.2s/);
    expect(table).toMatch(/total +2 +4 +10 +10/);
    expect(table).toMatch(/volume: failed: HTTP 500/);
  });
});
