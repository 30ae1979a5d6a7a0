// The DigitalOcean client against small node:http stubs: pure client behaviour (pagination guards, retries, rate
// limits, error hygiene, streaming). The same client against the simulator: digitalocean-client-simulator.test.ts.
import { readFileSync } from 'node:fs';
import util from 'node:util';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createDigitalOceanClient,
  DigitalOceanError,
  type DigitalOceanClientOptions,
} from '../src/digitalocean/client.js';
import { stripDatabaseSecrets } from '../src/digitalocean/endpoints.js';
import { pageNumberOf } from '../src/digitalocean/pagination.js';
import { backoffDelay, retryDelayFor429, SlidingWindowLimiter } from '../src/digitalocean/rate-limit.js';
import { fakeClock, json, pageOf, startStub, type FakeClock, type Stub } from './helpers/http-stub.js';

const TOKEN = 'dop_v1_5ecr3t0ken5ecr3t0ken5ecr3t0ken5ecr3t0ken5ecr3t0ken5ecr3t0ken00';
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

// Every log line of every client in this file, at debug level, to prove the token never reaches one.
const logLines: string[] = [];
const captureLogger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
// Every error thrown by a client in this file, checked for the token at the end.
const thrown: unknown[] = [];

let stub: Stub;
let trap: Stub; // the host named in `next` links: must never be contacted
let clock: FakeClock;

beforeAll(async () => {
  stub = await startStub();
  trap = await startStub((_req, res) => json(res, 200, { droplets: [], links: {}, meta: { total: 0 } }));
});
afterAll(async () => {
  await stub.close();
  await trap.close();
});
afterEach(() => {
  expect(trap.requests).toHaveLength(0);
  stub.requests.length = 0;
});

function client(overrides: Partial<DigitalOceanClientOptions> = {}) {
  clock = fakeClock();
  return createDigitalOceanClient({
    token: TOKEN,
    baseUrl: stub.url,
    timeoutMs: 2_000,
    logger: captureLogger,
    clock,
    random: () => 0.5,
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<DigitalOceanError> {
  try {
    await promise;
  } catch (error) {
    thrown.push(error);
    expect(error).toBeInstanceOf(DigitalOceanError);
    return error as DigitalOceanError;
  }
  throw new Error('expected a rejection');
}

const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ id: from + i, name: `d-${from + i}` }));

/** Deep search of every own property (enumerable or not, symbols too) for the token. */
function findSecret(value: unknown, path = '$', seen = new Set<unknown>()): string | undefined {
  if (typeof value === 'string') return value.includes(TOKEN) ? path : undefined;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  if (seen.has(value)) return undefined;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    let child: unknown;
    try {
      child = (value as Record<string | symbol, unknown>)[key];
    } catch {
      continue;
    }
    const hit = findSecret(child, `${path}.${String(key)}`, seen);
    if (hit) return hit;
  }
  return undefined;
}

function expectNoToken(error: unknown): void {
  expect(JSON.stringify(error)).not.toContain(TOKEN);
  expect(util.inspect(error, { depth: Infinity, showHidden: true, getters: true })).not.toContain(TOKEN);
  expect(String(error)).not.toContain(TOKEN);
  expect((error as Error).stack ?? '').not.toContain(TOKEN);
  expect(findSecret(error)).toBeUndefined();
  expect(
    Object.keys(error as object).every((k) => !String((error as Record<string, unknown>)[k]).includes(TOKEN)),
  ).toBe(true);
}

// ---------------------------------------------------------------------------------------------------------------

