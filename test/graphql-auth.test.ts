// Who may do what: every kind of bad token is refused (queries, mutations, SSE and WebSocket subscriptions),
// and a valid non-admin never sees another tenant's rows, raw attrs or admin-only fields.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthenticator, verifyToken } from '../src/auth.js';
import { loadConfig } from '../src/config.js';
import { publishEvent } from '../src/events.js';
import { startApi, TEST_JWT_SECRET, token, unsignedToken, type Api } from './helpers/api.js';
import { gql, sseSubscribe, wsClient, wsSubscribe, type GraphQLResponse } from './helpers/graphql.js';
import { seedInventory, type InventoryFixture } from './helpers/inventory-fixture.js';
import { anyString, stringContaining } from './helpers/matchers.js';

const QUERY = `{ resources(first: 5) { totalCount edges { node { id tenantId } } } }`;
const MUTATION = `mutation { setProjectTenant(projectId: "1", tenantId: "x") { resourcesUpdated } }`;
const SUBSCRIPTION = `subscription { syncProgress { type task done total } }`;

/** Tokens that must never open the API, with what the error says. */
async function badTokens(): Promise<Array<[string, string, RegExp]>> {
  const valid = await token({ admin: true, tenant: 'acme' });
  const [header, payload, signature] = valid.split('.') as [string, string, string];
  const tampered = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  tampered.tenant_id = 'globex';
  const now = Math.floor(Date.now() / 1000);
  return [
    ['malformed', 'not-a-jwt', /malformed token/],
    ['expired', await token({ admin: true, expiresIn: -120 }), /token expired/],
    ['not yet valid', await token({ admin: true, notBefore: 600 }), /not yet valid/],
    [
      'alg none',
      unsignedToken({ sub: 'root', roles: ['platform_admin'], iss: 'arcadia', exp: now + 600 }),
      /signing algorithm not allowed|malformed/,
    ],
    ['HS256 against HS512', await token({ admin: true, alg: 'HS256' }), /signing algorithm not allowed/],
    [
      'wrong secret',
      await token({ admin: true, secret: 'another-secret-that-is-long-enough-0123456789' }),
      /signature verification failed/,
    ],
    ['wrong issuer', await token({ admin: true, issuer: 'someone-else' }), /unexpected issuer/],
    [
      'tampered payload',
      `${header}.${Buffer.from(JSON.stringify(tampered)).toString('base64url')}.${signature}`,
      /signature verification failed/,
    ],
    ['refresh token', await token({ admin: true, typ: 'refresh' }), /token type "refresh" is not accepted/],
  ];
}

