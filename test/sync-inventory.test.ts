// The inventory sync against the simulator and a real database: a full sync of every kind, no credentials stored,
// counts on repeated runs, one statement per page (bulk path), the same mirror with and without pipelining, and progress
// events over LISTEN/NOTIFY.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPool } from '../src/db/client.js';
import { EventListener, type SyncEvent } from '../src/events.js';
import { INVENTORY_TASKS as SYNC_TASK_NAMES } from '../src/domain/tasks.js';
import { createSyncEngine, type SyncEngine, type SyncRunResult } from '../src/jobs/inventory/engine.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import {
  ACCOUNT,
  TEST_TOKEN,
  rowsPerKind,
  simulatorCounts,
  startSyncHarness,
  type SyncHarness,
} from './helpers/sync.js';

const UPSERT =
  /^\s*WITH upserted AS \(\s*INSERT INTO cloud_resources[\s\S]*ON CONFLICT \(account_id, kind, provider_id\)/;
const NOTIFY = /pg_notify/;

describe('inventory sync: every kind', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    // 1,000 droplets: several pages per walk (200 per page).
    h = await startSyncHarness({ seed: 3, scale: { droplets: 1000, snapshots: 450 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('mirrors every kind: rows per kind equal the simulator counts, every run succeeded and counted creations', async () => {
    const results = [];
    for (const task of SYNC_TASK_NAMES) results.push(await h.engine.run(task, { trigger: 'manual' }));
    for (const r of results) {
      expect(r.status, `${r.task}: ${r.error}`).toBe('succeeded');
      expect(r.complete).toBe(true);
      expect(r.error).toBeUndefined();
      expect(r.created, r.task).toBe(r.listed);
      expect(r.updated + r.unchanged, r.task).toBe(0);
      expect(r.apiCalls, r.task).toBeGreaterThanOrEqual(r.pages);
    }
    const rows = await rowsPerKind(h.pool);
    const expected = simulatorCounts(h.sim);
    for (const [kind, n] of Object.entries(expected)) expect(rows[kind] ?? 0, kind).toBe(n);
    expect(rows.droplet).toBeGreaterThan(1000); // stand-alone droplets plus the Kubernetes nodes

    const runs = await h.prisma.syncRun.findMany({ orderBy: { id: 'asc' } });
    expect(runs.map((r) => r.task)).toEqual([...SYNC_TASK_NAMES]);
    for (const run of runs) {
      expect(run.status).toBe('succeeded');
      expect(run.trigger).toBe('manual');
      expect(run.accountId).toBe(ACCOUNT);
      expect(run.finishedAt).not.toBeNull();
      expect(run.durationMs).toBeGreaterThanOrEqual(0);
      expect(run.apiCalls).toBeGreaterThan(0);
    }
    const droplets = runs.find((r) => r.task === 'droplet')!;
    expect(droplets.listed).toBe(expected.droplet);
    expect(droplets.created).toBe(expected.droplet);
    expect(await h.prisma.cloudAccount.count({ where: { id: ACCOUNT } })).toBe(1);
    expect(await h.prisma.cloudProject.count()).toBe(h.sim.account.count('project'));
  });

  it('fills the common columns and the kind-specific attrs', async () => {
    const sim = h.sim.account;
    const d = sim.list('droplet')[5]!;
    const row = await h.prisma.cloudResource.findUniqueOrThrow({
      where: { accountId_kind_providerId: { accountId: ACCOUNT, kind: 'droplet', providerId: String(d.id) } },
    });
    expect(row).toMatchObject({
      name: d.name,
      region: d.region,
      status: d.status,
      size: d.size_slug,
      missCount: 0,
      staleAt: null,
    });
    expect(row.tags).toEqual([...new Set(d.tags)].sort());
    expect(row.providerCreatedAt?.toISOString()).toBe(new Date(d.created_at).toISOString());
    expect(row.fingerprint).toMatch(/^[0-9a-f]{64}$/);

    const snap = sim.list('snapshot').find((s) => s.resource_type === 'volume')!;
    const snapRow = await h.prisma.cloudResource.findFirstOrThrow({ where: { kind: 'snapshot', providerId: snap.id } });
    expect(snapRow.attrs).toMatchObject({ resource_type: 'volume', resource_id: snap.resource_id });

    for (const ip of sim.list('reserved_ip')) {
      const ipRow = await h.prisma.cloudResource.findFirstOrThrow({
        where: { kind: 'floating_ip', providerId: ip.ip },
      });
      expect(ipRow.status).toBe(ip.droplet_id === null ? 'unassigned' : 'assigned');
      expect(ipRow.name).toBe(ip.ip);
    }
    const v6 = sim.list('reserved_ipv6')[0]!;
    expect(await h.prisma.cloudResource.count({ where: { kind: 'reserved_ipv6', providerId: v6.ip } })).toBe(1);
    const zone = sim.list('domain')[0]!;
    expect(
      await h.prisma.cloudResource.count({ where: { kind: 'dns_zone', providerId: zone.name, name: zone.name } }),
    ).toBe(1);
  });

  it('stores no database credential anywhere in the row', async () => {
    const { rows } = await h.pool.query<{ text: string }>(
      `SELECT r::text AS text FROM cloud_resources r WHERE kind = 'managed_db'`,
    );
    expect(rows.length).toBe(h.sim.account.count('database'));
    for (const { text } of rows) {
      for (const db of h.sim.account.list('database')) expect(text).not.toContain(db.password);
      expect(text).not.toMatch(/AVNS_|password|doadmin|:\/\/[^"\s]*@|"uri"|"connection"|private_connection|"users"/i);
    }
    // ...and nothing of it leaked into the run records either.
    const runs = await h.pool.query<{ text: string }>(`SELECT s::text AS text FROM sync_runs s`);
    for (const { text } of runs.rows) {
      expect(text).not.toMatch(/AVNS_/);
      expect(text).not.toContain(TEST_TOKEN);
    }
  });

  it('a second sync changes nothing and says so', async () => {
    for (const task of SYNC_TASK_NAMES) {
      const r = await h.engine.run(task, { trigger: 'cron' });
      expect(r.status, task).toBe('succeeded');
      expect(r.created, task).toBe(0);
      expect(r.updated, task).toBe(0);
      expect(r.unchanged, task).toBe(r.listed);
      expect(r.markedStale, task).toBe(0);
    }
  });

  it('writes each page with ONE statement (the bulk path); the rest of a run is a constant handful', async () => {
    h.sql.reset();
    h.sim.requests.clear();
    const r = await h.engine.run('snapshot', { trigger: 'manual' });
    expect(r.status).toBe('succeeded');
    const pages = h.sim.requests.count({ path: '/v2/snapshots' });
    expect(pages).toBe(Math.ceil(450 / 200));
    expect(r.pages).toBe(pages);
    const upserts = h.sql.count(UPSERT);
    const notifies = h.sql.count(NOTIFY);
    expect(upserts).toBe(pages); // one per page, whatever the page size
    expect(notifies).toBe(pages + 2); // a progress event per page, plus started and finished
    // Per run: account row, open run, mark stale, close run.
    expect(h.sql.statements.length - upserts - notifies).toBe(4);
    // None of them touches cloud_resources row by row.
    const perRow = h.sql.statements.filter(
      (s) => /cloud_resources/.test(s) && !UPSERT.test(s) && !/MARK|miss_count = miss_count \+ 1/.test(s),
    );
    expect(perRow).toHaveLength(0);
  });

  it('the droplet walk (two listings: /v2/droplets and ?type=gpus) is also one statement per page with rows', async () => {
    h.sql.reset();
    h.sim.requests.clear();
    const r = await h.engine.run('droplet', { trigger: 'manual' });
    expect(r.status).toBe('succeeded');
    const mainPages = h.sim.requests
      .filter({ path: '/v2/droplets' })
      .filter((e) => !e.query.includes('type=gpus')).length;
    expect(mainPages).toBe(Math.ceil(simulatorCounts(h.sim).droplet! / 200));
    // Pages whose items were all seen already (a GPU walk repeating droplets) write nothing.
    expect(h.sql.count(UPSERT)).toBe(mainPages);
    const listings = r.details.listings as Array<{
      path: string;
      query?: Record<string, string>;
      apiCalls: number;
      complete: boolean;
    }>;
    expect(listings.map((l) => [l.path, l.query?.type ?? null, l.complete])).toEqual([
      ['/v2/droplets', null, true],
      ['/v2/droplets', 'gpus', true],
    ]);
    expect(listings[0]!.apiCalls).toBe(mainPages);
    expect(r.apiCalls).toBe(listings.reduce((n, l) => n + l.apiCalls, 0));
  });
});

describe('inventory sync: pipelined and sequential writing', () => {
  // One simulator, two fresh databases: each engine mirrors the same listings into its own database.
  let h: SyncHarness;
  let sequentialDb: TestDatabase;
  let sequentialPool: pg.Pool;
  let pipelined: SyncEngine;
  let sequential: SyncEngine;
  beforeAll(async () => {
    // Several pages per walk (200 per page), so there is a next page to fetch while one is written.
    h = await startSyncHarness({ seed: 6, scale: { droplets: 450, snapshots: 450 } });
    pipelined = h.makeEngine({ pipeline: true });
    sequentialDb = await createTestDatabase();
    sequentialPool = createPool(sequentialDb.url, { max: 4 });
    sequential = createSyncEngine({ db: sequentialPool, accountId: ACCOUNT, transport: h.transport, pipeline: false });
  });
  afterAll(async () => {
    await sequentialPool?.end();
    await sequentialDb?.drop();
    await h?.close();
  });

  /** Every task with one engine; the results without what differs by nature (run ids, durations). */
  async function syncEveryTask(engine: SyncEngine): Promise<Array<Omit<SyncRunResult, 'runId' | 'durationMs'>>> {
    const results = [];
    for (const task of SYNC_TASK_NAMES) {
      const { runId: _runId, durationMs: _durationMs, ...result } = await engine.run(task, { trigger: 'manual' });
      expect(result.status, `${task}: ${result.error}`).toBe('succeeded');
      results.push(result);
    }
    return results;
  }

  /** The mirrored rows, without surrogate ids and write times (projects named by their DigitalOcean id). */
  async function mirroredRows(pool: pg.Pool): Promise<unknown[]> {
    const { rows } = await pool.query<Record<string, unknown>>(`
      SELECT r.kind, r.provider_id, r.name, r.region, r.status, r.size, r.tags, r.attrs, r.fingerprint,
             p.provider_id AS project, r.tenant_id, r.attribution_source, r.provider_created_at, r.miss_count, r.stale_at IS NOT NULL AS stale
      FROM cloud_resources r LEFT JOIN cloud_projects p ON p.id = r.cloud_project_id
      ORDER BY r.kind, r.provider_id`);
    return rows;
  }

  it('produce the same rows and counts, on a first sync and after changes', async () => {
    const firstPipelined = await syncEveryTask(pipelined);
    const firstSequential = await syncEveryTask(sequential);
    expect(firstSequential).toEqual(firstPipelined);
    expect(firstPipelined.find((r) => r.task === 'snapshot')).toMatchObject({ listed: 450, created: 450, pages: 3 });
    const rows = await mirroredRows(h.pool);
    expect(rows.length).toBeGreaterThan(900);
    expect(await mirroredRows(sequentialPool)).toEqual(rows);

    const account = h.sim.account;
    account.update('snapshot', account.list('snapshot')[0]!.id, { name: 'renamed-snapshot' });
    account.deleteDroplet(account.list('droplet')[0]!.id);
    account.create('volume', { name: 'added-volume' });
    const againPipelined = await syncEveryTask(pipelined);
    const againSequential = await syncEveryTask(sequential);
    expect(againSequential).toEqual(againPipelined);
    expect(againPipelined.find((r) => r.task === 'snapshot')).toMatchObject({
      listed: 450,
      created: 0,
      updated: 1,
      unchanged: 449,
    });
    expect(againPipelined.find((r) => r.task === 'volume')).toMatchObject({ created: 1 });
    const changedRows = await mirroredRows(h.pool);
    expect(changedRows).not.toEqual(rows);
    expect(await mirroredRows(sequentialPool)).toEqual(changedRows);
  });
});

describe('inventory sync: progress events', () => {
  let h: SyncHarness;
  let listener: EventListener;
  const events: SyncEvent[] = [];
  beforeAll(async () => {
    h = await startSyncHarness({ seed: 4, scale: { volumes: 450 } });
    listener = new EventListener(h.db.url);
    listener.on('event', (e) => events.push(e));
    await listener.start();
  });
  afterAll(async () => {
    await listener?.stop();
    await h?.close();
  });

  // Events arrive through Postgres a moment after the run returns: wait for the one named, failing if it never comes.
  const waitFor = (predicate: () => boolean): Promise<void> =>
    vi.waitFor(() => expect(predicate()).toBe(true), { timeout: 30_000, interval: 10 });

  it('publishes started, a progress event per page with done/total, and finished with the counts', async () => {
    const r = await h.engine.run('volume', { trigger: 'manual' });
    await waitFor(() => events.some((e) => e.type === 'finished' && e.runId === r.runId));
    const mine = events.filter((e) => e.task === 'volume' && e.runId === r.runId);
    expect(mine[0]?.type).toBe('started');
    const progress = mine.filter((e) => e.type === 'progress');
    expect(progress.map((e) => [e.page, e.done, e.total])).toEqual([
      [1, 200, 450],
      [2, 400, 450],
      [3, 450, 450],
    ]);
    const finished = mine.at(-1)!;
    expect(finished.type).toBe('finished');
    expect(finished.counts).toMatchObject({
      listed: 450,
      created: 450,
      updated: 0,
      unchanged: 0,
      markedStale: 0,
      pages: 3,
      apiCalls: 3,
    });
    expect(finished.message).toBe('succeeded');
  });

  it('publishes failed with a message that names the problem and never the token', async () => {
    h.sim.setFaults({ serverError: { path: '/v2/firewalls', count: 50 } });
    try {
      const r = await h.engine.run('firewall', { trigger: 'manual' });
      expect(r.status).toBe('failed');
      await waitFor(() => events.some((e) => e.type === 'failed' && e.runId === r.runId));
      const failed = events.find((e) => e.type === 'failed' && e.runId === r.runId)!;
      expect(failed.task).toBe('firewall');
      expect(failed.message).toMatch(/\/v2\/firewalls.*HTTP 500/);
      expect(failed.message).not.toContain(TEST_TOKEN);
    } finally {
      h.sim.setFaults({});
    }
  });
});
