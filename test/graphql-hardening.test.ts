// Abusive requests are refused before they cost anything, with errors that say what limit was hit:
// depth, aliases, tokens, cost, body size, CSRF, batching; internal errors are masked; production hides
// field suggestions, and introspection can be switched off.
import { ValidationContext } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, token, type Api } from './helpers/api.js';
import { gql, wsClient, wsSubscribe } from './helpers/graphql.js';
import { stringMatching } from './helpers/matchers.js';

describe('GraphQL hardening (defaults)', () => {
  let api: Api;
  let admin: string;

  beforeAll(async () => {
    api = await startApi();
    admin = await token({ admin: true });
  });

  afterAll(async () => {
    await api?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, ...headers },
      body,
    });

  it('refuses a query deeper than GRAPHQL_MAX_DEPTH', async () => {
    let selection = 'name';
    for (let i = 0; i < 4; i += 1) selection = `project { resources { edges { node { ${selection} } } } }`;
    const { body } = await gql(api.url, `{ resources { edges { node { ${selection} } } } }`, { token: admin });
    expect(body.errors?.[0]?.message).toMatch(/Query depth limit of 10 exceeded, found \d+/);
    expect(body.data).toBeUndefined();
  });

  it('refuses more aliases than GRAPHQL_MAX_ALIASES', async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: serviceVersion`).join(' ');
    const { body } = await gql(api.url, `{ ${aliases} }`, { token: admin });
    expect(body.errors?.[0]?.message).toMatch(/Aliases limit of 15 exceeded, found 16/);
  });

  it('refuses more tokens than GRAPHQL_MAX_TOKENS', async () => {
    const { body } = await gql(api.url, `{ ${Array.from({ length: 2100 }, () => 'serviceVersion').join(' ')} }`, {
      token: admin,
    });
    expect(body.errors?.[0]?.message).toMatch(/Token limit of 2000 exceeded/);
  });

  it('refuses a query whose nested pages cost more than GRAPHQL_MAX_COST, literal or variable page sizes', async () => {
    const query = `query($n: Int) { projects(first: 100) { edges { node { resources(first: $n) { edges { node { id name kind } } } } } } }`;
    for (const n of [100, 1]) {
      // A variable counts as the largest page: the limit holds whatever value is sent.
      const { body } = await gql(api.url, query, { token: admin, variables: { n } });
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]).toMatchObject({
        message: stringMatching(/^Query cost \d+ exceeds the limit of 5000/),
        extensions: { code: 'QUERY_TOO_COSTLY' },
      });
    }
    // an ordinary page of 100 with nested projects passes
    const ok = await gql(
      api.url,
      `{ resources(first: 100) { totalCount edges { node { id kind name region status tags project { id name tenantId } } } } }`,
      { token: admin },
    );
    expect(ok.body.errors).toBeUndefined();
  });

  it('validates nested repeated fragments in work bounded by the document (24 and 100 levels, anonymous)', async () => {
    // F1 spreads F2 twice, F2 spreads F3 twice, ...: walked naively, every level doubles the work.
    const chain = (levels: number) => {
      let document = '{ ...F1 }';
      for (let i = 1; i < levels; i += 1) document += ` fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`;
      return `${document} fragment F${levels} on Query { serviceVersion }`;
    };
    // Every rule that follows a spread (the cost limit, graphql-armor's depth, graphql-js's own rules) asks the
    // validation context for the fragment: counting those lookups counts the walk.
    // getFragment is declared on ValidationContext's base class: patch it where it is declared.
    let prototype = ValidationContext.prototype as object;
    while (!Object.hasOwn(prototype, 'getFragment')) prototype = Object.getPrototypeOf(prototype) as object;
    const getFragment = Object.getOwnPropertyDescriptor(prototype, 'getFragment')!;
    const original = getFragment.value as (this: ValidationContext, name: string) => unknown;
    let lookups = 0;
    Object.defineProperty(prototype, 'getFragment', {
      ...getFragment,
      value(this: ValidationContext, name: string) {
        lookups += 1;
        return original.call(this, name);
      },
    });
    try {
      for (const levels of [24, 100]) {
        lookups = 0;
        const started = Date.now();
        const { body } = await gql(api.url, chain(levels));
        expect(Date.now() - started, 'a safety net, not the proof').toBeLessThan(5000);
        expect(body.data).toBeUndefined();
        expect(body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COSTLY');
        // Two spreads per fragment, a few rules each: linear in the levels (naively: 2^levels).
        expect(lookups).toBeGreaterThan(0);
        expect(lookups).toBeLessThan(20 * levels);
      }
    } finally {
      Object.defineProperty(prototype, 'getFragment', getFragment);
    }
    expect((await fetch(api.url.replace('/graphql', '/api/health'))).status).toBe(200);
  });

  it('answers 413 for a body over GRAPHQL_MAX_BODY_BYTES, declared or streamed', async () => {
    const big = JSON.stringify({ query: '{ serviceVersion }', variables: { padding: 'x'.repeat(120_000) } });
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({
      errors: [{ message: 'Request body is larger than 100000 bytes', extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });

    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 12; i += 1)
          controller.enqueue(new TextEncoder().encode(i === 0 ? big.slice(0, 10_000) : 'x'.repeat(10_000)));
        controller.close();
      },
    });
    const streamed = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);

    // just under the limit is fine
    const small = await post(
      JSON.stringify({ query: '{ serviceVersion }', variables: { padding: 'x'.repeat(90_000) } }),
    );
    expect(small.status).toBe(200);
  });

  it('refuses the WebSocket message over the same size, and applies the same limits over WebSocket', async () => {
    const client = wsClient(api.url, admin);
    let selection = 'name';
    for (let i = 0; i < 4; i += 1) selection = `project { resources { edges { node { ${selection} } } } }`;
    const deep = wsSubscribe(client, `{ resources { edges { node { ${selection} } } } }`);
    const ended = await deep.ended;
    expect(ended.kind).toBe('error');
    expect(JSON.stringify(ended.detail)).toMatch(/Query depth limit of 10 exceeded/);
    const huge = wsSubscribe(client, `{ serviceVersion }`, { padding: 'x'.repeat(120_000) });
    expect((await client.closeEvent).code).toBe(1009); // message too big
    await huge.close();
    await client.dispose();
  });

  it('prevents CSRF: browser-simple requests need the CSRF header or a JSON content type', async () => {
    const simple = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'];
    for (const contentType of simple) {
      const response = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${admin}` },
        body: '{"query":"{ serviceVersion }"}',
      });
      expect(response.status, contentType).toBe(403);
      expect((await response.json()) as unknown).toEqual({
        errors: [{ message: 'Required CSRF header(s) not present' }],
      });
    }
    const get = await fetch(`${api.url}?query=${encodeURIComponent('{ serviceVersion }')}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(get.status).toBe(403);
    const withHeader = await fetch(`${api.url}?query=${encodeURIComponent('{ serviceVersion }')}`, {
      headers: { authorization: `Bearer ${admin}`, 'x-graphql-yoga-csrf': '1' },
    });
    expect(withHeader.status).toBe(200);
  });

  it('turns batching off', async () => {
    const response = await post(JSON.stringify([{ query: '{ serviceVersion }' }, { query: '{ serviceVersion }' }]));
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toMatch(/Batching is not (supported|enabled)/);
  });

  it('masks internal errors (no SQL, no stack) and keeps suggestions outside production', async () => {
    await api.pool.query('ALTER TABLE sync_runs RENAME TO sync_runs_gone');
    try {
      const { body } = await gql(api.url, '{ syncRuns { totalCount } }', { token: admin });
      expect(body.errors?.[0]).toMatchObject({
        message: 'Unexpected error.',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(body)).not.toMatch(/sync_runs|prisma|stack/i);
    } finally {
      await api.pool.query('ALTER TABLE sync_runs_gone RENAME TO sync_runs');
    }
    const { body } = await gql(api.url, '{ serviceVersio }', { token: admin });
    expect(body.errors?.[0]?.message).toMatch(/Did you mean "serviceVersion"/);
  });

  it('allows introspection by default (GraphiQL needs it)', async () => {
    const { body } = await gql<{ __schema: { queryType: { name: string } } }>(
      api.url,
      '{ __schema { queryType { name } } }',
    );
    expect(body.data?.__schema.queryType.name).toBe('Query');
  });
});

describe('GraphQL hardening (production, introspection off)', () => {
  let api: Api;

  beforeAll(async () => {
    api = await startApi({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'false' });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('hides field suggestions', async () => {
    const { body } = await gql(api.url, '{ serviceVersio }', { token: await token({ admin: true }) });
    expect(body.errors?.[0]?.message).toBeDefined();
    expect(body.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });

  it('sends Strict-Transport-Security only when configured', async () => {
    expect(
      (await fetch(api.url.replace('/graphql', '/api/health'))).headers.get('strict-transport-security'),
    ).toBeNull();
    const hsts = await startApi({ HSTS_MAX_AGE_SECONDS: '31536000' });
    try {
      const response = await fetch(hsts.url.replace('/graphql', '/api/health'));
      expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    } finally {
      await hsts.close();
    }
  });

  it('refuses introspection and serves no GraphiQL page', async () => {
    const { body } = await gql(api.url, '{ __schema { queryType { name } } }');
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
    const page = await fetch(api.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });
});
