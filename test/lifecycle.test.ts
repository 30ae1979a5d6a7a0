// No task is blocked by a dead process, with real worker processes over one database: SIGKILL and SIGTERM mid-sync,
// `npm run sync` alongside a worker's run of the same task, two workers starting on an empty mirror, a worker
// without a token. The simulator answers slowly so that a sync is mid-run when the signal comes. Nothing is timed:
// each step waits for a state, within a generous bound (the minute, where it states one).
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enqueueTask } from '../src/domain/queue.js';
import { SCHEDULED_TASKS } from '../src/domain/tasks.js';
import { EventListener } from '../src/events.js';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { runSyncCli, spawnEntry, type ServiceProcess } from './helpers/process.js';
import {
  lockedJobsAndQueues,
  markSynced as markSyncedIn,
  MINUTE,
  ownerOf,
  runsOf,
  waitFor,
  type RunRow,
} from './helpers/runs.js';
import { TEST_TOKEN } from './helpers/sync.js';

/** Each test waits for states within its own bounds; vitest's own limit stays out of the way. */
const PROCESS_TEST = { timeout: 5 * MINUTE };
/** Five pages of droplets at 1.5 s each: a droplet sync lasts well past graphile-worker's own 5 s drain. */
const SLOW_DROPLETS = { latency: { path: '/v2/droplets', ms: 1500 } };

function harness() {
  const state = {} as { db: TestDatabase; pool: pg.Pool; sim: Simulator };
  const processes: ServiceProcess[] = [];

  const env = (extra: Record<string, string | undefined> = {}) => ({
    DATABASE_URL: state.db.url,
    DIGITALOCEAN_TOKEN: TEST_TOKEN,
    DIGITALOCEAN_API_URL: state.sim.url,
    DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
    ...extra,
  });
  const startWorker = async (extra: Record<string, string | undefined> = {}): Promise<ServiceProcess> => {
    const worker = spawnEntry('src/worker.ts', env(extra));
    processes.push(worker);
    await worker.waitForOutput(/looking for jobs/i);
    return worker;
  };
  const runs = (task: string): Promise<RunRow[]> => runsOf(state.pool, task);
  const locks = (): Promise<number> => lockedJobsAndQueues(state.pool);
  const markSynced = (): Promise<void> => markSyncedIn(state.pool);

  beforeAll(async () => {
    state.db = await createTestDatabase();
    state.pool = new pg.Pool({ connectionString: state.db.url });
    state.pool.on('error', () => undefined);
    state.sim = await startSimulator({ seed: 14, scale: { droplets: 850, months: 2 } });
  });
  afterEach(() => state.sim.setFaults({}));
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await state.sim?.close();
    await state.pool?.end();
    await state.db?.drop();
  });
  const alive = (): ServiceProcess[] =>
    processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  return { state, env, startWorker, runs, locks, markSynced, alive, processes };
}

describe('a worker that dies mid-sync', PROCESS_TEST, () => {
  const h = harness();

  it('SIGKILL: the run is closed as abandoned and the next trigger runs on the other worker', async () => {
    await h.markSynced();
    const workers = await Promise.all([h.startWorker(), h.startWorker()]);
    h.state.sim.setFaults(SLOW_DROPLETS);
    await enqueueTask(h.state.pool, 'droplet', 'manual');
    const running = await waitFor('a running droplet sync', async () =>
      (await h.runs('droplet')).find((r) => r.status === 'running'),
    );
    const victim = ownerOf(running, workers);
    const survivor = workers.find((w) => w !== victim)!;
    victim.child.kill('SIGKILL');
    await victim.exited;

    h.state.sim.setFaults({});
    await enqueueTask(h.state.pool, 'droplet', 'manual');
    const rows = await waitFor('the abandoned run closed and a new run finished', async () => {
      const all = await h.runs('droplet');
      const old = all.find((r) => r.id === running.id)!;
      const next = all.find((r) => r.id > running.id && r.status === 'succeeded');
      return old.status !== 'running' && next ? { old, next } : undefined;
    });
    expect(rows.old).toMatchObject({ status: 'failed', error: expect.stringMatching(/^abandoned: /) as string });
    expect(rows.old.finished_at).toBeInstanceOf(Date);
    expect(ownerOf(rows.next, workers)).toBe(survivor);
    expect(await h.locks()).toBe(0);
  });

  it('SIGTERM: the running sync drains past 5 s within SHUTDOWN_TIMEOUT_MS, is recorded, and nothing stays locked', async () => {
    await h.markSynced();
    const workers = [...h.alive(), await h.startWorker({ SHUTDOWN_TIMEOUT_MS: '60000' })];
    h.state.sim.setFaults(SLOW_DROPLETS);
    const before = (await h.runs('droplet')).length;
    await enqueueTask(h.state.pool, 'droplet', 'manual');
    const running = await waitFor('a running droplet sync', async () =>
      (await h.runs('droplet')).slice(before).find((r) => r.status === 'running'),
    );
    const stopping = ownerOf(running, workers);
    stopping.child.kill('SIGTERM');
    expect(await stopping.exited, stopping.output()).toBe(0);

    const [drained] = (await h.runs('droplet')).filter((r) => r.id === running.id);
    expect(drained).toMatchObject({ status: 'succeeded' });
    expect(await h.locks()).toBe(0);

    h.state.sim.setFaults({});
    await enqueueTask(h.state.pool, 'droplet', 'manual');
    await waitFor('the next trigger to run on a live worker', async () =>
      (await h.runs('droplet')).find((r) => r.id > running.id && r.status === 'succeeded'),
    );
  });
});

