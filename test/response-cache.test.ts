// The response cache in one process, over real HTTP with real JWTs: answers are kept per viewer scope and never
// cross scopes, mutations and subscriptions are never cached, a mutation's commit clears the cache, the switch
// and the TTL work, and while the LISTEN connection is down nothing is served from (or stored in) the cache.
// Whether an answer came from the cache is read from the SQL statements the request sent (none: a hit), and
// from the outcomes the cache reports (hit, miss, bypass).
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createPool, createPrisma } from '../src/db/client.js';
import { EventListener, publishEvent } from '../src/events.js';
import { viewerScope } from '../src/http/response-cache.js';
import { createHttpServer } from '../src/http/server.js';
import { silentLogger } from '../src/logger.js';
import { startApi, TEST_JWT_SECRET, token, type Api } from './helpers/api.js';
import { createTestDatabase } from './helpers/database.js';
import { gql, sseSubscribe, wsClient, wsSubscribe } from './helpers/graphql.js';
import { seedInventory, type InventoryFixture } from './helpers/inventory-fixture.js';
import { waitFor } from './helpers/runs.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

const RESOURCES = `{ resources(first: 100) { totalCount edges { node { id name tenantId } } } }`;

interface ResourcesData {
  resources: {
    totalCount: number;
    edges: Array<{ node: { id: string; name: string | null; tenantId: string | null } }>;
  };
}

describe('viewerScope', () => {
  it('is admin, one tenant, no tenant or anonymous, and no tenant id can spell another scope', () => {
    const viewer = { subject: 's', admin: false, tenantId: 'acme', expiresAt: null };
    expect(viewerScope({ ...viewer, admin: true })).toBe(viewerScope({ ...viewer, admin: true, tenantId: 'x' }));
    expect(viewerScope(viewer)).not.toBe(viewerScope({ ...viewer, tenantId: 'globex' }));
    expect(viewerScope({ ...viewer, tenantId: '["admin"]' })).not.toBe(viewerScope({ ...viewer, admin: true }));
    expect(viewerScope({ ...viewer, tenantId: null })).not.toBe(viewerScope(null));
    // The subject does not matter: two users of one tenant read the same rows.
    expect(viewerScope({ ...viewer, subject: 'other' })).toBe(viewerScope(viewer));
  });
});

