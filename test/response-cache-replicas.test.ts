// The response cache across replicas: two server processes on one database, each with its own in-memory cache
// and LISTEN connection. A mutation committed through one, and a sync run by `npm run sync` (a third process),
// are seen by the other's very next request once the change event has reached it. The delay from the commit to
// the first fresh answer is printed (the target is 1 s); the test itself only waits within a generous bound.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { TEST_JWT_SECRET, token } from './helpers/api.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { gql } from './helpers/graphql.js';
import { seedInventory, type InventoryFixture } from './helpers/inventory-fixture.js';
import { freePort, runSyncCli, spawnEntry, waitForHealthy, type ServiceProcess } from './helpers/process.js';
import { MINUTE, waitFor } from './helpers/runs.js';
import { TEST_TOKEN } from './helpers/sync.js';

const PROCESS_TEST = { timeout: 5 * MINUTE };

describe('response cache across two server processes', PROCESS_TEST, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let sim: Simulator;
  let fx: InventoryFixture;
  const servers: ServiceProcess[] = [];
  const urls: string[] = [];
  let admin: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    fx = await seedInventory(pool, 20);
    // Synced before, so neither server starts a first sync of its own (they run no worker anyway).
    await pool.query(
      `INSERT INTO sync_runs (account_id, task, trigger, status, finished_at) VALUES ('default', 'droplet', 'cron', 'succeeded', now())`,
    );
    sim = await startSimulator({ seed: 7, scale: { droplets: 30 } });
    env = {
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      DIGITALOCEAN_TOKEN: TEST_TOKEN,
      DIGITALOCEAN_API_URL: sim.url,
      DIGITALOCEAN_ACCOUNT_ID: 'default',
      DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
      LOG_LEVEL: 'warn',
      // Only a change event can clear an answer within this test.
      RESPONSE_CACHE_TTL_MS: '3600000',
    };
    for (let i = 0; i < 2; i += 1) {
      const port = await freePort();
      servers.push(spawnEntry('src/server.ts', { ...env, PORT: String(port), HOST: '127.0.0.1', RUN_WORKER: 'false' }));
      urls.push(`http://127.0.0.1:${port}/graphql`);
    }
    await Promise.all(urls.map((url) => waitForHealthy(Number(new URL(url).port))));
    admin = await token({ admin: true, sub: 'ops' });
  }, 2 * MINUTE);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await sim?.close();
    await pool?.end();
    await db?.drop();
  });

  const count = async (url: string, query: string): Promise<number> => {
    const response = await gql<{ resources: { totalCount: number } }>(url, query, { token: admin });
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.resources.totalCount;
  };

  /** Polls until the answer differs from `stale`; returns it and the milliseconds since `since`. */
  async function firstFresh(url: string, query: string, stale: number, since: number) {
    const value = await waitFor('a fresh answer', async () => {
      const now = await count(url, query);
      return now !== stale ? now : undefined;
    });
    return { value, delayMs: Date.now() - since };
  }

  it('a mutation committed through one server is answered fresh by the other', async () => {
    const [a, b] = urls as [string, string];
    const query = `{ resources(filter: { unattributed: true }) { totalCount } }`;
    const before = await count(b, query);
    expect(before).toBe(fx.unattributed.length);
    // b answers from its cache now: a write that publishes nothing (psql) does not show.
    await pool.query(`UPDATE cloud_resources SET tenant_id = 'acme' WHERE id = $1`, [fx.unattributed[0]]);
    expect(await count(b, query)).toBe(before);

    await count(a, query); // a warm server, so that the figure below is the event's path, not a cold start
    const sent = Date.now();
    const response = await gql(
      a,
      `mutation($id: ID!) { classifyResource(resourceId: $id, tenantId: "globex") { id tenantId } }`,
      { token: admin, variables: { id: String(fx.unattributed[1]) } },
    );
    expect(response.body.errors).toBeUndefined();
    // The mutation's response leaves after its commit and its event.
    const committed = Date.now();
    const fresh = await firstFresh(b, query, before, committed);
    // Both writes show: the mutation's, and the unpublished one the cleared cache had hidden.
    expect(fresh.value).toBe(before - 2);
    console.log(
      `mutation on server A (${committed - sent} ms) → first fresh answer on server B ${fresh.delayMs} ms after its response`,
    );
  });

  it('a sync run by another process is answered fresh by both servers once it finishes', async () => {
    const query = `{ resources(filter: { kind: ["droplet"] }) { totalCount } }`;
    const before = await Promise.all(urls.map((url) => count(url, query)));
    const droplets = Number(
      (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM cloud_resources WHERE kind = 'droplet'`)).rows[0]!.n,
    );
    expect(before).toEqual([droplets, droplets]);

    const result = await runSyncCli(['droplet'], env);
    expect(result.code, result.stderr).toBe(0);
    const finished = Date.now();
    for (const url of urls) {
      const fresh = await firstFresh(url, query, droplets, finished);
      const now = Number(
        (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM cloud_resources WHERE kind = 'droplet'`)).rows[0]!
          .n,
      );
      expect(fresh.value).toBe(now);
      console.log(`npm run sync exited → first fresh answer on ${url} after ${fresh.delayMs} ms`);
    }
  });
});
