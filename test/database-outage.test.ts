// A database outage while a sync runs, played through a TCP proxy between the service and PostgreSQL: neither the
// server (API + worker) nor a worker-only process exits, readiness says 503 during the outage and 200 after, the
// interrupted run ends as failed, the next sync succeeds and subscriptions receive events again.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { publishEvent } from '../src/events.js';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { TEST_JWT_SECRET, token } from './helpers/api.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { gql, sseSubscribe, type Subscription } from './helpers/graphql.js';
import { freePort, spawnEntry, type ServiceProcess } from './helpers/process.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

interface ProgressPayload {
  data?: { syncProgress: { type: string; task: string; runId: number | null; message: string | null } };
  errors?: unknown[];
}

const SUBSCRIPTION = `subscription { syncProgress { type task runId message } }`;
/** How long PostgreSQL is unreachable; longer than a DigitalOcean answer (LATENCY_MS), so the job meets the outage. */
const OUTAGE_MS = 8000;
const LATENCY_MS = 3000;

const status = (url: string): Promise<number> =>
  fetch(url).then(
    (response) => response.status,
    () => 0,
  );

describe('database outage', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let proxy: TcpProxy;
  let server: ServiceProcess;
  let worker: ServiceProcess;
  let base: string;
  let workerBase: string;
  let admin: string;
  let watcher: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    watcher = new pg.Client({ connectionString: db.url });
    await watcher.connect();
    // A mirror synced before, so no first sync of its own runs: the only runs are the test's.
    await watcher.query(`INSERT INTO cloud_accounts (id, updated_at) VALUES ('default', now())`);
    await watcher.query(
      `INSERT INTO sync_runs (account_id, task, trigger, status, finished_at) VALUES ('default', 'droplet', 'cron', 'succeeded', now())`,
    );
    sim = await startSimulator({ seed: 9, scale: { droplets: 25 } });
    proxy = await startTcpProxy({ host: new URL(db.url).hostname, port: Number(new URL(db.url).port || 5432) });
    const env = {
      DATABASE_URL: proxy.rewrite(db.url),
      JWT_SECRET: TEST_JWT_SECRET,
      DIGITALOCEAN_TOKEN: 'dop_v1_outage_test',
      DIGITALOCEAN_API_URL: sim.url,
      DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
      HOST: '127.0.0.1',
    };
    const port = await freePort();
    server = spawnEntry('src/server.ts', { ...env, PORT: String(port) });
    worker = spawnEntry('src/worker.ts', { ...env, WORKER_HEALTH_PORT: '0' });
    base = `http://127.0.0.1:${port}`;
    await worker.waitForOutput(/worker health listening/);
    const healthUrl = /"url":"http:\/\/localhost:(\d+)\/api\/health\/ready"/.exec(worker.output());
    workerBase = `http://127.0.0.1:${healthUrl![1]}`;
    admin = await token({ admin: true, sub: 'ops' });
    await vi.waitFor(async () => expect(await status(`${base}/api/health/ready`)).toBe(200), { timeout: 60_000 });
  });

  afterAll(async () => {
    await server?.stop();
    await worker?.stop();
    await watcher?.end();
    await proxy?.close();
    await sim?.close();
    await db?.drop();
  });

  const runs = async (): Promise<Array<{ id: number; status: string; error: string | null; finished: boolean }>> =>
    (
      await watcher.query<{ id: number; status: string; error: string | null; finished: boolean }>(
        `SELECT id, status, error, finished_at IS NOT NULL AS finished FROM sync_runs WHERE trigger = 'manual' ORDER BY id`,
      )
    ).rows;

  async function triggerDropletSync(): Promise<void> {
    const { body } = await gql<{ triggerSync: { jobIds: string[] } }>(
      `${base}/graphql`,
      `mutation { triggerSync(task: "droplet") { jobIds } }`,
      { token: admin },
    );
    expect(body.errors).toBeUndefined();
  }

  it('serves liveness and readiness on the server and on the worker’s health port', async () => {
    for (const url of [base, workerBase]) {
      expect(await status(`${url}/api/health/live`)).toBe(200);
      const ready = await fetch(`${url}/api/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        database: { reachable: true },
        worker: { running: true },
      });
    }
    expect(await (await fetch(`${base}/api/health`)).json()).toMatchObject({ events: { connected: true } });
  });

  it('survives an outage during a sync: 503 meanwhile, the run ends failed, the next sync and events work', async () => {
    const sse: Subscription<ProgressPayload> = await sseSubscribe<ProgressPayload>(`${base}/graphql`, SUBSCRIPTION, {
      token: admin,
    });
    sim.setFaults({ latency: { ms: LATENCY_MS, path: '/v2/droplets' } });
    await triggerDropletSync();
    await vi.waitFor(async () => expect((await runs()).map((r) => r.status)).toEqual(['running']), {
      timeout: 30_000,
      interval: 50,
    });

    proxy.cut();
    const outageEnds = Date.now() + OUTAGE_MS;
    // During the outage: alive, not ready (on the legacy route too), on both processes.
    for (const url of [base, workerBase]) {
      expect(await status(`${url}/api/health/live`)).toBe(200);
      expect(await status(`${url}/api/health/ready`)).toBe(503);
    }
    expect(await status(`${base}/api/health`)).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageEnds - Date.now())));
    expect(server.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    proxy.restore();

    for (const url of [base, workerBase]) {
      await vi.waitFor(async () => expect(await status(`${url}/api/health/ready`)).toBe(200), {
        timeout: 60_000,
        interval: 200,
      });
    }
    // The interrupted run is closed as failed once the database is back, and nothing stays locked.
    await vi.waitFor(
      async () => expect(await runs()).toEqual([expect.objectContaining({ status: 'failed', finished: true })]),
      { timeout: 30_000, interval: 200 },
    );
    const locked = await watcher.query(
      `SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE locked_by IS NOT NULL`,
    );
    expect(locked.rows[0]).toEqual({ n: 0 });

    // The server's LISTEN connection is back: a NOTIFY reaches the subscription opened before the outage.
    const probe = `probe-${randomBytes(4).toString('hex')}`;
    await vi.waitFor(
      async () => {
        await publishEvent(watcher, { type: 'progress', task: 'droplet', message: probe });
        expect(sse.received.some((p) => p.data?.syncProgress.message === probe)).toBe(true);
      },
      { timeout: 30_000, interval: 500 },
    );

    // The next sync of the same task runs (its queue is free) and succeeds, with its events.
    sim.setFaults({});
    await triggerDropletSync();
    await vi.waitFor(async () => expect((await runs()).map((r) => r.status)).toEqual(['failed', 'succeeded']), {
      timeout: 60_000,
      interval: 200,
    });
    const [, next] = await runs();
    await vi.waitFor(
      () =>
        expect(
          sse.received.some((p) => p.data?.syncProgress.type === 'FINISHED' && p.data.syncProgress.runId === next!.id),
        ).toBe(true),
      { timeout: 30_000 },
    );
    await sse.close();

    expect(server.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
  });
});