describe('response cache (one process)', () => {
  let api: Api;
  let fx: InventoryFixture;
  let admin: string;
  let acme: string;
  let globex: string;

  /** The request's answer and how many SQL statements it sent (0: served from the cache). */
  async function ask<T = ResourcesData>(
    query: string,
    bearer: string | undefined,
    variables?: Record<string, unknown>,
  ): Promise<{ data: T; statements: number }> {
    api.resetStatements();
    const response = await gql<T>(api.url, query, {
      ...(bearer !== undefined && { token: bearer }),
      ...(variables !== undefined && { variables }),
    });
    expect(response.body.errors).toBeUndefined();
    return { data: response.body.data!, statements: api.statements.length };
  }

  /** Publishes a change and waits until it has cleared this process's cache (a primed probe query executes again). */
  async function clearCache(): Promise<void> {
    const probe = `{ syncRuns(first: 1) { totalCount } }`;
    await ask(probe, admin);
    await publishEvent(api.pool, { type: 'changed', task: 'mutation' });
    await waitFor('the cache to be cleared', async () => ((await ask(probe, admin)).statements > 0 ? true : undefined));
  }

  const tenantsOf = (data: ResourcesData): Set<string | null> =>
    new Set(data.resources.edges.map((edge) => edge.node.tenantId));

  beforeAll(async () => {
    api = await startApi();
    fx = await seedInventory(api.pool, 30);
    admin = await token({ admin: true, sub: 'ops' });
    acme = await token({ tenant: 'acme', sub: 'alice' });
    globex = await token({ tenant: 'globex', sub: 'gus' });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('answers a repeated query from the cache, and never one scope with another scope’s answer', async () => {
    // Whoever asks first primes the cache for the same query text; each scope still gets its own rows.
    for (const order of [
      ['admin', 'acme', 'globex'],
      ['globex', 'admin', 'acme'],
      ['acme', 'globex', 'admin'],
    ] as const) {
      await clearCache();
      const tokens = { admin, acme, globex };
      const first: Record<string, ResourcesData> = {};
      for (const who of order) {
        const answer = await ask(RESOURCES, tokens[who]);
        first[who] = answer.data;
      }
      for (const who of order) {
        const again = await ask(RESOURCES, tokens[who]);
        expect(again.statements, `${who} again`).toBe(0);
        expect(again.data).toEqual(first[who]);
      }
      expect(first.admin!.resources.totalCount).toBe(fx.total);
      expect(tenantsOf(first.acme!)).toEqual(new Set(['acme']));
      expect(first.acme!.resources.totalCount).toBe(fx.acmeResources.length);
      expect(tenantsOf(first.globex!)).toEqual(new Set(['globex']));
      expect(first.globex!.resources.totalCount).toBe(fx.globexResources.length);
    }
  });

  it('keys by variables and by scope, not by the token: two users of one tenant share, anonymous is apart', async () => {
    const query = `query($first: Int) { resources(first: $first) { totalCount edges { node { id } } } }`;
    const acme2 = await token({ tenant: 'acme', sub: 'another-acme-user' });
    const one = await ask(query, acme, { first: 1 });
    const two = await ask(query, acme, { first: 2 });
    expect(one.data.resources.edges).toHaveLength(1);
    expect(two.data.resources.edges).toHaveLength(2);
    expect((await ask(query, acme2, { first: 2 })).statements).toBe(0);
    const anonymous = await gql(api.url, query, { variables: { first: 2 } });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('never caches an error, nor answers a bad or expired token from the cache', async () => {
    const forbidden = `{ invoices(first: 1) { totalCount } }`;
    for (let i = 0; i < 2; i += 1) {
      api.resetStatements();
      const response = await gql(api.url, forbidden, { token: acme });
      expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    await ask(RESOURCES, admin);
    expect((await ask(RESOURCES, admin)).statements).toBe(0);
    const expired = await token({ admin: true, sub: 'ops', expiresIn: -120 });
    const refused = await gql(api.url, RESOURCES, { token: expired });
    expect(refused.status).toBe(401);
    expect(refused.body.data ?? null).toBeNull();
    const forged = await gql(api.url, RESOURCES, { token: `${admin.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
    expect(forged.body.data ?? null).toBeNull();
  });

  it('never caches a mutation, and a mutation’s commit is visible to the next query at once', async () => {
    const target = fx.unattributed[0]!;
    const query = `query($id: ID!) { resource(id: $id) { id tenantId attributionSource } }`;
    const before = await ask<{ resource: { tenantId: string | null } }>(query, admin, { id: String(target) });
    expect(before.data.resource.tenantId).toBeNull();
    expect((await ask(query, admin, { id: String(target) })).statements).toBe(0);

    const mutation = `mutation($id: ID!, $tenant: String) { classifyResource(resourceId: $id, tenantId: $tenant) { id tenantId } }`;
    for (const tenant of ['acme', 'globex', 'acme']) {
      const done = await ask<{ classifyResource: { tenantId: string } }>(mutation, admin, {
        id: String(target),
        tenant,
      });
      expect(done.statements).toBeGreaterThan(0);
      expect(done.data.classifyResource.tenantId).toBe(tenant);
      const after = await ask<{ resource: { tenantId: string } }>(query, admin, { id: String(target) });
      expect(after.statements).toBeGreaterThan(0);
      expect(after.data.resource.tenantId).toBe(tenant);
    }
    // An answer that names no entity the mutation returned (a count): cleared by the commit all the same.
    const unattributed = `{ resources(filter: { unattributed: true }) { totalCount } }`;
    const counted = await ask(unattributed, admin);
    expect((await ask(unattributed, admin)).statements).toBe(0);
    await ask(mutation, admin, { id: String(fx.unattributed[1]), tenant: 'globex' });
    expect((await ask(unattributed, admin)).data.resources.totalCount).toBe(counted.data.resources.totalCount - 1);
    // The same mutation text twice: executed twice (the second time it still writes).
    const again = await ask(mutation, admin, { id: String(target), tenant: 'acme' });
    expect(again.statements).toBeGreaterThan(0);
  });

  it('serves subscriptions over SSE and WebSocket live, with the same text twice', async () => {
    const subscription = `subscription { syncProgress(task: "volume") { type task message } }`;
    const ws = wsClient(api.url, admin);
    try {
      for (let round = 1; round <= 2; round += 1) {
        const sse = await sseSubscribe<{ data?: { syncProgress: { message: string } } }>(api.url, subscription, {
          token: admin,
        });
        const overWs = wsSubscribe<{ data?: { syncProgress: { message: string } } }>(ws, subscription);
        const message = `round-${round}`;
        // Published until both streams have it (a subscription is live a moment after it is opened).
        await waitFor('both subscriptions to receive the event', async () => {
          await publishEvent(api.pool, { type: 'progress', task: 'volume', message });
          const got = (s: { received: Array<{ data?: { syncProgress: { message: string } } }> }) =>
            s.received.some((p) => p.data?.syncProgress.message === message);
          return got(sse) && got(overWs) ? true : undefined;
        });
        await sse.close();
        await overWs.close();
      }
      // A query over the WebSocket is executed each time (the bridge bypasses the cache).
      for (let i = 0; i < 2; i += 1) {
        api.resetStatements();
        const query = wsSubscribe<{ data?: ResourcesData }>(ws, RESOURCES);
        const payload = await query.next();
        expect(payload.data?.resources.totalCount).toBeGreaterThan(0);
        expect(api.statements.length).toBeGreaterThan(0);
      }
    } finally {
      await ws.dispose();
    }
  });

  it('does not store an answer whose execution began before a change event', async () => {
    // The query reads resources at once but waits for sync_runs, locked here; meanwhile a resource changes and its
    // event clears the cache. The answer, computed partly before the change, must not be stored after the clear.
    const query = `{ resources(filter: { unattributed: true }) { totalCount } syncRuns(first: 1) { totalCount } }`;
    const lock = await api.pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE sync_runs IN ACCESS EXCLUSIVE MODE');
      const before = (
        await api.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM cloud_resources WHERE cloud_project_id IS NULL AND tenant_id IS NULL`,
        )
      ).rows[0]!.n;
      const pending = gql<{ resources: { totalCount: number } }>(api.url, query, { token: admin });
      await waitFor('the query to wait for the lock', async () =>
        (
          await api.pool.query(
            `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%sync_runs%' AND datname = current_database()`,
          )
        ).rowCount
          ? true
          : undefined,
      );
      const cleared = new Promise<void>((resolve) =>
        api.events.on('event', (event) => event.message === 'mid-flight' && resolve()),
      );
      await api.pool.query(
        `UPDATE cloud_resources SET tenant_id = 'acme' WHERE id = (SELECT id FROM cloud_resources WHERE cloud_project_id IS NULL AND tenant_id IS NULL ORDER BY id LIMIT 1)`,
      );
      await publishEvent(api.pool, { type: 'changed', task: 'mutation', message: 'mid-flight' });
      await cleared;
      await lock.query('COMMIT');
      expect((await pending).body.data!.resources.totalCount).toBe(before);
      const next = await ask<{ resources: { totalCount: number } }>(query, admin);
      expect(next.statements).toBeGreaterThan(0);
      expect(next.data.resources.totalCount).toBe(before - 1);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
  });

  it('is cleared by every event but ping: a run’s progress, finish or failure, a mutation elsewhere', async () => {
    for (const type of ['started', 'progress', 'finished', 'failed', 'changed'] as const) {
      await ask(RESOURCES, admin);
      expect((await ask(RESOURCES, admin)).statements).toBe(0);
      await publishEvent(api.pool, { type, task: 'droplet' });
      await waitFor(`a ${type} event to clear the cache`, async () =>
        (await ask(RESOURCES, admin)).statements > 0 ? true : undefined,
      );
    }
    // A ping changes nothing: once this process's listener has delivered it (the cache's handler runs first,
    // registered at startup), the answer is still served from the cache.
    await ask(RESOURCES, admin);
    const delivered = new Promise<void>((resolve) =>
      api.events.on('event', (event) => event.type === 'ping' && event.message === 'cache-test' && resolve()),
    );
    await publishEvent(api.pool, { type: 'ping', task: 'ping', message: 'cache-test' });
    await delivered;
    expect((await ask(RESOURCES, admin)).statements).toBe(0);
  });
});

describe('response cache switch and TTL', () => {
  it('RESPONSE_CACHE=false: every request executes', async () => {
    for (const env of [{ RESPONSE_CACHE: 'false' }, { RESPONSE_CACHE_TTL_MS: '0' }]) {
      const api = await startApi(env);
      try {
        await seedInventory(api.pool, 5);
        const admin = await token({ admin: true });
        for (let i = 0; i < 3; i += 1) {
          api.resetStatements();
          await gql(api.url, RESOURCES, { token: admin });
          expect(api.statements.length, JSON.stringify(env)).toBeGreaterThan(0);
        }
      } finally {
        await api.close();
      }
    }
  });

  it('RESPONSE_CACHE_TTL_MS bounds how long an answer lives without any event', async () => {
    const api = await startApi({ RESPONSE_CACHE_TTL_MS: '300' });
    try {
      const fx = await seedInventory(api.pool, 5);
      const admin = await token({ admin: true });
      const count = async () =>
        (await gql<ResourcesData>(api.url, RESOURCES, { token: admin })).body.data!.resources.totalCount;
      expect(await count()).toBe(fx.total);
      // A write that publishes nothing (an operator's psql): served stale, until the TTL passes.
      await api.pool.query(`DELETE FROM cloud_resources WHERE id = $1`, [fx.unattributed[0]]);
      api.resetStatements();
      expect(await count()).toBe(fx.total);
      expect(api.statements).toHaveLength(0);
      await waitFor('the TTL to pass', async () => ((await count()) === fx.total - 1 ? true : undefined), 10_000);
    } finally {
      await api.close();
    }
  });
});

describe('response cache while the LISTEN connection is down', () => {
  it('serves nothing from the cache while disconnected, and clears it when the connection returns', async () => {
    const db = await createTestDatabase();
    const target = new URL(db.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      RUN_WORKER: 'false',
    });
    const pool = createPool(db.url);
    const statements: string[] = [];
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        statements.push('q');
        return query(...args);
      };
    });
    const prisma = createPrisma(pool);
    // Only the LISTEN connection goes through the proxy: cutting it leaves the API's own pool working.
    const events = new EventListener(proxy.rewrite(db.url));
    await events.start();
    const outcomes: string[] = [];
    const service = createHttpServer({
      config,
      pool,
      prisma,
      events,
      onCacheOutcome: (outcome) => outcomes.push(outcome),
      jwtSecret: new TextEncoder().encode(TEST_JWT_SECRET),
      workerRunning: () => false,
      logger: silentLogger,
    });
    await new Promise<void>((resolve) => service.server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}/graphql`;
    try {
      const fx = await seedInventory(pool, 5);
      const admin = await token({ admin: true });
      const ask = async () => {
        statements.splice(0);
        const count = (await gql<ResourcesData>(url, RESOURCES, { token: admin })).body.data!.resources.totalCount;
        return { count, statements: statements.length };
      };
      await ask();
      expect((await ask()).statements).toBe(0);
      expect(outcomes.splice(0)).toEqual(['miss', 'hit']);

      proxy.cut();
      await waitFor(
        'the listener to notice the drop',
        () => Promise.resolve(events.connected ? undefined : true),
        30_000,
      );
      // Down: a write whose event this process cannot receive is visible at once, and nothing is stored meanwhile.
      await pool.query(`DELETE FROM cloud_resources WHERE id = $1`, [fx.unattributed[0]]);
      for (let i = 0; i < 3; i += 1) {
        const answer = await ask();
        expect(answer.statements).toBeGreaterThan(0);
        expect(answer.count).toBe(fx.total - 1);
      }
      expect(outcomes.splice(0)).toEqual(['bypass', 'bypass', 'bypass']);

      proxy.restore();
      await waitFor('the listener to reconnect', () => Promise.resolve(events.connected ? true : undefined), 30_000);
      expect((await ask()).count).toBe(fx.total - 1);
      expect((await ask()).statements).toBe(0);
      expect(outcomes.splice(0)).toEqual(['miss', 'hit']);
    } finally {
      await service.close(100);
      await events.stop();
      await prisma.$disconnect();
      await pool.end();
      await proxy.close();
      await db.drop();
    }
  });
});