describe('authentication and tenant isolation', () => {
  let api: Api;
  let fx: InventoryFixture;
  let admin: string;
  let acme: string;
  let globex: string;
  let bad: Array<[string, string, RegExp]>;

  beforeAll(async () => {
    api = await startApi();
    fx = await seedInventory(api.pool, 60);
    admin = await token({ admin: true, sub: 'ops' });
    acme = await token({ tenant: 'acme', sub: 'alice' });
    globex = await token({ tenant: 'globex', sub: 'bob' });
    bad = await badTokens();
  });

  afterAll(async () => {
    await api?.close();
  });

  describe('without a token', () => {
    it('serves the public fields only', async () => {
      expect((await gql(api.url, '{ serviceVersion }')).body).toEqual({ data: { serviceVersion: anyString() } });
      for (const operation of [QUERY, MUTATION, '{ viewer { subject } }', '{ syncStatus { task } }']) {
        const { status, body } = await gql(api.url, operation);
        expect(status).toBe(401);
        expect(body.data ?? null).toBeNull();
        expect(body.errors?.[0]).toMatchObject({
          message: stringContaining('Authentication required'),
          extensions: { code: 'UNAUTHENTICATED' },
        });
      }
    });

    it('refuses subscriptions over SSE and WebSocket', async () => {
      const sse = await sseSubscribe<{ errors?: Array<{ extensions: { code: string } }> }>(api.url, SUBSCRIPTION);
      expect((await sse.next()).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      expect((await sse.ended).kind).toBe('complete');

      // A WebSocket without a token is not held open at all: closed at connection_init with 4401 and the reason.
      const client = wsClient(api.url);
      const ws = wsSubscribe(client, SUBSCRIPTION);
      const closed = await client.closeEvent;
      expect({ code: closed.code, reason: closed.reason }).toEqual({
        code: 4401,
        reason: stringContaining('authentication required'),
      });
      await ws.close();
      await client.dispose();
    });

    it('keeps /api/health and the GraphiQL page open', async () => {
      const base = api.url.replace('/graphql', '');
      expect((await fetch(`${base}/api/health`)).status).toBe(200);
      const page = await fetch(api.url, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/graphiql/i);
    });
  });

  describe('with a bad token', () => {
    it('refuses queries, mutations and public fields alike with 401 UNAUTHENTICATED', async () => {
      for (const [name, bearer, reason] of bad) {
        for (const operation of [QUERY, MUTATION, '{ serviceVersion }']) {
          const { status, body } = await gql(api.url, operation, { token: bearer });
          expect(status, name).toBe(401);
          expect(body.data ?? null, name).toBeNull();
          expect(body.errors?.[0]?.extensions?.code, name).toBe('UNAUTHENTICATED');
          expect(body.errors?.[0]?.message, name).toMatch(reason);
        }
      }
    });

    it('refuses SSE subscriptions', async () => {
      for (const [name, bearer] of bad) {
        const response = await fetch(api.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            authorization: `Bearer ${bearer}`,
          },
          body: JSON.stringify({ query: SUBSCRIPTION }),
        });
        const text = await response.text();
        expect(text, name).toContain('UNAUTHENTICATED');
        expect(text, name).not.toContain('"syncProgress":{');
      }
    });

    it('closes the WebSocket with 4401 and the reason', async () => {
      for (const [name, bearer, reason] of bad) {
        const client = wsClient(api.url, bearer);
        const ws = wsSubscribe(client, SUBSCRIPTION);
        const closed = await client.closeEvent;
        expect(closed.code, name).toBe(4401);
        expect(closed.reason, name).toMatch(reason);
        expect((await ws.ended).kind, name).toBe('error');
        expect(ws.received, name).toEqual([]);
        await client.dispose();
      }
    });

    it('refuses a malformed Authorization header', async () => {
      const response = await fetch(api.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from('a:b').toString('base64')}`,
        },
        body: JSON.stringify({ query: '{ serviceVersion }' }),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    });
  });

  describe('a non-admin', () => {
    it('sees exactly its own tenant’s rows, never attrs or another tenant’s projects', async () => {
      for (const [bearer, tenant] of [
        [acme, 'acme'],
        [globex, 'globex'],
      ] as const) {
        const ids: string[] = [];
        let after: string | null = null;
        for (;;) {
          type Page = {
            resources: {
              edges: Array<{ node: { id: string; tenantId: string; project: { tenantId: string } | null } }>;
              pageInfo: { hasNextPage: boolean; endCursor: string };
            };
          };
          const { body }: GraphQLResponse<Page> = await gql<Page>(
            api.url,
            `query($after: String) { resources(first: 50, after: $after) { edges { node { id tenantId project { id tenantId resources(first: 20) { edges { node { tenantId } } } } } } pageInfo { hasNextPage endCursor } } }`,
            { token: bearer, variables: { after } },
          );
          expect(body.errors).toBeUndefined();
          for (const { node } of body.data!.resources.edges) {
            expect(node.tenantId).toBe(tenant);
            // Every resource of the fixture has a project; the one acme resource in globex's project sees none.
            const ownProject = Number(node.id) !== fx.acmeInGlobexProject;
            expect(node.project?.tenantId ?? null, node.id).toBe(ownProject ? tenant : null);
            ids.push(node.id);
          }
          const text = JSON.stringify(body);
          expect(text).not.toMatch(tenant === 'acme' ? /globex/ : /acme/);
          if (!body.data!.resources.pageInfo.hasNextPage) break;
          after = body.data!.resources.pageInfo.endCursor;
        }
        const expected = tenant === 'acme' ? fx.acmeResources : fx.globexResources;
        expect(ids.sort()).toEqual(expected.map(String).sort());
      }
    });

    it('gets null for another tenant’s resource or project, and FORBIDDEN when naming its tenant', async () => {
      for (const id of fx.globexResources.slice(0, 10)) {
        const { body } = await gql(api.url, `query($id: ID!) { resource(id: $id) { id name } }`, {
          token: acme,
          variables: { id: String(id) },
        });
        expect(body).toEqual({ data: { resource: null } });
      }
      for (const id of [fx.projects.globex, fx.projects.unassigned]) {
        const { body } = await gql(api.url, `query($id: ID!) { project(id: $id) { id resources { totalCount } } }`, {
          token: acme,
          variables: { id: String(id) },
        });
        expect(body).toEqual({ data: { project: null } });
      }
      const named = await gql(api.url, `{ resources(filter: { tenantId: "globex" }) { totalCount } }`, { token: acme });
      expect(named.status).toBe(403);
      expect(named.body.errors?.[0]).toMatchObject({
        message: 'Not allowed to read another tenant’s rows: platform admin only',
        extensions: { code: 'FORBIDDEN' },
      });
      expect(named.body.data ?? null).toBeNull();
      const projects = await gql(api.url, `{ projects(filter: { tenantId: "globex" }) { totalCount } }`, {
        token: acme,
      });
      expect(projects.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      // its own resource in another tenant's project (fallback): the resource yes, the project no
      const odd = await gql(api.url, `query($id: ID!) { resource(id: $id) { id tenantId project { name } } }`, {
        token: acme,
        variables: { id: String(fx.acmeInGlobexProject) },
      });
      expect(odd.body).toEqual({
        data: { resource: { id: String(fx.acmeInGlobexProject), tenantId: 'acme', project: null } },
      });
      // per-kind counts count its own resources only
      const counts = await gql<{ projects: { edges: Array<{ node: { resourceCounts: Array<{ total: number }> } }> } }>(
        api.url,
        `{ projects { edges { node { resourceCounts { kind total } } } } }`,
        { token: acme },
      );
      const total = counts.body
        .data!.projects.edges.flatMap((e) => e.node.resourceCounts)
        .reduce((sum, c) => sum + c.total, 0);
      expect(total).toBe(fx.acmeResources.length - 1);
    });

    it('is FORBIDDEN admin-only fields and every mutation', async () => {
      const attrs = await gql<{ resources: { edges: Array<{ node: { attrs: unknown } }> } }>(
        api.url,
        `{ resources(first: 3) { edges { node { id attrs } } } }`,
        { token: acme },
      );
      expect(attrs.body.errors?.[0]).toMatchObject({
        extensions: { code: 'FORBIDDEN' },
        path: ['resources', 'edges', 0, 'node', 'attrs'],
      });
      expect(attrs.body.data!.resources.edges.every((e) => e.node.attrs === null)).toBe(true);
      expect(JSON.stringify(attrs.body)).not.toContain('secret_note');

      const details = await gql(api.url, `{ syncRuns { edges { node { details } } } }`, { token: acme });
      expect(details.body.errors ?? []).toEqual([]); // no runs yet; the field itself is checked per row below
      await api.pool.query(
        `INSERT INTO sync_runs (task, trigger, status, details) VALUES ('droplet', 'cron', 'succeeded', '{"raw": true}')`,
      );
      const withRun = await gql(api.url, `{ syncRuns { edges { node { task details } } } }`, { token: acme });
      expect(withRun.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(withRun.body.data)).not.toContain('raw');

      for (const mutation of [
        MUTATION,
        `mutation { classifyResource(resourceId: "${fx.unattributed[0]}", tenantId: "acme") { id } }`,
        `mutation { triggerSync(task: "all") { jobIds } }`,
      ]) {
        const { status, body } = await gql(api.url, mutation, { token: acme });
        expect(status).toBe(403);
        expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
        expect(body.data ?? null).toBeNull();
      }
      const unchanged = await api.pool.query<{ tenant_id: string | null }>(
        `SELECT tenant_id FROM cloud_resources WHERE id = $1`,
        [fx.unattributed[0]],
      );
      expect(unchanged.rows[0]!.tenant_id).toBeNull();
    });

    it('without a tenant, is FORBIDDEN every data field', async () => {
      const nobody = await token({ sub: 'drifter' });
      expect((await gql(api.url, '{ viewer { subject admin tenantId } }', { token: nobody })).body).toEqual({
        data: { viewer: { subject: 'drifter', admin: false, tenantId: null } },
      });
      for (const query of [QUERY, '{ projects { totalCount } }', '{ syncStatus { task } }']) {
        const { body } = await gql(api.url, query, { token: nobody });
        expect(body.errors?.[0]).toMatchObject({
          message: stringContaining('names no tenant'),
          extensions: { code: 'FORBIDDEN' },
        });
      }
    });

    it('receives sync progress over SSE and WebSocket (account-wide, no tenant rows in it)', async () => {
      const sse = await sseSubscribe<{ data: { syncProgress: { task: string; done: number } } }>(
        api.url,
        SUBSCRIPTION,
        { token: acme },
      );
      const client = wsClient(api.url, globex);
      const ws = wsSubscribe<{ data: { syncProgress: { task: string; done: number } } }>(client, SUBSCRIPTION);
      await waitFor(() => hubSize(api) >= 2);
      await publishEvent(api.pool, { type: 'progress', task: 'droplet', done: 5, total: 10 });
      expect((await sse.next()).data.syncProgress).toMatchObject({ task: 'droplet', done: 5 });
      expect((await ws.next()).data.syncProgress).toMatchObject({ task: 'droplet', done: 5 });
      await sse.close();
      await client.dispose();
    });
  });

  describe('an admin', () => {
    it('sees every tenant, attrs and runs mutations', async () => {
      const { body } = await gql<{
        resources: { totalCount: number; edges: Array<{ node: { attrs: { secret_note: string } } }> };
      }>(api.url, `{ resources(first: 2) { totalCount edges { node { id tenantId attrs } } } }`, { token: admin });
      expect(body.errors).toBeUndefined();
      expect(body.data!.resources.totalCount).toBe(fx.total);
      expect(body.data!.resources.edges[0]!.node.attrs.secret_note).toMatch(/^attrs of /);
      const mutation = await gql(
        api.url,
        `mutation { setProjectTenant(projectId: "${fx.projects.unassigned}", tenantId: "initech") { project { tenantId } } }`,
        { token: admin },
      );
      expect(mutation.body).toEqual({ data: { setProjectTenant: { project: { tenantId: 'initech' } } } });
    });
  });
});

describe('token verification (configuration variants)', () => {
  const secret = new TextEncoder().encode(TEST_JWT_SECRET);
  const jwtConfig = (env: Record<string, string> = {}) =>
    loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, ...env }).jwt;

  it('accepts HS256 only when configured, and never none', async () => {
    const hs256 = await token({ alg: 'HS256', tenant: 'acme' });
    await expect(verifyToken(hs256, jwtConfig(), secret)).rejects.toThrow(/signing algorithm not allowed/);
    await expect(verifyToken(hs256, jwtConfig({ JWT_ALGORITHMS: 'HS512,HS256' }), secret)).resolves.toMatchObject({
      tenantId: 'acme',
    });
    const none = unsignedToken({ sub: 'x', iss: 'arcadia', exp: Math.floor(Date.now() / 1000) + 60 });
    await expect(verifyToken(none, jwtConfig({ JWT_ALGORITHMS: 'HS512,HS384,HS256' }), secret)).rejects.toThrow(
      /Invalid token/,
    );
    expect(() => loadConfig({ JWT_ALGORITHMS: 'none' })).toThrow(/JWT_ALGORITHMS may contain only/);
  });

  it('checks the audience when configured, and allows the configured clock skew', async () => {
    const config = jwtConfig({ JWT_AUDIENCE: 'cloud-ops' });
    await expect(verifyToken(await token({ audience: 'cloud-ops' }), config, secret)).resolves.toMatchObject({
      subject: 'user-1',
    });
    await expect(verifyToken(await token({ audience: 'billing' }), config, secret)).rejects.toThrow(
      /unexpected audience/,
    );
    await expect(verifyToken(await token(), config, secret)).rejects.toThrow(/audience/);
    // expired 10 s ago: inside the default 30 s tolerance; 10 minutes ago: outside
    await expect(verifyToken(await token({ expiresIn: -10 }), jwtConfig(), secret)).resolves.toBeTruthy();
    await expect(
      verifyToken(await token({ expiresIn: -10 }), jwtConfig({ JWT_CLOCK_TOLERANCE_SECONDS: '0' }), secret),
    ).rejects.toThrow(/expired/);
  });

  it('reads roles only as configured (an array by default; a string or a singular role when configured; a dotted path)', async () => {
    const viewer = (claims: Record<string, unknown>, env: Record<string, string> = {}) =>
      token({ claims }).then((t) => verifyToken(t, jwtConfig(env), secret));
    expect(await viewer({ roles: ['user', 'platform_admin'] })).toMatchObject({ admin: true });
    // By default a string claim and a singular `role` claim grant nothing.
    expect(await viewer({ roles: 'platform_admin support' })).toMatchObject({ admin: false });
    expect(await viewer({ roles: 'viewer,platform_admin' })).toMatchObject({ admin: false });
    expect(await viewer({ roles: [], role: 'platform_admin' })).toMatchObject({ admin: false });
    expect(await viewer({ roles: 'viewer,platform_admin' }, { JWT_ROLES_FORMAT: 'delimited' })).toMatchObject({
      admin: true,
    });
    expect(await viewer({ roles: ['platform_admin'] }, { JWT_ROLES_FORMAT: 'delimited' })).toMatchObject({
      admin: false,
    });
    expect(
      await viewer({ role: 'platform_admin' }, { JWT_ROLES_CLAIM: 'role', JWT_ROLES_FORMAT: 'any' }),
    ).toMatchObject({ admin: true });
    expect(await viewer({ roles: ['platform_administrator'] })).toMatchObject({ admin: false });
    expect(
      await viewer(
        { perms: { groups: ['ops'] }, org: 'acme' },
        { JWT_ROLES_CLAIM: 'perms.groups', JWT_ADMIN_ROLE: 'ops', JWT_TENANT_CLAIM: 'org' },
      ),
    ).toMatchObject({
      admin: true,
      tenantId: 'acme',
    });
  });

  it('treats an absent header as anonymous and anything else but Bearer as an error', async () => {
    const auth = createAuthenticator(jwtConfig(), secret);
    await expect(auth.authenticate(undefined)).resolves.toBeNull();
    await expect(auth.authenticate('')).resolves.toBeNull();
    await expect(auth.authenticate('Token abc')).rejects.toThrow(/Malformed Authorization header/);
    await expect(auth.authenticate(`bearer ${await token({ tenant: 't1' })}`)).resolves.toMatchObject({
      tenantId: 't1',
    });
  });

  it('verifies a token once, and still refuses it once it has expired (clock tolerance included)', async () => {
    const auth = createAuthenticator(jwtConfig({ JWT_CLOCK_TOLERANCE_SECONDS: '5' }), secret);
    const good = await token({ tenant: 't1', expiresIn: 60 });
    const first = await auth.authenticate(`Bearer ${good}`);
    expect(first).toMatchObject({ tenantId: 't1' });
    expect(await auth.authenticate(`Bearer ${good}`)).toBe(first); // remembered, not verified again
    const now = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now });
    try {
      vi.setSystemTime(now + 62_000); // past exp, inside the tolerance
      await expect(auth.authenticate(`Bearer ${good}`)).resolves.toBe(first);
      vi.setSystemTime(now + 67_000); // past exp + tolerance: verified again, and refused
      await expect(auth.authenticate(`Bearer ${good}`)).rejects.toThrow(/token expired/);
      await expect(auth.authenticate(`Bearer ${good}`)).rejects.toThrow(/token expired/);
    } finally {
      vi.useRealTimers();
    }
    // A refusal is not remembered either way: a bad token stays bad, a different good token is verified on its own.
    const forged = await token({ tenant: 't1', secret: 'another-secret-that-is-long-enough-0123456789' });
    await expect(auth.authenticate(`Bearer ${forged}`)).rejects.toThrow(/signature verification failed/);
    await expect(auth.authenticate(`Bearer ${forged}`)).rejects.toThrow(/signature verification failed/);
    await expect(auth.authenticate(`Bearer ${await token({ tenant: 't2' })}`)).resolves.toMatchObject({
      tenantId: 't2',
    });
  });
});

function hubSize(api: Api): number {
  return api.service.subscriptions();
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
