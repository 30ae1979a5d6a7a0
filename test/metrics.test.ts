// GET /metrics after real work: syncs against the simulator (one that succeeds, one that fails, a 429 storm), an
// invoice ingest, and the scrape read back and checked value by value; the access rules of /metrics; and that no
// scrape ever shows a token, a tenant or a resource's name.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { observedStateSource } from '../src/domain/observed-state.js';
import { INVENTORY_TASKS } from '../src/domain/tasks.js';
import { createMetricsServer, METRICS_PATH } from '../src/http/metrics-route.js';
import { syncBillingHistory } from '../src/jobs/billing/history.js';
import { ingestInvoice } from '../src/jobs/billing/ingest.js';
import { renderMetrics, setObservedStateSource, trackPool } from '../src/metrics.js';
import { startApi, TEST_JWT_SECRET, token } from './helpers/api.js';
import { gql } from './helpers/graphql.js';
import { ACCOUNT, startBillingHarness, TEST_TOKEN, type BillingHarness } from './helpers/billing.js';
import { parseScrape, sampleValue, type Sample } from './helpers/scrape.js';
import { createTestDatabase } from './helpers/database.js';
import { freePort, spawnEntry } from './helpers/process.js';
import { simulatorCounts } from './helpers/sync.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const TENANT = 'tenant-zebra-7f3a91';

let h: BillingHarness;
let scrape: () => Promise<Sample[]>;

beforeAll(async () => {
  h = await startBillingHarness({ seed: 5 });
  setObservedStateSource(
    observedStateSource(h.pool, { accountId: ACCOUNT, budget: { token: TEST_TOKEN, limit: 200 } }),
  );
  trackPool(h.pool, 'main');
  scrape = async () => parseScrape(await renderMetrics());
});

afterAll(async () => {
  setObservedStateSource(undefined);
  await h?.close();
});

const v = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  sampleValue(samples, name, labels);

