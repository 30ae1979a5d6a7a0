// The DigitalOcean client against the simulator: every endpoint the service reads, and every injected fault.
// Pure client behaviour with hand-made servers is in digitalocean-client.test.ts.
import util from 'node:util';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createDigitalOceanClient,
  DigitalOceanError,
  type DigitalOceanClientOptions,
} from '../src/digitalocean/client.js';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { fakeClock, startStub, type FakeClock, type Stub } from './helpers/http-stub.js';

const TOKEN = 'dop_v1_51mu1at0r70ken51mu1at0r70ken51mu1at0r70ken51mu1at0r70ken0000';
const SCALE = { droplets: 430, snapshots: 650, volumes: 210, reservedIps: 205, projects: 4, months: 3 };

const logLines: string[] = [];
const captureLogger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
const thrown: unknown[] = [];

let sim: Simulator;
let trap: Stub; // `links.pages` name this host: it must never be contacted
let clock: FakeClock;

beforeAll(async () => {
  trap = await startStub();
  sim = await startSimulator({ seed: 11, scale: SCALE, token: TOKEN, linkBase: trap.url, largeInvoiceLines: 20_000 });
});
afterAll(async () => {
  await sim.close();
  await trap.close();
});
afterEach(() => {
  expect(trap.requests).toHaveLength(0);
  sim.setFaults({});
  sim.requests.clear();
});