describe('npm run sync alongside a worker', PROCESS_TEST, () => {
  const h = harness();

  const runCli = (args: string[]) => runSyncCli(args, h.env({ LOG_LEVEL: 'warn' }));

  it('never lists a task twice at once: the CLI waits for the running sync, then runs its own', async () => {
    await h.markSynced();
    await h.startWorker();
    h.state.sim.setFaults(SLOW_DROPLETS);
    await enqueueTask(h.state.pool, 'droplet', 'manual');
    const running = await waitFor('a running droplet sync', async () =>
      (await h.runs('droplet')).find((r) => r.status === 'running'),
    );
    const cli = await runCli(['--', 'droplet']);
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);

    const runs = await h.runs('droplet');
    expect(runs.map((r) => [r.trigger, r.status])).toEqual(
      expect.arrayContaining([
        ['manual', 'succeeded'],
        ['cli', 'succeeded'],
      ]),
    );
    expect(runs[0]!.id).toBe(running.id);
    // Every pair of droplet runs, one after the other: none started before the previous one finished.
    for (let i = 1; i < runs.length; i++)
      expect(runs[i]!.started_at.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.finished_at!.getTime());
    expect(cli.stderr).toMatch(/droplet: running in another process; waiting for it to finish/);
  });
});

describe('two workers starting on an empty mirror', PROCESS_TEST, () => {
  const h = harness();

  it('run the first sync once per task', async () => {
    // The first answers slow: both workers decide while the first syncs are running and none has finished yet.
    h.state.sim.setFaults({ latency: { ms: 5000, count: 16 } });
    const [first, second] = await Promise.all([h.startWorker(), h.startWorker()]);
    // Each has decided (older versions only said so when they queued the first sync).
    for (const worker of [first, second]) await worker.waitForOutput(/"msg":"first sync: |never been synced/);
    const tasks: readonly string[] = SCHEDULED_TASKS;
    await waitFor(
      'every first sync to finish',
      async () => {
        const { rows } = await h.state.pool.query<{ pending: number; done: number }>(
          `SELECT (SELECT count(*) FROM graphile_worker.jobs WHERE locked_at IS NOT NULL OR attempts < max_attempts)::int AS pending,
                  (SELECT count(DISTINCT task) FROM sync_runs WHERE task = ANY($1) AND status <> 'running')::int AS done`,
          [tasks],
        );
        return rows[0]!.pending === 0 && rows[0]!.done === tasks.length ? true : undefined;
      },
      3 * MINUTE,
    );
    const { rows } = await h.state.pool.query<{ task: string; startup: number; any: number }>(
      `SELECT task, count(*) FILTER (WHERE trigger = 'startup')::int AS startup, count(*)::int AS any
       FROM sync_runs WHERE task = ANY($1) GROUP BY task ORDER BY task`,
      [tasks],
    );
    // A cron tick may fall in the test and run a task again (as 'cron'); the first sync itself ran once.
    expect(rows).toHaveLength(tasks.length);
    for (const row of rows) expect(row.startup, row.task).toBeLessThanOrEqual(1);
  });
});

describe('a worker without a DigitalOcean token', PROCESS_TEST, () => {
  const h = harness();

  it('takes no DigitalOcean job: it stays queued for a worker that has the token', async () => {
    await h.markSynced();
    const listener = new EventListener(h.state.db.url);
    await listener.start();
    try {
      const tokenless = await h.startWorker({ DIGITALOCEAN_TOKEN: undefined, DIGITALOCEAN_API_URL: undefined });
      const { jobIds } = await enqueueTask(h.state.pool, 'droplet', 'manual');
      // A job queued after the droplet job: once the tokenless worker has run it, it has passed the droplet job by.
      const pinged = new Promise<string>((resolve) =>
        listener.on('event', (event) => {
          if (event.type === 'ping' && event.message?.startsWith('after-droplet')) resolve(event.message);
        }),
      );
      await h.state.pool.query(`SELECT graphile_worker.add_job('ping', '{"id":"after-droplet"}'::json)`);
      expect(await pinged).toBe(`after-droplet ${tokenless.child.pid}`);
      const job = await h.state.pool.query<{ attempts: number; locked_at: Date | null; last_error: string | null }>(
        `SELECT attempts, locked_at, last_error FROM graphile_worker.jobs WHERE id = $1`,
        [jobIds[0]],
      );
      expect(job.rows).toEqual([{ attempts: 0, locked_at: null, last_error: null }]);
      expect(await h.runs('droplet')).toEqual([]);

      const withToken = await h.startWorker();
      const run = await waitFor('the droplet job to run on the worker with the token', async () =>
        (await h.runs('droplet')).find((r) => r.status !== 'running'),
      );
      expect(run.status).toBe('succeeded');
      expect(ownerOf(run, [withToken])).toBe(withToken);
    } finally {
      await listener.stop();
    }
  });
});