describe('a scrape after a sync', () => {
  it('counts every inventory run, its items and its API calls; freshness comes from sync_runs', async () => {
    // The harness synced every inventory task once at its start.
    const samples = await scrape();
    const counts = simulatorCounts(h.sim);
    for (const task of INVENTORY_TASKS) {
      expect(v(samples, 'cloud_ops_sync_runs_total', { task, outcome: 'succeeded' }), task).toBe(1);
      expect(v(samples, 'cloud_ops_sync_runs_in_flight', { task }), task).toBe(0);
      expect(v(samples, 'cloud_ops_sync_run_duration_seconds_count', { task }), task).toBe(1);
      const age = v(samples, 'cloud_ops_sync_seconds_since_last_success', { task });
      expect(age, task).toBeGreaterThanOrEqual(0);
      expect(age, task).toBeLessThan(120);
    }
    for (const [task, count] of Object.entries(counts)) {
      expect(v(samples, 'cloud_ops_sync_items_listed_total', { task }), task).toBe(count);
      expect(v(samples, 'cloud_ops_sync_items_created_total', { task }), task).toBe(count);
    }
    // The runs' API calls are the transport's requests, endpoint by endpoint.
    const runCalls = INVENTORY_TASKS.reduce(
      (sum, task) => sum + (v(samples, 'cloud_ops_sync_api_calls_total', { task }) ?? 0),
      0,
    );
    const requests = samples
      .filter((s) => s.name === 'cloud_ops_digitalocean_requests_total')
      .reduce((sum, s) => sum + s.value, 0);
    expect(runCalls).toBeGreaterThan(INVENTORY_TASKS.length);
    expect(requests).toBe(runCalls);
    expect(
      v(samples, 'cloud_ops_digitalocean_requests_total', { endpoint: 'droplets', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      v(samples, 'cloud_ops_digitalocean_requests_total', { endpoint: 'project_resources', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    // No grants were taken from a shared budget (the harness's transport has none): the whole window is left.
    expect(v(samples, 'cloud_ops_digitalocean_request_budget_remaining')).toBe(200);
    // Periods from the task registry: what the freshness alert multiplies.
    expect(v(samples, 'cloud_ops_sync_schedule_period_seconds', { task: 'droplet' })).toBe(900);
    expect(v(samples, 'cloud_ops_sync_schedule_period_seconds', { task: 'snapshot' })).toBe(3600);
    expect(v(samples, 'cloud_ops_sync_schedule_period_seconds', { task: 'billing_history' })).toBe(86400);
    expect(v(samples, 'cloud_ops_metrics_database_up')).toBe(1);
    expect(v(samples, 'cloud_ops_db_pool_connections', { pool: 'main', state: 'idle' })).toBeGreaterThanOrEqual(1);
  });

  it('counts a failed run, its 5xx answers and its retries', async () => {
    h.sim.setFaults({ serverError: { path: '/v2/volumes', status: 500 } });
    try {
      const result = await h.engine.run('volume', { trigger: 'manual' });
      expect(result.status).toBe('failed');
    } finally {
      h.sim.setFaults({});
    }
    const samples = await scrape();
    expect(v(samples, 'cloud_ops_sync_runs_total', { task: 'volume', outcome: 'failed' })).toBe(1);
    expect(v(samples, 'cloud_ops_sync_runs_total', { task: 'volume', outcome: 'succeeded' })).toBe(1);
    // testTransport: 3 retries after the first attempt, every one answered 500.
    expect(v(samples, 'cloud_ops_digitalocean_requests_total', { endpoint: 'volumes', status: '500' })).toBe(4);
    expect(v(samples, 'cloud_ops_digitalocean_retries_total', { endpoint: 'volumes' })).toBe(3);
    // The last success is still the first run's.
    expect(v(samples, 'cloud_ops_sync_seconds_since_last_success', { task: 'volume' })).toBeGreaterThanOrEqual(0);
  });

  it('counts a 429 storm: every 429, every retry, and the run that got through', async () => {
    const before = await scrape();
    h.sim.setFaults({ burst429: { path: '/v2/firewalls', count: 3, retryAfterSeconds: 1 } });
    try {
      const result = await h.engine.run('firewall', { trigger: 'manual' });
      expect(result.status).toBe('succeeded');
    } finally {
      h.sim.setFaults({});
    }
    const samples = await scrape();
    expect(v(samples, 'cloud_ops_digitalocean_rate_limited_total', { endpoint: 'firewalls' })).toBe(3);
    expect(v(samples, 'cloud_ops_digitalocean_requests_total', { endpoint: 'firewalls', status: '429' })).toBe(3);
    expect(
      (v(samples, 'cloud_ops_digitalocean_retries_total', { endpoint: 'firewalls' }) ?? 0) -
        (v(before, 'cloud_ops_digitalocean_retries_total', { endpoint: 'firewalls' }) ?? 0),
    ).toBe(3);
    expect(v(samples, 'cloud_ops_sync_runs_total', { task: 'firewall', outcome: 'succeeded' })).toBe(2);
    // The simulator answers 429s with ratelimit-remaining 0; the last answer (a 200) carries its real figure.
    expect(v(samples, 'cloud_ops_digitalocean_ratelimit_remaining')).toBeGreaterThan(0);
  });
});

describe('a scrape while the database is stuck', () => {
  it('answers without the database state (cloud_ops_metrics_database_up 0) once the statement timeout fires', async () => {
    setObservedStateSource(observedStateSource(h.pool, { accountId: ACCOUNT, statementTimeoutMs: 300 }));
    const locker = new pg.Client({ connectionString: h.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE cloud_invoices IN ACCESS EXCLUSIVE MODE');
      const stuck = await scrape();
      expect(v(stuck, 'cloud_ops_metrics_database_up')).toBe(0);
      expect(v(stuck, 'cloud_ops_sync_seconds_since_last_success', { task: 'droplet' })).toBeUndefined();
      // What this process counted is still there.
      expect(v(stuck, 'cloud_ops_sync_runs_total', { task: 'droplet', outcome: 'succeeded' })).toBe(1);
      await locker.query('ROLLBACK');
      const again = await scrape();
      expect(v(again, 'cloud_ops_metrics_database_up')).toBe(1);
      expect(v(again, 'cloud_ops_sync_seconds_since_last_success', { task: 'droplet' })).toBeGreaterThanOrEqual(0);
    } finally {
      await locker.end();
      setObservedStateSource(
        observedStateSource(h.pool, { accountId: ACCOUNT, budget: { token: TEST_TOKEN, limit: 200 } }),
      );
    }
  });
});

describe('a scrape after an invoice ingest', () => {
  it('counts the ingest, its lines and the latest match rate, from the run and from cloud_invoices', async () => {
    const uuids: string[] = [];
    await syncBillingHistory(h.billing, {
      trigger: 'manual',
      enqueueInvoice: (uuid) => Promise.resolve(void uuids.push(uuid)),
    });
    const finals = uuids.filter((uuid) => uuid !== 'preview');
    expect(finals.length).toBeGreaterThan(0);
    const outcome = await ingestInvoice(h.billing, finals[0]!, { trigger: 'manual' });
    expect(outcome.status).toBe('ingested');
    if (outcome.status !== 'ingested') return;

    const samples = await scrape();
    expect(v(samples, 'cloud_ops_billing_invoice_ingests_total', { outcome: 'ingested' })).toBe(1);
    expect(v(samples, 'cloud_ops_billing_invoice_lines_total')).toBe(outcome.lineCount);
    expect(v(samples, 'cloud_ops_billing_invoice_ingest_duration_seconds_count', { outcome: 'ingested' })).toBe(1);
    expect(v(samples, 'cloud_ops_sync_runs_total', { task: 'invoice', outcome: 'succeeded' })).toBe(1);
    expect(v(samples, 'cloud_ops_sync_items_listed_total', { task: 'invoice' })).toBe(outcome.lineCount);
    const { rows } = await h.pool.query<{ rate: number }>(
      `SELECT match_rate::float8 AS rate FROM cloud_invoices WHERE account_id = $1 AND NOT provisional
       AND ingest_status = 'ingested' ORDER BY period DESC LIMIT 1`,
      [ACCOUNT],
    );
    expect(v(samples, 'cloud_ops_billing_latest_invoice_match_ratio')).toBeCloseTo(rows[0]!.rate, 6);
    expect(v(samples, 'cloud_ops_billing_invoices', { status: 'ingested' })).toBe(1);
    expect(v(samples, 'cloud_ops_billing_invoices', { status: 'pending' })).toBe(uuids.length - 1);
  });

  it('counts a failed ingest', async () => {
    const { rows } = await h.pool.query<{ invoice_uuid: string }>(
      `SELECT invoice_uuid FROM cloud_invoices WHERE account_id = $1 AND ingest_status = 'pending' AND NOT provisional LIMIT 1`,
      [ACCOUNT],
    );
    h.sim.setFaults({ serverError: { path: '/v2/customers/my/invoices/*', status: 500 } });
    try {
      const outcome = await ingestInvoice(h.billing, rows[0]!.invoice_uuid, { trigger: 'manual' });
      expect(outcome.status).toBe('failed');
    } finally {
      h.sim.setFaults({});
    }
    const samples = await scrape();
    expect(v(samples, 'cloud_ops_billing_invoice_ingests_total', { outcome: 'failed' })).toBe(1);
    expect(v(samples, 'cloud_ops_billing_invoices', { status: 'failed' })).toBe(1);
    expect(v(samples, 'cloud_ops_sync_runs_total', { task: 'invoice', outcome: 'failed' })).toBe(1);
  });
});

describe('a scrape after GraphQL operations', () => {
  it('counts operations by type and outcome, and times them', async () => {
    const api = await startApi();
    try {
      const admin = await token({ admin: true });
      const before = await scrape();
      const count = (samples: Sample[], type: string, outcome: string): number =>
        v(samples, 'cloud_ops_graphql_requests_total', { operation_type: type, outcome }) ?? 0;
      expect((await gql(api.url, '{ resources(first: 2) { totalCount } }', { token: admin })).status).toBe(200);
      expect((await gql(api.url, 'query Q { resources(first: 2) { totalCount } }', { token: admin })).status).toBe(200);
      await gql(api.url, '{ noSuchField }', { token: admin });
      await gql(api.url, 'mutation { triggerSync(task: "no-such-task") { queued } }', { token: admin });
      const after = await scrape();
      expect(count(after, 'query', 'ok') - count(before, 'query', 'ok')).toBe(2);
      expect(count(after, 'query', 'error') - count(before, 'query', 'error')).toBe(1);
      expect(count(after, 'mutation', 'error') + count(after, 'mutation', 'ok')).toBeGreaterThanOrEqual(1);
      expect(
        v(after, 'cloud_ops_graphql_request_duration_seconds_count', { operation_type: 'query' }),
      ).toBeGreaterThanOrEqual(3);
      expect(v(after, 'cloud_ops_graphql_subscriptions_active')).toBe(0);
    } finally {
      await api.close();
    }
  });
});

describe('what a scrape never shows', () => {
  it('no token (nor its hash), no tenant, no resource or project name; every label value is from a bounded set', async () => {
    await h.pool.query(`UPDATE cloud_projects SET tenant_id = $1`, [TENANT]);
    await h.engine.run('projects', { trigger: 'manual' });
    const text = await renderMetrics();
    const names = await h.pool.query<{ name: string }>(
      `SELECT name FROM cloud_resources WHERE name IS NOT NULL UNION SELECT name FROM cloud_projects`,
    );
    // Short names ("web") could be a word of a help text by chance; the simulator's names are longer.
    const distinctive = names.rows.map((r) => r.name).filter((name) => name.length >= 6);
    expect(distinctive.length).toBeGreaterThan(20);
    for (const name of distinctive) expect(text, name).not.toContain(name);
    expect(text).not.toContain(TEST_TOKEN);
    expect(text).not.toContain(createHash('sha256').update(TEST_TOKEN).digest('hex'));
    expect(text).not.toContain(TENANT);
    const { rows: uuids } = await h.pool.query<{ id: string }>(
      `SELECT invoice_uuid AS id FROM cloud_invoices UNION SELECT provider_id FROM cloud_projects`,
    );
    for (const { id } of uuids) expect(text, id).not.toContain(id);

    // Every label value has the shape of a bounded one: a task, an endpoint class, a status code, an outcome.
    for (const sample of parseScrape(text))
      for (const [label, value] of Object.entries(sample.labels))
        expect(`${sample.name}{${label}="${value}"}`).toMatch(
          /="([a-z0-9_]{1,40}|\d{3}|[0-9.+eInf]+|v?\d+\.\d+\.\d+.*)"}$/,
        );
  });
});

describe('access to /metrics', () => {
  it('asks for the bearer token when one is configured', async () => {
    const server = createMetricsServer({ token: METRICS_TOKEN });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${METRICS_PATH}`;
    try {
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await ok.text()).toContain('cloud_ops_sync_runs_total');
    } finally {
      server.close();
    }
  });

  it('on the service port: open outside production, behind METRICS_TOKEN, absent with METRICS_LISTEN or in production without either', async () => {
    const status = async (env: Record<string, string>, headers: Record<string, string> = {}): Promise<number> => {
      const api = await startApi(env);
      try {
        return (await fetch(api.url.replace('/graphql', METRICS_PATH), { headers })).status;
      } finally {
        await api.close();
      }
    };
    expect(await status({})).toBe(200);
    expect(await status({ METRICS_TOKEN })).toBe(401);
    expect(await status({ METRICS_TOKEN }, { authorization: `Bearer ${METRICS_TOKEN}` })).toBe(200);
    expect(await status({ METRICS_LISTEN: '127.0.0.1:0' })).toBe(404);
    expect(await status({ NODE_ENV: 'production' })).toBe(404);
    expect(await status({ NODE_ENV: 'production', METRICS_TOKEN }, { authorization: `Bearer ${METRICS_TOKEN}` })).toBe(
      200,
    );
  });

  it('reads METRICS_LISTEN and METRICS_TOKEN, refusing what is malformed', () => {
    const base = { NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET };
    expect(loadConfig(base).metrics).toEqual({ enabled: false, token: undefined, listen: undefined });
    expect(loadConfig({ ...base, METRICS_LISTEN: '127.0.0.1:9464' }).metrics.listen).toEqual({
      host: '127.0.0.1',
      port: 9464,
    });
    expect(loadConfig({ ...base, METRICS_LISTEN: '9464' }).metrics.listen).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(loadConfig({ ...base, METRICS_LISTEN: '[::1]:9464' }).metrics.listen).toEqual({ host: '::1', port: 9464 });
    expect(() => loadConfig({ ...base, METRICS_LISTEN: 'localhost:99999' })).toThrow(/METRICS_LISTEN/);
    expect(() => loadConfig({ ...base, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});

// A scrape over HTTP answers HEAD without a body, as Prometheus' health probes send.
describe('HEAD /metrics', () => {
  it('answers 200 with no body', async () => {
    const server = createMetricsServer({ token: undefined });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http
          .request({ host: '127.0.0.1', port, path: METRICS_PATH, method: 'HEAD' }, resolve)
          .on('error', reject)
          .end(),
      );
      expect(response.statusCode).toBe(200);
      response.resume();
    } finally {
      server.close();
    }
  });
});

describe('npm run worker', () => {
  it('serves /metrics on its health port, behind METRICS_TOKEN, with the queue read from graphile-worker', async () => {
    const db = await createTestDatabase();
    // No DigitalOcean token: this worker takes no DigitalOcean job, so one queued stays waiting.
    const worker = spawnEntry('src/worker.ts', {
      DATABASE_URL: db.url,
      WORKER_HEALTH_PORT: '0',
      HOST: '127.0.0.1',
      METRICS_TOKEN,
      NODE_ENV: 'production',
      JWT_SECRET: TEST_JWT_SECRET,
    });
    try {
      await worker.waitForOutput(/worker health listening/);
      const port = /"url":"http:\/\/localhost:(\d+)\/api\/health\/ready"/.exec(worker.output())![1];
      const url = `http://127.0.0.1:${port}${METRICS_PATH}`;
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query(
        `SELECT graphile_worker.add_job('sync:droplet', '{}'::json, run_at => now() - interval '90 seconds')`,
      );
      await client.end();
      expect((await fetch(url)).status).toBe(401);
      const response = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(response.status).toBe(200);
      const samples = parseScrape(await response.text());
      expect(v(samples, 'cloud_ops_jobs_waiting', { task: 'droplet' })).toBe(1);
      expect(v(samples, 'cloud_ops_jobs_oldest_waiting_age_seconds', { task: 'droplet' })).toBeGreaterThanOrEqual(89);
      expect(v(samples, 'cloud_ops_db_pool_connections', { pool: 'worker', state: 'idle' })).toBeGreaterThanOrEqual(0);
      expect(v(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(v(samples, 'cloud_ops_metrics_database_up')).toBe(1);
    } finally {
      await worker.stop('SIGTERM');
      await db.drop();
    }
  });
});

describe('npm start with METRICS_LISTEN', () => {
  it('serves /metrics on that address only, in production without a token', async () => {
    const db = await createTestDatabase();
    const [port, metricsPort] = [await freePort(), await freePort()];
    const server = spawnEntry('src/server.ts', {
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      RUN_WORKER: 'false',
      NODE_ENV: 'production',
      JWT_SECRET: TEST_JWT_SECRET,
      METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    });
    try {
      await server.waitForOutput(/cloud-ops listening/);
      expect((await fetch(`http://127.0.0.1:${port}${METRICS_PATH}`)).status).toBe(404);
      const response = await fetch(`http://127.0.0.1:${metricsPort}${METRICS_PATH}`);
      expect(response.status).toBe(200);
      const samples = parseScrape(await response.text());
      expect(v(samples, 'cloud_ops_metrics_database_up')).toBe(1);
      expect(v(samples, 'cloud_ops_db_pool_connections', { pool: 'main', state: 'idle' })).toBeGreaterThanOrEqual(0);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/graphql`)).status).toBe(404);
    } finally {
      await server.stop('SIGTERM');
      await db.drop();
    }
  });
});