function client(overrides: Partial<DigitalOceanClientOptions> = {}) {
  // Virtual time that starts at the real time, so the simulator's ratelimit-reset (real epoch) makes sense.
  clock = fakeClock(Date.now());
  return createDigitalOceanClient({
    token: TOKEN,
    baseUrl: sim.url,
    timeoutMs: 2_000,
    logger: captureLogger,
    clock,
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

const pagesFor = (n: number) => Math.max(1, Math.ceil(n / 200));

describe('every endpoint against the simulator', () => {
  it('inventory lists are complete, hold every record, and cost ceil(N/200) calls', async () => {
    const c = client();
    const cases = [
      ['droplet', () => c.listDroplets()],
      ['volume', () => c.listVolumes()],
      ['snapshot', () => c.listSnapshots()],
      ['reserved_ip', () => c.listReservedIps()],
      ['reserved_ipv6', () => c.listReservedIpv6s()],
      ['firewall', () => c.listFirewalls()],
      ['load_balancer', () => c.listLoadBalancers()],
      ['domain', () => c.listDomains()],
      ['project', () => c.listProjects()],
      ['kubernetes', () => c.listKubernetesClusters()],
      ['app', () => c.listApps()],
    ] as const;
    for (const [kind, list] of cases) {
      const n = sim.account.list(kind).length;
      const listing = await list();
      expect({
        kind,
        complete: listing.complete,
        count: listing.count,
        total: listing.total,
        calls: listing.apiCalls,
      }).toEqual({
        kind,
        complete: true,
        count: n,
        total: n,
        calls: pagesFor(n),
      });
      expect(listing.items).toHaveLength(n);
    }
    expect(sim.account.list('droplet').length).toBeGreaterThan(400); // really paginated
  });

  it('snapshots by resource type add up to all snapshots', async () => {
    const c = client();
    const [all, droplet, volume] = [
      await c.listSnapshots(),
      await c.listSnapshots({ resourceType: 'droplet' }),
      await c.listSnapshots({ resourceType: 'volume' }),
    ];
    expect(droplet.items.every((s) => s.resource_type === 'droplet')).toBe(true);
    expect(volume.items.every((s) => s.resource_type === 'volume')).toBe(true);
    expect(droplet.count + volume.count).toBe(all.count);
    expect([droplet.complete, volume.complete]).toEqual([true, true]);
  });

  it('apps carry project_id (with_projects=true)', async () => {
    const apps = await client().listApps();
    expect(apps.items.length).toBeGreaterThan(0);
    expect(apps.items.every((a) => typeof a.project_id === 'string' && a.project_id !== '')).toBe(true);
  });

  it('account, default project and project resources (per project and default)', async () => {
    const c = client();
    expect((await c.getAccount()).uuid).toBe(sim.account.uuid);
    const def = await c.getDefaultProject();
    expect(def.is_default).toBe(true);
    const projects = await c.listProjects();
    let members = 0;
    for (const p of projects.items) {
      const listing = await c.listProjectResources(p.id);
      expect(listing.complete).toBe(true);
      expect(listing.apiCalls).toBe(pagesFor(listing.count));
      members += listing.count;
    }
    expect(members).toBeGreaterThan(0);
    const viaDefault = await c.listProjectResources('default');
    const direct = await c.listProjectResources(def.id);
    expect(viaDefault.items.map((r) => r.urn)).toEqual(direct.items.map((r) => r.urn));
  });

  it('databases: one call, no credentials anywhere', async () => {
    const listing = await client().listDatabases();
    expect(listing).toMatchObject({ complete: true, apiCalls: 1, count: sim.account.list('database').length });
    const text = JSON.stringify(listing.items);
    expect(text).not.toMatch(/password|"uri"|connection|"users"|:\/\/[^"]*@/);
    expect(listing.items[0]).toHaveProperty('engine');
  });

  it('billing: balance, history, invoices with preview, items, summary, and the CSV streamed', async () => {
    const c = client();
    const balance = await c.getBalance();
    expect(balance.month_to_date_usage).toMatch(/^-?\d+\.\d\d$/);
    const history = await c.listBillingHistory();
    expect(history).toMatchObject({ complete: true, count: sim.billing.history.length });
    const invoices = await c.listInvoices();
    expect(invoices).toMatchObject({ complete: true, count: sim.billing.invoices.length });
    expect(invoices.preview?.invoice_uuid).toBe(sim.billing.previewUuid);

    const preview = await c.listInvoiceItems('preview');
    expect(preview.complete).toBe(true);
    const big = sim.billing.invoices.find((i) => i.lineCount >= 20_000);
    expect(big).toBeDefined();
    const items = await c.listInvoiceItems(big!.uuid, { collect: false, onPage: () => undefined });
    expect(items).toMatchObject({
      complete: true,
      count: big!.lineCount,
      apiCalls: pagesFor(big!.lineCount),
      items: [],
    });

    const summary = await c.getInvoiceSummary(big!.uuid);
    expect(summary.invoice_uuid).toBe(big!.uuid);

    const csv = await c.getInvoiceCsv(big!.uuid);
    expect(csv.contentType).toMatch(/text\/csv/);
    expect(csv.filename).toMatch(/\.csv$/);
    let chunks = 0;
    let newlines = 0;
    let first = '';
    for await (const chunk of csv.stream) {
      const buf = Buffer.from(chunk as Uint8Array);
      if (chunks === 0) first = buf.toString('utf8', 0, 200);
      chunks++;
      for (const byte of buf) if (byte === 10) newlines++;
    }
    expect(first.replace(/^\uFEFF/, '')).toMatch(
      /^product,group_description,description,hours,start,end,USD,project_name/,
    );
    expect(newlines).toBeGreaterThanOrEqual(big!.lineCount); // header + one line per item
    expect(chunks).toBeGreaterThan(1); // arrived in pieces, not as one buffered blob
  });
});

describe('faults injected by the simulator', () => {
  it('429 with Retry-After (burst): waits retry-after, then the listing completes', async () => {
    sim.setFaults({ burst429: { path: '/v2/droplets', query: { page: '2' }, count: 1, retryAfterSeconds: 3 } });
    const c = client();
    const listing = await c.listDroplets();
    expect(listing).toMatchObject({ complete: true, apiCalls: 4 });
    expect(clock.sleeps).toContain(3_000);
    expect(c.stats()).toMatchObject({ rateLimited: 1, retries: 1 });
    expect(sim.requests.count({ status: 429 })).toBe(1);
  });

  it('429 without Retry-After (hourly): waits until ratelimit-reset', async () => {
    sim.setFaults({ hourly429: { path: '/v2/volumes', count: 1, resetInSeconds: 5 } });
    const c = client();
    const listing = await c.listVolumes();
    expect(listing.complete).toBe(true);
    const waited = c.stats().retryWaitMs;
    expect(waited).toBeGreaterThan(3_500);
    expect(waited).toBeLessThanOrEqual(6_000);
  });

  it('5xx then success', async () => {
    sim.setFaults({
      serverError: [
        { path: '/v2/snapshots', count: 2 },
        { path: '/v2/account', count: 1, status: 502 },
      ],
    });
    const c = client();
    expect((await c.listSnapshots()).complete).toBe(true);
    await c.getAccount();
    expect(c.stats()).toMatchObject({ serverErrors: 3, retries: 3 });
  });

  it('5xx forever: typed error with the attempt count and DO request id', async () => {
    sim.setFaults({ serverError: { path: '/v2/firewalls' } });
    const err = await rejection(client({ maxRetries: 3 }).listFirewalls());
    expect(err).toMatchObject({
      kind: 'http',
      status: 500,
      id: 'server_error',
      attempts: 4,
      endpoint: '/v2/firewalls?page=1&per_page=200',
    });
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.listing).toMatchObject({ pages: 0, apiCalls: 4 });
    expect(sim.requests.count({ path: '/v2/firewalls' })).toBe(4);
  });

  it('401 (wrong token) and 404 are not retried', async () => {
    const err = await rejection(client({ token: 'dop_v1_wrong' }).getAccount());
    expect(err).toMatchObject({ status: 401, id: 'unauthorized', attempts: 1 });
    sim.setFaults({ notFound: '/v2/domains' });
    const err2 = await rejection(client().listDomains());
    expect(err2).toMatchObject({ status: 404, id: 'not_found', attempts: 1 });
    expect(sim.requests.count()).toBe(2);
  });

  it('slow responses beyond the timeout: retried; forever: a timeout error', async () => {
    sim.setFaults({ latency: { path: '/v2/account', ms: 2_000, count: 1 } });
    const c = client({ timeoutMs: 400 });
    expect((await c.getAccount()).uuid).toBe(sim.account.uuid);
    expect(c.stats()).toMatchObject({ timeouts: 1, requests: 2 });

    sim.setFaults({ latency: { path: '/v2/account', ms: 2_000 } });
    const err = await rejection(client({ timeoutMs: 400, maxRetries: 1 }).getAccount());
    expect(err).toMatchObject({ kind: 'timeout', attempts: 2 });
  });

  it('dropped connections, before the status line and mid-body, are retried', async () => {
    sim.setFaults({
      dropConnection: [
        { path: '/v2/droplets', query: { page: '1' }, count: 1, afterBytes: 0 },
        { path: '/v2/droplets', query: { page: '2' }, count: 1 },
      ],
    });
    const c = client();
    const listing = await c.listDroplets();
    expect(listing).toMatchObject({ complete: true, apiCalls: 5, count: sim.account.list('droplet').length });
    expect(c.stats().networkErrors).toBe(2);

    sim.setFaults({ dropConnection: { path: '/v2/account', afterBytes: 0 } });
    const err = await rejection(client({ maxRetries: 2 }).getAccount());
    expect(err).toMatchObject({ kind: 'network', attempts: 3 });
  });

  it('truncated listing: incomplete', async () => {
    sim.setFaults({ truncateListing: { path: '/v2/droplets', atPage: 2 } });
    const listing = await client().listDroplets();
    expect(listing.complete).toBe(false);
    expect(listing.incompleteReason).toMatch(/truncated/);
    expect(listing.count).toBeLessThan(sim.account.list('droplet').length);
  });

  it('endless next: incomplete, and the walk stops right away', async () => {
    sim.setFaults({ endlessNext: { path: '/v2/snapshots' } });
    const listing = await client().listSnapshots();
    expect(listing.complete).toBe(false);
    expect(listing.apiCalls).toBeLessThanOrEqual(pagesFor(sim.account.list('snapshot').length) + 1);
    expect(listing.count).toBe(sim.account.list('snapshot').length);
  });

  it('repeated page: incomplete', async () => {
    sim.setFaults({ repeatPage: { path: '/v2/droplets', page: 1 } });
    const listing = await client().listDroplets();
    expect(listing.complete).toBe(false);
    expect(listing.incompleteReason).toMatch(/repeated/);
  });

  it('listings that are fine stay complete while another kind is broken', async () => {
    sim.setFaults({ truncateListing: { path: '/v2/droplets' }, repeatPage: { path: '/v2/snapshots' } });
    const c = client();
    expect((await c.listVolumes()).complete).toBe(true);
    expect((await c.listDroplets()).complete).toBe(false);
    expect((await c.listSnapshots()).complete).toBe(false);
  });

  it('reserved IPs fall back to floating IPs on 404 only', async () => {
    sim.setFaults({ notFound: '/v2/reserved_ips' });
    const fallback = await client().listReservedIps();
    expect(fallback).toMatchObject({
      source: 'floating_ips',
      complete: true,
      count: sim.account.list('reserved_ip').length,
    });

    sim.setFaults({ serverError: { path: '/v2/reserved_ips' } });
    sim.requests.clear();
    const err = await rejection(client({ maxRetries: 1 }).listReservedIps());
    expect(err.status).toBe(500);
    expect(sim.requests.count({ path: '/v2/floating_ips' })).toBe(0);
  });

  it('no token in any thrown error or log line', () => {
    expect(thrown.length).toBeGreaterThan(5);
    for (const error of thrown) {
      expect(JSON.stringify(error)).not.toContain(TOKEN);
      expect(util.inspect(error, { depth: Infinity, showHidden: true })).not.toContain(TOKEN);
      expect((error as Error).stack).not.toContain(TOKEN);
    }
    expect(logLines.length).toBeGreaterThan(5);
    for (const line of logLines) expect(line).not.toContain(TOKEN);
  });
});
