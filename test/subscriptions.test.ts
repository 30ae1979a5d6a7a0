// Live sync progress across processes: the API server (no worker of its own) and a worker process share only
// the database; a sync the worker runs reaches SSE and WebSocket subscribers of the server through Postgres
// LISTEN/NOTIFY, and keeps reaching them after the server's LISTEN connection is killed.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { publishEvent } from '../src/events.js';
import { TEST_JWT_SECRET, token } from './helpers/api.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { gql, sseSubscribe, wsClient, wsSubscribe, type Subscription } from './helpers/graphql.js';
import { freePort, spawnEntry, waitForHealthy, type ServiceProcess } from './helpers/process.js';

interface ProgressPayload {
  data?: {
    syncProgress: {
      type: string;
      task: string;
      runId: number | null;
      done: number | null;
      total: number | null;
      counts: { listed: number | null } | null;
      message: string | null;
    };
  };
  errors?: unknown[];
}

type ProgressEvent = NonNullable<ProgressPayload['data']>['syncProgress'];

/** Marks the events this test publishes only to learn that a subscription is live; the assertions skip them. */
const PROBE = `probe-${randomBytes(4).toString('hex')}`;
const isProbe = (payload: ProgressPayload): boolean => payload.data?.syncProgress.message?.startsWith(PROBE) ?? false;
let probes = 0;

const SUBSCRIPTION = `subscription($task: String) { syncProgress(task: $task) { type task runId done total counts { listed created } message } }`;

