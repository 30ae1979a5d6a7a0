// Production defaults are closed, and client mistakes are the client's: a real server process in
// NODE_ENV=production (no introspection, no GraphiQL, no cross-origin callers, security headers, bounded
// tokens, roles only as an array, failed logins summarised, WebSockets that do not authenticate closed) and
// the in-process API for what holds in every environment (BAD_USER_INPUT for NUL, crafted cursors, year 0).
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, TEST_JWT_SECRET, token, type Api } from './helpers/api.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { gql, sseSubscribe, wsClient, wsSubscribe, type Subscription } from './helpers/graphql.js';
import { freePort, spawnEntry, waitForHealthy, type ServiceProcess } from './helpers/process.js';

const SUBSCRIPTION = `subscription { syncProgress { type task } }`;

describe('a production server process', () => {
  let db: TestDatabase;
  let service: ServiceProcess;
  let base: string;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const port = await freePort();
    service = spawnEntry('src/server.ts', {
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      RUN_WORKER: 'false',
      PORT: String(port),
      HOST: '127.0.0.1',
      CORS_ORIGINS: 'https://console.example.com',
      AUTH_FAILURE_LOG_INTERVAL_SECONDS: '1',
      GRAPHQL_WS_INIT_TIMEOUT_MS: '500',
    });
    await waitForHealthy(port);
    base = `http://127.0.0.1:${port}`;
    url = `${base}/graphql`;
  });

  afterAll(async () => {
    await service?.stop('SIGTERM');
    await db?.drop();
  });

  it('serves neither introspection nor GraphiQL unless enabled', async () => {
    const { body } = await gql(url, '{ __schema { queryType { name } } }', { token: await token({ admin: true }) });
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });

  it('answers CORS only for the configured origins, never with credentials', async () => {
    const preflight = (origin: string) =>
      fetch(url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('access-control-allow-credentials')).toBeNull();
    const console = await preflight('https://console.example.com');
    expect(console.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
    expect(console.headers.get('access-control-allow-credentials')).toBeNull();
    expect(console.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const post = await fetch(url, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ serviceVersion }' }),
    });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends security headers on GraphQL, REST and health answers; HSTS only when configured', async () => {
    for (const response of [
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ serviceVersion }"}',
      }),
      await fetch(`${base}/api/v1/inventory`),
      await fetch(`${base}/api/health`),
      await fetch(`${base}/nowhere`),
    ]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
      expect(response.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('refuses tokens living longer than JWT_MAX_LIFETIME_SECONDS, or issued in the future', async () => {
    const refused: Array<[string, string, RegExp]> = [
      ['100 years ahead', await token({ admin: true, expiresIn: 100 * 365 * 86400 }), /lifetime exceeds/],
      [
        'issued long ago, long-lived',
        await token({ admin: true, issuedAt: -2 * 86400, expiresIn: 600 }),
        /lifetime exceeds/,
      ],
      ['issued in the future', await token({ admin: true, issuedAt: 3600, expiresIn: 7200 }), /issued in the future/],
    ];
    for (const [name, bearer, reason] of refused) {
      const { status, body } = await gql(url, '{ serviceVersion }', { token: bearer });
      expect(status, name).toBe(401);
      expect(body.errors?.[0]?.message, name).toMatch(reason);
    }
    const fine = await gql(url, '{ viewer { admin } }', { token: await token({ admin: true, expiresIn: 12 * 3600 }) });
    expect(fine.body).toEqual({ data: { viewer: { admin: true } } });
  });

  it('grants admin only from an array roles claim', async () => {
    for (const claims of [{ roles: 'viewer,platform_admin' }, { roles: [], role: 'platform_admin' }]) {
      const { body } = await gql(url, '{ viewer { admin } }', { token: await token({ claims, tenant: 't1' }) });
      expect(body.data, JSON.stringify(claims)).toEqual({ viewer: { admin: false } });
    }
  });

  it('answers client mistakes with BAD_USER_INPUT / 400 and logs no error or stack for them', async () => {
    const admin = await token({ admin: true });
    const before = service.output().length;
    for (const query of [
      '{ resources(filter: { search: "a\\u0000b" }) { totalCount } }',
      '{ resources(filter: { tag: "a\\u0000b" }) { totalCount } }',
      '{ resources(filter: { kind: ["a\\u0000b"] }) { totalCount } }',
      `{ resources(after: "${Buffer.from('GPC:N:abc').toString('base64')}") { totalCount } }`,
      `{ resources(after: "${Buffer.from('GPC:N:99999999999').toString('base64')}") { totalCount } }`,
      '{ balanceHistory(since: "0000-01-01T00:00:00Z") { totalCount } }',
    ]) {
      const { body } = await gql(url, query, { token: admin });
      expect(body.errors?.[0]?.extensions?.code, query).toBe('BAD_USER_INPUT');
    }
    const cursor = await gql(url, 'query($c: String) { syncRuns(after: $c) { totalCount } }', {
      token: admin,
      variables: { c: Buffer.from('GPC:S:x').toString('base64') },
    });
    expect(cursor.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    for (const parameter of ['search', 'tag', 'kind']) {
      const response = await fetch(`${base}/api/v1/inventory?${parameter}=a%00b`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(response.status, parameter).toBe(400);
      expect(((await response.json()) as { message: string }).message).toMatch(/control characters/);
    }
    const logged = service.output().slice(before);
    expect(logged).not.toMatch(/"level":50|stack|INTERNAL/);
  });

  it('counts failed authentications and logs them as one summary line per interval, without the tokens', async () => {
    const forged = await token({ admin: true, secret: 'another-secret-that-is-long-enough-0123456789' });
    // Earlier tests' failures have other reasons; these two reasons are this test's alone.
    const SIGNATURE = 'Invalid token: signature verification failed';
    const MALFORMED = 'Malformed Authorization header: expected "Bearer <token>"';
    const summaries = () =>
      service
        .output()
        .split('\n')
        .filter((line) => line.includes('failed authentication'))
        .map((line) => JSON.parse(line) as { failures: number; reasons: Record<string, number> })
        .filter((line) => SIGNATURE in line.reasons || MALFORMED in line.reasons);
    const counted = (reason: string) => summaries().reduce((sum, line) => sum + (line.reasons[reason] ?? 0), 0);
    for (let i = 0; i < 40; i += 1) await gql(url, '{ serviceVersion }', { token: forged });
    await gql(url, '{ serviceVersion }', { headers: { authorization: 'Token nope' } });
    const deadline = Date.now() + 10_000;
    while (counted(SIGNATURE) + counted(MALFORMED) < 41 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(counted(SIGNATURE)).toBe(40);
    expect(counted(MALFORMED)).toBe(1);
    // 41 failures within a few hundred milliseconds: one line, at most two if they straddle an interval.
    expect(summaries().length).toBeLessThanOrEqual(2);
    expect(service.output()).not.toContain(forged.split('.')[2]!);
  });

  it('closes a WebSocket that sends no connection_init, and one that authenticates as nobody', async () => {
    const silent = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const silentClose = await new Promise<number>((resolve) => silent.on('close', (code) => resolve(code)));
    expect(silentClose).toBe(4408);

    const anonymous = wsClient(url);
    const ws = wsSubscribe(anonymous, '{ serviceVersion }');
    expect((await anonymous.closeEvent).code).toBe(4401);
    await ws.close();
  });
});

describe('subscriptions per viewer', () => {
  let api: Api;

  beforeAll(async () => {
    api = await startApi({ GRAPHQL_MAX_SUBSCRIPTIONS_PER_VIEWER: '3' });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('caps live subscriptions per token subject over SSE and WebSocket together, with a clear error', async () => {
    const alice = await token({ tenant: 't1', sub: 'alice' });
    const open: Array<Subscription & { status?: number }> = [];
    open.push(await sseSubscribe(api.url, SUBSCRIPTION, { token: alice }));
    open.push(await sseSubscribe(api.url, SUBSCRIPTION, { token: alice }));
    const client = wsClient(api.url, alice);
    open.push(wsSubscribe(client, SUBSCRIPTION));
    const deadline = Date.now() + 5000;
    while (api.service.subscriptions() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(api.service.subscriptions()).toBe(3);

    const overSse = await sseSubscribe<{ errors?: Array<{ message: string; extensions: { code: string } }> }>(
      api.url,
      SUBSCRIPTION,
      { token: alice },
    );
    const refusal = await overSse.next();
    expect(refusal.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/Too many subscriptions: at most 3/) as unknown,
      extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
    });
    const overWs = wsSubscribe<{ errors?: Array<{ extensions: { code: string } }> }>(client, SUBSCRIPTION);
    expect((await overWs.next()).errors?.[0]?.extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');

    // another viewer is not affected, and a subscription that ends frees its place
    const bob = await sseSubscribe(api.url, SUBSCRIPTION, { token: await token({ tenant: 't1', sub: 'bob' }) });
    while (api.service.subscriptions() < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(api.service.subscriptions()).toBe(4);
    await open.shift()!.close();
    while (api.service.subscriptions() > 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const again = await sseSubscribe(api.url, SUBSCRIPTION, { token: alice });
    while (api.service.subscriptions() < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(api.service.subscriptions()).toBe(4);
    for (const subscription of [...open, bob, again, overSse]) await subscription.close();
    await client.dispose();
  });
});