describe('requests', () => {
  it('sends the bearer token, the User-Agent from package.json and per_page=200 to the configured base URL', async () => {
    stub.setHandler((req, res) => json(res, 200, { account: { uuid: 'u1', email: 'a@b.c' } }));
    const c = client();
    const account = await c.getAccount();
    expect(account.uuid).toBe('u1');
    const [req] = stub.requests;
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers['user-agent']).toBe(`cloud-ops/${VERSION}`);
    expect(req?.path).toBe('/v2/account');

    stub.setHandler((req, res) => json(res, 200, pageOf('droplets', ids(3), req)));
    await c.listDroplets();
    expect(stub.requests[1]?.query.get('per_page')).toBe('200');
    expect(stub.requests[1]?.query.get('page')).toBe('1');
  });

  it('accepts a base URL with a path prefix and rejects one carrying credentials', async () => {
    stub.setHandler((req, res) => json(res, 200, { account: { uuid: req.path } }));
    const c = client({ baseUrl: `${stub.url}/proxy/do/` });
    expect((await c.getAccount()).uuid).toBe('/proxy/do/v2/account');
    expect(() => client({ baseUrl: `http://user:pw@127.0.0.1:${stub.port}` })).toThrow(TypeError);
    expect(() => client({ token: '' })).toThrow(TypeError);
  });

  it('single-object endpoints: account, default project, balance, invoice summary', async () => {
    stub.setHandler((req, res) => {
      if (req.path === '/v2/projects/default')
        return json(res, 200, { project: { id: 'p0', name: 'default', is_default: true } });
      if (req.path === '/v2/customers/my/balance') {
        return json(res, 200, {
          month_to_date_balance: '23.44',
          account_balance: '12.23',
          month_to_date_usage: '11.21',
          generated_at: '2019-07-09T15:01:12Z',
        });
      }
      if (req.path === '/v2/customers/my/invoices/inv%2F1/summary')
        return json(res, 200, { invoice_uuid: 'inv/1', billing_period: '2020-01', amount: '27.13' });
      return json(res, 404, { id: 'not_found', message: 'nope' });
    });
    const c = client();
    expect((await c.getDefaultProject()).id).toBe('p0');
    expect((await c.getBalance()).month_to_date_usage).toBe('11.21');
    expect((await c.getInvoiceSummary('inv/1')).amount).toBe('27.13');
    const err = await rejection(c.getAccount());
    expect(err.status).toBe(404);
  });

  it('a 2xx body that is not the promised shape is an invalid_response error', async () => {
    stub.setHandler((_req, res) => json(res, 200, { something: [] }));
    const c = client({ maxRetries: 0 });
    expect((await rejection(c.getAccount())).kind).toBe('invalid_response');
    expect((await rejection(c.listDroplets())).kind).toBe('invalid_response');
    stub.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>proxy</html>');
    });
    const err = await rejection(client({ maxRetries: 2 }).getAccount());
    expect(err).toMatchObject({ kind: 'invalid_response', attempts: 3 });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('pagination', () => {
  it('follows next by page number against the base URL, never the host in the link', async () => {
    const all = ids(450);
    stub.setHandler((req, res) => {
      const body = pageOf('droplets', all, req, trap.url);
      // A hostile next link: other host, other per_page, an extra filter. Only its page number may be used.
      const pages = (body.links as { pages?: Record<string, string> }).pages;
      if (pages?.next) pages.next += '&tag_name=evil&per_page=5';
      json(res, 200, body);
    });
    const c = client();
    const listing = await c.listDroplets();
    expect(listing).toMatchObject({ complete: true, pages: 3, apiCalls: 3, total: 450, count: 450, duplicates: 0 });
    expect(listing.items.map((d) => d.id)).toEqual(all.map((d) => d.id));
    expect(
      stub.requests.map((r) => `${r.query.get('page')}/${r.query.get('per_page')}/${r.query.get('tag_name')}`),
    ).toEqual(['1/200/null', '2/200/null', '3/200/null']);
    expect(stub.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(trap.requests).toHaveLength(0);
  });

  it('keeps filters on every page (snapshots by resource_type) and with_projects on apps', async () => {
    stub.setHandler((req, res) =>
      json(res, 200, pageOf(req.path === '/v2/apps' ? 'apps' : 'snapshots', ids(201), req, trap.url)),
    );
    const c = client();
    const listing = await c.listSnapshots({ resourceType: 'volume' });
    expect(listing.complete).toBe(true);
    expect(stub.requests.map((r) => r.query.get('resource_type'))).toEqual(['volume', 'volume']);
    await c.listApps();
    expect(stub.requests.slice(2).map((r) => r.query.get('with_projects'))).toEqual(['true', 'true']);
  });

  it('streams pages through an awaited onPage (back-pressure), optionally without collecting', async () => {
    const events: string[] = [];
    stub.setHandler((req, res) => {
      events.push(`fetch ${req.query.get('page')}`);
      json(
        res,
        200,
        pageOf(
          'volumes',
          ids(500).map((v) => ({ ...v, id: `v${v.id}` })),
          req,
          trap.url,
        ),
      );
    });
    const listing = await client().listVolumes({
      collect: false,
      onPage: async (items, info) => {
        events.push(
          `start ${info.page} (${items.length}, done=${info.done}, total=${info.total}, count=${info.count})`,
        );
        await new Promise((r) => setTimeout(r, 20));
        events.push(`end ${info.page}`);
      },
    });
    expect(listing).toMatchObject({ complete: true, count: 500, pages: 3, items: [] });
    expect(events).toEqual([
      'fetch 1',
      'start 1 (200, done=false, total=500, count=200)',
      'end 1',
      'fetch 2',
      'start 2 (200, done=false, total=500, count=400)',
      'end 2',
      'fetch 3',
      'start 3 (100, done=true, total=500, count=500)',
      'end 3',
    ]);
  });

  it('an onPage error stops the walk and is rethrown unchanged', async () => {
    stub.setHandler((req, res) => json(res, 200, pageOf('droplets', ids(450), req, trap.url)));
    const boom = new Error('upsert failed');
    await expect(client().listDroplets({ onPage: () => Promise.reject(boom) })).rejects.toBe(boom);
    expect(stub.requests).toHaveLength(1);
  });

  it('a short last page before meta.total is an incomplete (truncated) listing', async () => {
    stub.setHandler((req, res) => {
      const body = pageOf('droplets', ids(600), req, trap.url);
      if (req.query.get('page') === '2') {
        body.droplets = (body.droplets as unknown[]).slice(0, 50);
        body.links = {};
      }
      json(res, 200, body);
    });
    const listing = await client().listDroplets();
    expect(listing).toMatchObject({ complete: false, pages: 2, count: 250, total: 600 });
    expect(listing.incompleteReason).toMatch(/truncated/);
  });

  it('an endless next that repeats earlier items is stopped and reported incomplete', async () => {
    const all = ids(400);
    stub.setHandler((req, res) => {
      const page = Number(req.query.get('page'));
      const served = ((page - 1) % 2) + 1; // page 3 serves page 1 again, and so on
      json(res, 200, {
        droplets: all.slice((served - 1) * 200, served * 200),
        links: { pages: { next: `${trap.url}/v2/droplets?page=${page + 1}&per_page=200` } },
        meta: { total: 400 },
      });
    });
    const listing = await client().listDroplets();
    expect(listing.complete).toBe(false);
    expect(listing.incompleteReason).toMatch(/endless next/);
    expect(listing).toMatchObject({ pages: 2, apiCalls: 2, count: 400 });
  });

  it('an endless next with fresh items is stopped by meta.total', async () => {
    stub.setHandler((req, res) => {
      const page = Number(req.query.get('page'));
      json(res, 200, {
        droplets: ids(200, page * 1000),
        links: { pages: { next: `${trap.url}/v2/droplets?page=${page + 1}` } },
        meta: { total: 300 },
      });
    });
    const listing = await client().listDroplets();
    expect(listing).toMatchObject({ complete: false, pages: 2, count: 400 });
    expect(listing.incompleteReason).toMatch(/meta\.total 300/);
  });

  it('without meta.total, an endless next is stopped by the hard page cap', async () => {
    stub.setHandler((req, res) => {
      const page = Number(req.query.get('page'));
      json(res, 200, { droplets: ids(200, page * 1000), links: { pages: { next: `${trap.url}/x?page=${page + 1}` } } });
    });
    const listing = await client().listDroplets({ maxPages: 5, collect: false });
    expect(listing).toMatchObject({ complete: false, pages: 5, apiCalls: 5, count: 1000 });
    expect(listing.incompleteReason).toMatch(/hard cap of 5 pages/);
  });

  it('a repeated page is detected and reported incomplete', async () => {
    const all = ids(600);
    stub.setHandler((req, res) => {
      const body = pageOf('droplets', all, req, trap.url);
      if (req.query.get('page') === '2') body.droplets = all.slice(0, 200);
      json(res, 200, body);
    });
    const pagesSeen: number[] = [];
    const listing = await client().listDroplets({ onPage: (_items, info) => void pagesSeen.push(info.page) });
    expect(listing).toMatchObject({ complete: false, pages: 2, count: 200 });
    expect(listing.incompleteReason).toMatch(/repeated/);
    expect(pagesSeen).toEqual([1]); // the repeated page is not delivered
  });

  it('a next link that skips a page, has no page number, or follows an empty page is incomplete', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { droplets: ids(200), links: { pages: { next: `${trap.url}/v2/droplets?page=3` } }, meta: { total: 600 } },
        /expected 2/,
      ],
      [
        { droplets: ids(200), links: { pages: { next: `${trap.url}/v2/droplets?cursor=abc` } }, meta: { total: 600 } },
        /without a page number/,
      ],
      [{ droplets: [], links: { pages: { next: `${trap.url}/v2/droplets?page=2` } }, meta: { total: 600 } }, /empty/],
    ];
    for (const [body, reason] of cases) {
      stub.setHandler((_req, res) => json(res, 200, body));
      const listing = await client().listDroplets();
      expect(listing.complete).toBe(false);
      expect(listing.incompleteReason).toMatch(reason);
      expect(listing.apiCalls).toBe(1);
    }
  });

  it('billing history without meta.total is complete when next runs out', async () => {
    const entries = Array.from({ length: 250 }, (_, i) => ({
      description: `e${i}`,
      amount: '1.00',
      date: `2020-01-01T00:00:${i}Z`,
      type: 'Payment',
    }));
    stub.setHandler((req, res) => {
      const body = pageOf('billing_history', entries, req, trap.url);
      delete body.meta;
      json(res, 200, body);
    });
    const listing = await client().listBillingHistory();
    expect(listing).toMatchObject({ complete: true, pages: 2, count: 250 });
    expect(listing.total).toBeUndefined();
  });

  it('items that reappear on a later page (offset drift) are dropped and counted, not fatal', async () => {
    const all = ids(400);
    stub.setHandler((req, res) => {
      const body = pageOf('droplets', all, req, trap.url);
      if (req.query.get('page') === '2') body.droplets = [all[199], ...all.slice(200)]; // one shifted item
      json(res, 200, body);
    });
    const listing = await client().listDroplets();
    expect(listing).toMatchObject({ complete: true, count: 400, duplicates: 1 });
    expect(new Set(listing.items.map((d) => d.id)).size).toBe(400);
  });

  it('lists without ids (invoice items) keep identical lines, yet still detect a repeated page', async () => {
    const line = { product: 'Spaces Subscription', description: 'Spaces ($5/mo)', amount: '5.00' };
    const lines = [line, line, ...Array.from({ length: 248 }, (_, i) => ({ ...line, description: `l${i}` }))];
    stub.setHandler((req, res) => json(res, 200, pageOf('invoice_items', lines, req, trap.url)));
    expect(await client().listInvoiceItems('u1')).toMatchObject({ complete: true, count: 250, duplicates: 0 });

    stub.setHandler((req, res) => {
      const body = pageOf('invoice_items', [...lines, ...lines], req, trap.url);
      if (req.query.get('page') === '2') body.invoice_items = lines.slice(0, 200);
      json(res, 200, body);
    });
    const listing = await client().listInvoiceItems('u1');
    expect(listing).toMatchObject({ complete: false, pages: 2, count: 200 });
    expect(listing.incompleteReason).toMatch(/repeated/);
  });

  it('an empty account: one call, complete', async () => {
    stub.setHandler((_req, res) => json(res, 200, { firewalls: [], links: {}, meta: { total: 0 } }));
    expect(await client().listFirewalls()).toMatchObject({ complete: true, pages: 1, apiCalls: 1, count: 0 });
  });

  it('an error mid-walk rejects with the typed error, carrying how far the walk got', async () => {
    stub.setHandler((req, res) => {
      if (req.query.get('page') === '2') return json(res, 500, { id: 'server_error', message: 'boom' });
      json(res, 200, pageOf('droplets', ids(600), req, trap.url));
    });
    const delivered: number[] = [];
    const err = await rejection(
      client({ maxRetries: 2 }).listDroplets({ onPage: (items) => void delivered.push(items.length) }),
    );
    expect(err).toMatchObject({ kind: 'http', status: 500, attempts: 3 });
    expect(err.listing).toEqual({ path: '/v2/droplets', pages: 1, apiCalls: 4, count: 200, total: 600 });
    expect(delivered).toEqual([200]);
  });

  it('every other list endpoint walks its own path and key', async () => {
    const routes: Record<string, string> = {
      '/v2/reserved_ipv6': 'reserved_ipv6s',
      '/v2/firewalls': 'firewalls',
      '/v2/load_balancers': 'load_balancers',
      '/v2/domains': 'domains',
      '/v2/projects': 'projects',
      '/v2/projects/p-1/resources': 'resources',
      '/v2/projects/default/resources': 'resources',
      '/v2/kubernetes/clusters': 'kubernetes_clusters',
      '/v2/customers/my/invoices/preview': 'invoice_items',
    };
    stub.setHandler((req, res) => {
      const key = routes[req.path];
      if (!key) return json(res, 404, { id: 'not_found', message: req.path });
      const items = Array.from({ length: 205 }, (_, i) => ({
        id: `x${i}`,
        ip: `10.0.0.${i}`,
        name: `n${i}.com`,
        urn: `do:droplet:${i}`,
        description: `line ${i}`,
      }));
      json(res, 200, pageOf(key, items, req, trap.url));
    });
    const c = client();
    const results = [
      await c.listReservedIpv6s(),
      await c.listFirewalls(),
      await c.listLoadBalancers(),
      await c.listDomains(),
      await c.listProjects(),
      await c.listProjectResources('p-1'),
      await c.listProjectResources('default'),
      await c.listKubernetesClusters(),
      await c.listInvoiceItems('preview'),
    ];
    for (const r of results) expect(r).toMatchObject({ complete: true, pages: 2, apiCalls: 2, count: 205 });
  });

  it('invoices carry the month-to-date invoice_preview', async () => {
    const invoices = Array.from({ length: 3 }, (_, i) => ({
      invoice_uuid: `u${i}`,
      amount: '1.00',
      invoice_period: `2020-0${i + 1}`,
    }));
    stub.setHandler((req, res) =>
      json(
        res,
        200,
        pageOf('invoices', invoices, req, trap.url, {
          invoice_preview: { invoice_uuid: 'prev', amount: '3.00', invoice_period: '2020-04' },
        }),
      ),
    );
    const listing = await client().listInvoices();
    expect(listing).toMatchObject({ complete: true, count: 3, preview: { invoice_uuid: 'prev' } });
  });

  it('reads page numbers from absolute and relative links', () => {
    expect(pageNumberOf('https://api.digitalocean.com/v2/droplets?page=7&per_page=200')).toBe(7);
    expect(pageNumberOf('/v2/droplets?per_page=2&page=3')).toBe(3);
    expect(pageNumberOf('https://x/v2/droplets?page=0')).toBeUndefined();
    expect(pageNumberOf('https://x/v2/droplets?page=abc')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('retries and errors', () => {
  it('429 with Retry-After: waits exactly that long, then succeeds', async () => {
    let n = 0;
    stub.setHandler((_req, res) => {
      if (++n === 1) {
        const reset = Math.floor(clock.now() / 1000) + 40;
        return json(
          res,
          429,
          { id: 'too_many_requests', message: 'API rate limit exceeded.' },
          {
            'retry-after': '7',
            'ratelimit-limit': '5000',
            'ratelimit-remaining': '0',
            'ratelimit-reset': String(reset),
          },
        );
      }
      json(res, 200, { account: { uuid: 'ok' } });
    });
    const c = client();
    const start = clock.now();
    expect((await c.getAccount()).uuid).toBe('ok');
    expect(clock.now() - start).toBe(7_000);
    expect(c.stats()).toMatchObject({ requests: 2, retries: 1, rateLimited: 1, retryWaitMs: 7_000 });
  });

  it('429 without Retry-After: waits until ratelimit-reset; waits are capped by maxRetryAfterMs', async () => {
    let n = 0;
    let resetIn = 12;
    stub.setHandler((_req, res) => {
      if (++n % 2 === 1) {
        return json(
          res,
          429,
          { id: 'too_many_requests', message: 'API rate limit exceeded.' },
          {
            'ratelimit-remaining': '0',
            'ratelimit-reset': String(Math.floor(clock.now() / 1000) + resetIn),
          },
        );
      }
      json(res, 200, { account: { uuid: 'ok' } });
    });
    let c = client();
    let start = clock.now();
    await c.getAccount();
    expect(clock.now() - start).toBe(12_000);

    resetIn = 3600;
    c = client({ maxRetryAfterMs: 5_000 });
    start = clock.now();
    await c.getAccount();
    expect(clock.now() - start).toBe(5_000);
  });

  it('429 forever: a typed error after maxRetries, with DO id and attempts', async () => {
    stub.setHandler((_req, res) =>
      json(
        res,
        429,
        { id: 'too_many_requests', message: 'API rate limit exceeded.' },
        { 'retry-after': '1', 'x-request-id': 'req-429' },
      ),
    );
    const err = await rejection(client({ maxRetries: 3 }).getAccount());
    expect(err).toMatchObject({
      kind: 'http',
      status: 429,
      id: 'too_many_requests',
      requestId: 'req-429',
      attempts: 4,
      retryable: true,
    });
    expect(stub.requests).toHaveLength(4);
  });

  it('5xx then success; 5xx forever fails with the attempt count after bounded exponential backoff', async () => {
    let n = 0;
    stub.setHandler((_req, res) =>
      ++n <= 2 ? json(res, 503, { id: 'unavailable', message: 'x' }) : json(res, 200, { account: { uuid: 'ok' } }),
    );
    const c = client();
    expect((await c.getAccount()).uuid).toBe('ok');
    expect(c.stats()).toMatchObject({ requests: 3, retries: 2, serverErrors: 2 });

    stub.setHandler((_req, res) =>
      json(res, 500, { id: 'server_error', message: 'Server Error' }, { 'x-request-id': 'r-500' }),
    );
    const c2 = client({ maxRetries: 6, backoffBaseMs: 100, backoffMaxMs: 1_000, random: () => 1 });
    const err = await rejection(c2.getAccount());
    expect(err).toMatchObject({
      kind: 'http',
      status: 500,
      id: 'server_error',
      apiMessage: 'Server Error',
      requestId: 'r-500',
      attempts: 7,
      endpoint: '/v2/account',
    });
    expect(err.message).toContain('7 attempts');
    expect(clock.sleeps).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('backoff has jitter within [half, full] of the bounded step', () => {
    expect(backoffDelay(1, 500, 30_000, () => 0)).toBe(250);
    expect(backoffDelay(1, 500, 30_000, () => 1)).toBe(500);
    expect(backoffDelay(4, 500, 30_000, () => 0.5)).toBe(3_000);
    expect(backoffDelay(20, 500, 30_000, () => 1)).toBe(30_000);
  });

  it.each([400, 401, 403, 404, 409, 422, 501])('%i is not retried', async (status) => {
    stub.setHandler((_req, res) => json(res, status, { id: 'some_error', message: 'temporary glitch, please retry' }));
    const err = await rejection(client().getAccount());
    expect(err).toMatchObject({ kind: 'http', status, attempts: 1, retryable: false });
    expect(stub.requests).toHaveLength(1);
  });

  it('a redirect is not followed (the token must not travel to its target) and not retried', async () => {
    stub.setHandler((_req, res) => {
      res.writeHead(302, { location: `${trap.url}/v2/account` });
      res.end();
    });
    const err = await rejection(client().getAccount());
    expect(err).toMatchObject({ kind: 'http', status: 302, attempts: 1 });
    expect(trap.requests).toHaveLength(0);
  });

  it('decides by status, not message: a 500 saying "bad request" is retried', async () => {
    let n = 0;
    stub.setHandler((_req, res) =>
      ++n === 1
        ? json(res, 500, { id: 'bad_request', message: 'bad request, not found, do not retry' })
        : json(res, 200, { account: { uuid: 'ok' } }),
    );
    expect((await client().getAccount()).uuid).toBe('ok');
    expect(n).toBe(2);
  });

  it('slow responses beyond the timeout are retried, then fail as timeouts', async () => {
    stub.setHandler(() => undefined); // never answers
    const err = await rejection(client({ timeoutMs: 100, maxRetries: 2 }).getAccount());
    expect(err).toMatchObject({ kind: 'timeout', attempts: 3 });
    expect(stub.requests).toHaveLength(3);

    // headers arrive in time, the body stalls
    stub.requests.length = 0;
    stub.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"account":');
    });
    const c = client({ timeoutMs: 100, maxRetries: 1 });
    const err2 = await rejection(c.getAccount());
    expect(err2).toMatchObject({ kind: 'timeout', attempts: 2 });
    expect(c.stats().timeouts).toBe(2);
  });

  it('a slow response then a fast one succeeds', async () => {
    let n = 0;
    stub.setHandler((_req, res) => {
      if (++n === 1) return; // hang
      json(res, 200, { account: { uuid: 'ok' } });
    });
    expect((await client({ timeoutMs: 300 }).getAccount()).uuid).toBe('ok');
  });

  it('dropped connections (before headers and mid-body) are retried', async () => {
    let n = 0;
    stub.setHandler((_req, res, raw) => {
      n++;
      if (n === 1) return void raw.socket.destroy();
      if (n === 2) {
        // The headers and part of the body are on the wire before the socket closes (the write's callback), so the
        // client always sees a body cut short, whatever the timing.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"account":{"uuid":"ha', () => raw.socket.destroy());
        return;
      }
      json(res, 200, { account: { uuid: 'ok' } });
    });
    const c = client();
    expect((await c.getAccount()).uuid).toBe('ok');
    expect(c.stats()).toMatchObject({ requests: 3, networkErrors: 2 });

    stub.setHandler((_req, _res, raw) => void raw.socket.destroy());
    const err = await rejection(client({ maxRetries: 1 }).getAccount());
    expect(err).toMatchObject({ kind: 'network', attempts: 2, retryable: true });
  });

  it('an aborted signal stops a listing with kind aborted', async () => {
    stub.setHandler((req, res) => json(res, 200, pageOf('droplets', ids(600), req, trap.url)));
    const controller = new AbortController();
    const err = await rejection(client().listDroplets({ signal: controller.signal, onPage: () => controller.abort() }));
    expect(err.kind).toBe('aborted');
    expect(stub.requests).toHaveLength(1);
  });

  it('the token is in no error (JSON, inspect, own-property walk) and no log line', async () => {
    // A hostile server that echoes the Authorization header into its error body and headers.
    stub.setHandler((req, res) =>
      json(res, 401, {
        id: `unauthorized ${req.headers.authorization}`,
        message: `bad token ${req.headers.authorization}`,
        request_id: String(req.headers.authorization),
      }),
    );
    const err = await rejection(client().getAccount());
    expect(err.message).toContain('[redacted]');
    expect(err.endpoint).toBe('/v2/account');
    expect(err.message).not.toContain('127.0.0.1');

    stub.setHandler((_req, res) => json(res, 500, { id: 'x', message: 'y' }));
    await rejection(client({ maxRetries: 2 }).listDroplets());

    expect(thrown.length).toBeGreaterThan(15);
    for (const error of thrown) expectNoToken(error);
    expect(logLines.length).toBeGreaterThan(10);
    expect(logLines.some((l) => l.includes('retrying'))).toBe(true);
    for (const line of logLines) expect(line).not.toContain(TOKEN);
    // the client object itself exposes no token either
    const c = client();
    expect(findSecret(c)).toBeUndefined();
    expect(util.inspect(c, { depth: Infinity, showHidden: true })).not.toContain(TOKEN);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('pacing (counted per window in virtual time)', () => {
  /** Max requests in any sliding window of `windowMs` over sorted timestamps. */
  function maxInWindow(times: number[], windowMs: number): number {
    let max = 0;
    let lo = 0;
    for (let hi = 0; hi < times.length; hi++) {
      while ((times[hi] as number) - (times[lo] as number) >= windowMs) lo++;
      max = Math.max(max, hi - lo + 1);
    }
    return max;
  }

  it('never more than maxRequestsPerMinute in any minute, sequential and concurrent', async () => {
    const times: number[] = [];
    stub.setHandler((_req, res) => {
      times.push(clock.now());
      json(res, 200, { account: { uuid: 'ok' } });
    });
    const c = client({ maxRequestsPerMinute: 200 });
    for (let i = 0; i < 450; i++) await c.getAccount();
    expect(times).toHaveLength(450);
    expect(maxInWindow(times, 60_000)).toBe(200);
    expect(times.filter((t) => t < (times[0] as number) + 60_000)).toHaveLength(200);
    expect((times[449] as number) - (times[0] as number)).toBe(120_000);
    expect(c.stats().pacedWaits).toBe(2);

    // Concurrent callers share one budget. Counted at the grant (the send instant): with a virtual clock, a request
    // granted at t0 may reach the stub after the clock already jumped ahead.
    const ck = fakeClock();
    const limiter = new SlidingWindowLimiter([{ limit: 200, windowMs: 60_000 }], ck);
    const grants = await Promise.all(Array.from({ length: 450 }, async () => (await limiter.acquire(), ck.now())));
    expect(
      maxInWindow(
        [...grants].sort((a, b) => a - b),
        60_000,
      ),
    ).toBe(200);
    expect(grants.filter((t) => t === grants[0])).toHaveLength(200);
  });

  it('a listing of many pages is paced too', async () => {
    const times: number[] = [];
    stub.setHandler((req, res) => {
      times.push(clock.now());
      json(res, 200, pageOf('droplets', ids(30 * 200), req, trap.url));
    });
    const listing = await client({ maxRequestsPerMinute: 10 }).listDroplets({ collect: false });
    expect(listing).toMatchObject({ complete: true, pages: 30, apiCalls: 30 });
    expect(maxInWindow(times, 60_000)).toBe(10);
  });

  it('the hourly window applies as well', async () => {
    const times: number[] = [];
    stub.setHandler((_req, res) => {
      times.push(clock.now());
      json(res, 200, { account: { uuid: 'ok' } });
    });
    const c = client({ maxRequestsPerMinute: Infinity, maxRequestsPerHour: 120 });
    for (let i = 0; i < 130; i++) await c.getAccount();
    expect(maxInWindow(times, 3_600_000)).toBe(120);
    expect(times[120]).toBe((times[0] as number) + 3_600_000);
  });

  it('slows down to ratelimit-reset when ratelimit-remaining is low', async () => {
    const times: number[] = [];
    let remaining = 12;
    stub.setHandler((_req, res) => {
      times.push(clock.now());
      remaining--;
      json(
        res,
        200,
        { account: { uuid: 'ok' } },
        {
          'ratelimit-limit': '5000',
          'ratelimit-remaining': String(remaining),
          'ratelimit-reset': String(Math.floor(clock.now() / 1000) + 30),
        },
      );
    });
    const c = client({ rateLimitReserve: 10 });
    for (let i = 0; i < 4; i++) await c.getAccount();
    // remaining 11 → no wait; 10 → wait 30 s before the 3rd request; 9 → wait again before the 4th.
    expect(times.map((t) => t - (times[0] as number))).toEqual([0, 0, 30_000, 60_000]);
    expect(c.stats().lastRateLimit).toMatchObject({ limit: 5000, remaining: 8 });
  });

  it('limiter and 429 helpers', async () => {
    const ck = fakeClock();
    const limiter = new SlidingWindowLimiter([{ limit: 3, windowMs: 1_000 }], ck);
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) waits.push(await limiter.acquire());
    expect(waits).toEqual([0, 0, 0, 1_000, 0, 0, 1_000]);
    const h = new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' });
    expect(retryDelayFor429(h, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'), 60_000)).toBe(30_000);
    expect(retryDelayFor429(new Headers(), 0, 60_000)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('reserved IPs fall back to floating IPs only when the endpoint is unavailable', () => {
  const ip = (i: number) => ({
    ip: `192.0.2.${i}`,
    region: { slug: 'nyc3', name: 'NYC 3' },
    droplet: null,
    locked: false,
  });
  function serve(reservedStatus: number | 'ok', reservedPage2Status?: number) {
    stub.setHandler((req, res) => {
      if (req.path === '/v2/reserved_ips') {
        if (reservedPage2Status && req.query.get('page') === '2')
          return json(res, reservedPage2Status, { id: 'not_found', message: 'gone' });
        if (reservedStatus !== 'ok')
          return json(res, reservedStatus, { id: 'x', message: 'The resource you were accessing could not be found.' });
        return json(
          res,
          200,
          pageOf(
            'reserved_ips',
            Array.from({ length: 250 }, (_, i) => ip(i)),
            req,
            trap.url,
          ),
        );
      }
      if (req.path === '/v2/floating_ips') return json(res, 200, pageOf('floating_ips', [ip(1), ip(2)], req, trap.url));
      json(res, 404, { id: 'not_found', message: '' });
    });
  }

  it('uses /v2/reserved_ips when it answers', async () => {
    serve('ok');
    const listing = await client().listReservedIps();
    expect(listing).toMatchObject({ source: 'reserved_ips', complete: true, count: 250, apiCalls: 2 });
    expect(stub.requests.every((r) => r.path === '/v2/reserved_ips')).toBe(true);
  });

  it.each([404, 501])('falls back on %i', async (status) => {
    serve(status);
    const listing = await client().listReservedIps();
    expect(listing).toMatchObject({ source: 'floating_ips', complete: true, count: 2, apiCalls: 2 });
    expect(stub.requests.map((r) => r.path)).toEqual(['/v2/reserved_ips', '/v2/floating_ips']);
  });

  it.each([401, 403, 500, 503])('does not fall back on %i', async (status) => {
    serve(status);
    const err = await rejection(client({ maxRetries: 1 }).listReservedIps());
    expect(err.status).toBe(status);
    expect(stub.requests.some((r) => r.path === '/v2/floating_ips')).toBe(false);
  });

  it('does not fall back when a later page fails', async () => {
    serve('ok', 404);
    const err = await rejection(client().listReservedIps());
    expect(err.status).toBe(404);
    expect(err.listing?.pages).toBe(1);
    expect(stub.requests.some((r) => r.path === '/v2/floating_ips')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('databases', () => {
  const secret = 'wv78n3zpz42xezdk';
  const raw = {
    id: '9cc10173-e9ea-4176-9dbc-a4cee4c4ff30',
    name: 'backend',
    engine: 'pg',
    version: '10',
    connection: {
      uri: `postgres://doadmin:${secret}@backend.db.ondigitalocean.com:25060/defaultdb`,
      host: 'h',
      password: secret,
      user: 'doadmin',
    },
    private_connection: { uri: `postgres://doadmin:${secret}@private`, password: secret },
    standby_connection: { uri: `postgres://doadmin:${secret}@standby`, password: secret },
    standby_private_connection: { uri: `postgres://doadmin:${secret}@standby-private`, password: secret },
    ui_connection: { uri: `https://admin:${secret}@dash`, password: secret },
    users: [
      { name: 'doadmin', role: 'primary', password: secret },
      { name: 'kafka', access_cert: secret, access_key: secret },
    ],
    db_names: ['defaultdb'],
    num_nodes: 1,
    region: 'nyc3',
    status: 'online',
    size: 'db-s-2vcpu-4gb',
    tags: ['production'],
    private_network_uuid: 'd455e75d-4858-4eec-8c95-da2f0a5f93a7',
    storage_size_mib: 61440,
    maintenance_window: { day: 'saturday', hour: '08:45:12', description: ['x'] },
    // fields a future API version might add
    future: { admin_password: secret, nested: [{ sasl_secret: secret, dsn: `mysql://u:${secret}@h/db` }] },
  };

  it('one unpaginated call; every credential is stripped before the items leave the client', async () => {
    stub.setHandler((_req, res) => json(res, 200, { databases: [raw] }));
    const seen: unknown[] = [];
    const listing = await client().listDatabases({ onPage: (items) => void seen.push(...items) });
    expect(listing).toMatchObject({ complete: true, pages: 1, apiCalls: 1, count: 1 });
    expect(stub.requests[0]?.query.has('page')).toBe(false);
    for (const value of [listing.items, seen]) {
      const text = JSON.stringify(value);
      expect(text).not.toContain(secret);
      expect(text).not.toMatch(/password|connection|"uri"|"users"/);
    }
    expect(listing.items[0]).toMatchObject({
      id: raw.id,
      name: 'backend',
      engine: 'pg',
      size: 'db-s-2vcpu-4gb',
      tags: ['production'],
      storage_size_mib: 61440,
      private_network_uuid: raw.private_network_uuid,
      maintenance_window: raw.maintenance_window,
    });
  });

  it('an empty databases list may be null', async () => {
    stub.setHandler((_req, res) => json(res, 200, { databases: null }));
    expect(await client().listDatabases()).toMatchObject({ complete: true, count: 0 });
  });

  it('stripDatabaseSecrets keeps harmless fields such as security settings', () => {
    const out = stripDatabaseSecrets({
      id: 'x',
      security: { rules: 1 },
      users: [{ password: 'p' }],
    }) as unknown as Record<string, unknown>;
    expect(out).toEqual({ id: 'x', security: { rules: 1 } });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('invoice CSV', () => {
  const header = 'product,group_description,description,hours,start,end,USD,project_name,category\n';

  it('is streamed: the first bytes arrive while the server is still writing', async () => {
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    stub.setHandler(async (_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/csv',
        'content-disposition': 'attachment; filename="DigitalOcean Invoice 2020 Jul (6173678-418071234).csv"',
        'x-request-id': 'csv-1',
      });
      res.write(header);
      await finished; // the rest comes only after the client has read the first chunk
      for (let i = 0; i < 1000; i++)
        res.write(
          `Droplets,,web-${i} (s-1vcpu-1gb),744,2020-07-01 00:00:00 +0000,2020-07-31 23:59:59 +0000,$5.00,,iaas\n`,
        );
      res.end();
    });
    const csv = await client().getInvoiceCsv('6173678');
    expect(csv).toMatchObject({
      contentType: 'text/csv',
      filename: 'DigitalOcean Invoice 2020 Jul (6173678-418071234).csv',
      requestId: 'csv-1',
    });
    expect(stub.requests[0]?.path).toBe('/v2/customers/my/invoices/6173678/csv');
    const chunks: string[] = [];
    for await (const chunk of csv.stream) {
      chunks.push(Buffer.from(chunk as Uint8Array).toString('utf8'));
      if (chunks.length === 1) {
        expect(chunks[0]).toBe(header);
        finish();
      }
    }
    const text = chunks.join('');
    expect(text.split('\n')).toHaveLength(1002);
  });

  it('retries a 5xx before the body, then streams', async () => {
    let n = 0;
    stub.setHandler((_req, res) => {
      if (++n === 1) return json(res, 502, { id: 'bad_gateway', message: '' });
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(header);
    });
    const csv = await client().getInvoiceCsv('u');
    let text = '';
    for await (const chunk of csv.stream) text += Buffer.from(chunk as Uint8Array).toString();
    expect(text).toBe(header);
    expect(n).toBe(2);
  });

  it('a connection dropped mid-stream errors the stream with a token-free DigitalOceanError', async () => {
    // The connection drops once the client holds the first chunk of the body: mid-stream by construction.
    let drop: (() => void) | undefined;
    stub.setHandler((_req, res, raw) => {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': '100000' });
      res.write(header);
      drop = () => raw.socket.destroy();
    });
    const csv = await client().getInvoiceCsv('u');
    let caught: unknown;
    let chunks = 0;
    try {
      for await (const _chunk of csv.stream) {
        if (++chunks === 1) drop!();
      }
    } catch (error) {
      caught = error;
    }
    expect(chunks).toBeGreaterThanOrEqual(1);
    expect(caught).toBeInstanceOf(DigitalOceanError);
    expect((caught as DigitalOceanError).kind).toBe('network');
    expectNoToken(caught);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('stats', () => {
  it('counts calls per listing and per client; snapshot and reset', async () => {
    stub.setHandler((req, res) =>
      json(res, 200, pageOf(req.path === '/v2/droplets' ? 'droplets' : 'volumes', ids(401), req, trap.url)),
    );
    const c = client();
    const a = await c.listDroplets();
    const b = await c.listVolumes();
    expect([a.apiCalls, b.apiCalls]).toEqual([3, 3]);
    const snap = c.stats();
    expect(snap.requests).toBe(6);
    snap.requests = 999; // a copy
    expect(c.stats().requests).toBe(6);
    c.resetStats();
    expect(c.stats()).toMatchObject({ requests: 0, retries: 0 });
  });
});