describe('sync progress across processes', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let server: ServiceProcess;
  let worker: ServiceProcess;
  let url: string;
  let admin: string;
  let watcher: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A mirror that has been synced before, so the worker starts no sync of its own and the events are the test's.
    const seed = new pg.Client({ connectionString: db.url });
    await seed.connect();
    await seed.query(`INSERT INTO cloud_accounts (id, updated_at) VALUES ('default', now())`);
    await seed.query(
      `INSERT INTO sync_runs (account_id, task, trigger, status, finished_at) VALUES ('default', 'droplet', 'cron', 'succeeded', now())`,
    );
    await seed.end();
    sim = await startSimulator({ seed: 5, scale: { droplets: 25 } });
    const port = await freePort();
    const env = {
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      DIGITALOCEAN_TOKEN: 'dop_v1_subscriptions_test',
      DIGITALOCEAN_API_URL: sim.url,
      DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
    };
    server = spawnEntry('src/server.ts', { ...env, PORT: String(port), HOST: '127.0.0.1', RUN_WORKER: 'false' });
    worker = spawnEntry('src/worker.ts', env);
    await waitForHealthy(port);
    await worker.waitForOutput(/looking for jobs/i);
    url = `http://127.0.0.1:${port}/graphql`;
    admin = await token({ admin: true, sub: 'ops' });
    watcher = new pg.Client({ connectionString: db.url });
    await watcher.connect();
  });

  afterAll(async () => {
    await watcher?.end();
    await server?.stop();
    await worker?.stop();
    await sim?.close();
    await db?.drop();
  });

  const listenerPids = async (): Promise<number[]> =>
    (
      await watcher.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'cloud-ops-events' AND datname = current_database()`,
      )
    ).rows.map((r) => r.pid);

  async function nextOfType(subscription: Subscription<ProgressPayload>, type: string): Promise<ProgressEvent> {
    for (;;) {
      const payload = await subscription.next(30_000);
      expect(payload.errors).toBeUndefined();
      if (!isProbe(payload) && payload.data!.syncProgress.type === type) return payload.data!.syncProgress;
    }
  }

  /**
   * Resolves once every subscription has received a new probe event, published through Postgres as a job publishes:
   * each is then registered with the server's listener, the listener is LISTENing, and (events arriving in order)
   * everything published before has reached it.
   */
  async function untilLive(
    subscriptions: Array<{ subscription: Subscription<ProgressPayload>; task: string }>,
  ): Promise<void> {
    const message = `${PROBE}-${(probes += 1)}`;
    const hasProbe = (subscription: Subscription<ProgressPayload>): boolean =>
      subscription.received.some((p) => p.data?.syncProgress.message === message);
    await vi.waitFor(
      async () => {
        for (const { subscription, task } of subscriptions) {
          if (!hasProbe(subscription)) await publishEvent(watcher, { type: 'progress', task, message });
        }
        for (const { subscription } of subscriptions) expect(hasProbe(subscription)).toBe(true);
      },
      { timeout: 30_000, interval: 200 },
    );
  }

  const withoutProbes = (subscription: Subscription<ProgressPayload>): ProgressPayload[] =>
    subscription.received.filter((payload) => !isProbe(payload));

  async function triggerDropletSync(): Promise<void> {
    const { body } = await gql<{ triggerSync: { jobIds: string[] } }>(
      url,
      `mutation { triggerSync(task: "droplet") { jobIds } }`,
      { token: admin },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.triggerSync.jobIds).toHaveLength(1);
  }

  it('delivers a worker process’s sync events to SSE and WebSocket subscribers of the server process', async () => {
    const sse = await sseSubscribe<ProgressPayload>(url, SUBSCRIPTION, {
      token: admin,
      variables: { task: 'droplet' },
    });
    expect(sse.status).toBe(200);
    const client = wsClient(url, admin);
    const ws = wsSubscribe<ProgressPayload>(client, SUBSCRIPTION, { task: 'droplet' });
    // Subscribers that only want another task see none of it.
    const others = await sseSubscribe<ProgressPayload>(url, SUBSCRIPTION, {
      token: admin,
      variables: { task: 'volume' },
    });
    await untilLive([
      { subscription: sse, task: 'droplet' },
      { subscription: ws, task: 'droplet' },
      { subscription: others, task: 'volume' },
    ]);

    await triggerDropletSync();
    for (const subscription of [sse, ws]) {
      const started = await nextOfType(subscription, 'STARTED');
      expect(started.task).toBe('droplet');
      const progress = await nextOfType(subscription, 'PROGRESS');
      expect(progress.done).toBeGreaterThan(0);
      const finished = await nextOfType(subscription, 'FINISHED');
      expect(finished.counts?.listed).toBe(sim.account.list('droplet').length);
      expect(finished.runId).toBe(started.runId);
    }
    await untilLive([{ subscription: others, task: 'volume' }]); // so a droplet event sent to it would be here by now
    expect(withoutProbes(others)).toEqual([]);

    // The run was recorded by the worker, not the server (which runs no jobs).
    const run = await watcher.query(`SELECT task, status, trigger FROM sync_runs ORDER BY id DESC LIMIT 1`);
    expect(run.rows[0]).toEqual({ task: 'droplet', status: 'succeeded', trigger: 'manual' });
    expect(server.output()).not.toMatch(/"task":"sync:droplet"/);

    await sse.close();
    await others.close();
    await ws.close();
    await client.dispose();
  });

  it('keeps delivering after the server’s LISTEN connection is killed', async () => {
    const sse = await sseSubscribe<ProgressPayload>(url, SUBSCRIPTION, { token: admin });
    const client = wsClient(url, admin);
    const ws = wsSubscribe<ProgressPayload>(client, SUBSCRIPTION);
    await untilLive([
      { subscription: sse, task: 'droplet' },
      { subscription: ws, task: 'droplet' },
    ]);

    const [before] = await listenerPids();
    expect(before).toBeDefined();
    await watcher.query(`SELECT pg_terminate_backend($1)`, [before]);
    // The listener reconnects by itself (a new backend, same application_name).
    await vi.waitFor(
      async () => {
        const after = await listenerPids();
        expect(after).toHaveLength(1);
        expect(after[0]).not.toBe(before);
      },
      { timeout: 15_000, interval: 100 },
    );
    // Events published while the listener was away are lost (NOTIFY keeps nothing): start once it listens again.
    await untilLive([
      { subscription: sse, task: 'droplet' },
      { subscription: ws, task: 'droplet' },
    ]);

    // A worker-run sync reaches the subscriptions that were open across the drop...
    await triggerDropletSync();
    for (const subscription of [sse, ws]) expect((await nextOfType(subscription, 'FINISHED')).task).toBe('droplet');

    // ...and so does an event published by yet another process (this one), with a failure message.
    const publisher = new pg.Client({ connectionString: db.url });
    await publisher.connect();
    await publishEvent(publisher, { type: 'failed', task: 'volume', message: 'DigitalOcean answered 503 three times' });
    await publisher.end();
    for (const subscription of [sse, ws]) {
      expect(await nextOfType(subscription, 'FAILED')).toMatchObject({
        task: 'volume',
        message: 'DigitalOcean answered 503 three times',
      });
    }
    await sse.close();
    await ws.close();
    await client.dispose();
  });

  it('ends open subscriptions when the server shuts down', async () => {
    const sse = await sseSubscribe<ProgressPayload>(url, SUBSCRIPTION, { token: admin });
    const client = wsClient(url, admin);
    const ws = wsSubscribe<ProgressPayload>(client, SUBSCRIPTION);
    await untilLive([
      { subscription: sse, task: 'droplet' },
      { subscription: ws, task: 'droplet' },
    ]);
    const started = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(['complete', 'closed']).toContain((await sse.ended).kind);
    expect((await client.closeEvent).code).toBe(1001);
    await ws.close();
    await client.dispose();
  });
});
