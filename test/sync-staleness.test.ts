// Churn over runs (created, changed, deleted → stale after exactly three complete runs, back when it reappears) and
// listings that are not complete (truncated pages, a 500 mid-walk after retries, a 429 storm, endless or repeated
// pages): those mark nothing stale and their run says incomplete or failed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DropletRec } from '../tools/simulator/index.js';
import type { InventoryTaskName } from '../src/domain/tasks.js';
import { createSyncEngine } from '../src/jobs/inventory/engine.js';
import { ACCOUNT, TEST_TOKEN, startSyncHarness, testTransport, type SyncHarness } from './helpers/sync.js';

async function dropletRow(h: SyncHarness, id: number | string) {
  return h.prisma.cloudResource.findUnique({
    where: { accountId_kind_providerId: { accountId: ACCOUNT, kind: 'droplet', providerId: String(id) } },
  });
}

describe('inventory sync: churn over runs', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ seed: 21, scale: { droplets: 300 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('counts created, updated and unchanged; a deleted droplet goes stale after exactly three complete runs', async () => {
    const sim = h.sim.account;
    const first = await h.engine.run('droplet', { trigger: 'cron' });
    const n = sim.count('droplet');
    expect(first).toMatchObject({
      status: 'succeeded',
      listed: n,
      created: n,
      updated: 0,
      unchanged: 0,
      markedStale: 0,
    });

    const doomed = sim.list('droplet')[10]!;
    const renamed = sim.list('droplet')[20]!;
    const resized = sim.list('droplet')[30]!;
    const snapshotOfDoomed = structuredClone<DropletRec>(doomed);
    sim.createDroplet({ name: 'new-one' });
    sim.createDroplet({ name: 'new-two' });
    sim.updateDroplet(renamed.id, { name: 'renamed-host' });
    sim.updateDroplet(resized.id, { size_slug: 'm-2vcpu-16gb' });
    sim.deleteDroplet(doomed.id);

    const second = await h.engine.run('droplet', { trigger: 'cron' });
    expect(second).toMatchObject({
      status: 'succeeded',
      listed: n + 1,
      created: 2,
      updated: 2,
      unchanged: n - 3,
      markedStale: 0,
    });
    expect(second.details.missed).toBe(1);
    expect(await dropletRow(h, doomed.id)).toMatchObject({ missCount: 1, staleAt: null });
    expect(await dropletRow(h, renamed.id)).toMatchObject({ name: 'renamed-host', missCount: 0 });
    expect(await dropletRow(h, resized.id)).toMatchObject({ size: 'm-2vcpu-16gb' });

    const third = await h.engine.run('droplet', { trigger: 'cron' });
    expect(third).toMatchObject({ created: 0, updated: 0, unchanged: n + 1, markedStale: 0 });
    expect(await dropletRow(h, doomed.id)).toMatchObject({ missCount: 2, staleAt: null });

    const fourth = await h.engine.run('droplet', { trigger: 'cron' });
    expect(fourth.markedStale).toBe(1);
    const stale = await dropletRow(h, doomed.id);
    expect(stale?.missCount).toBe(3);
    expect(stale?.staleAt).toBeInstanceOf(Date);
    // The row stays (invoices still bill deleted resources), with its last known data.
    expect(stale?.name).toBe(doomed.name);

    // A fifth miss keeps counting but is not "newly stale".
    const fifth = await h.engine.run('droplet', { trigger: 'cron' });
    expect(fifth.markedStale).toBe(0);
    expect((await dropletRow(h, doomed.id))?.missCount).toBe(4);

    // It comes back (same record): stale_at and miss_count reset, and it is not "created" again. (Its volumes were
    // detached when it was deleted, so its attrs may differ: updated or unchanged.)
    sim.insert('droplet', snapshotOfDoomed);
    const back = await h.engine.run('droplet', { trigger: 'cron' });
    expect(back).toMatchObject({ created: 0, markedStale: 0 });
    expect(back.updated + back.unchanged).toBe(n + 2);
    expect(await dropletRow(h, doomed.id)).toMatchObject({ missCount: 0, staleAt: null });
  });

  it('misses must be consecutive complete runs: a resource seen in between starts over', async () => {
    const sim = h.sim.account;
    const flaky = sim.list('droplet')[40]!;
    const copy = structuredClone<DropletRec>(flaky);
    sim.deleteDroplet(flaky.id);
    await h.engine.run('droplet', { trigger: 'cron' });
    await h.engine.run('droplet', { trigger: 'cron' });
    expect((await dropletRow(h, flaky.id))?.missCount).toBe(2);
    sim.insert('droplet', copy);
    await h.engine.run('droplet', { trigger: 'cron' });
    expect((await dropletRow(h, flaky.id))?.missCount).toBe(0);
    sim.deleteDroplet(flaky.id);
    await h.engine.run('droplet', { trigger: 'cron' });
    await h.engine.run('droplet', { trigger: 'cron' });
    expect(await dropletRow(h, flaky.id)).toMatchObject({ missCount: 2, staleAt: null });
  });

  it('staleness is per kind: syncing volumes never touches droplets', async () => {
    const before = await h.pool.query<{ n: number }>(
      `SELECT sum(miss_count)::int AS n FROM cloud_resources WHERE kind = 'droplet'`,
    );
    await h.engine.run('volume', { trigger: 'cron' });
    await h.engine.run('volume', { trigger: 'cron' });
    const after = await h.pool.query<{ n: number }>(
      `SELECT sum(miss_count)::int AS n FROM cloud_resources WHERE kind = 'droplet'`,
    );
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});

describe('inventory sync: incomplete and failed listings move no staleness', () => {
  let h: SyncHarness;
  let deletedId: number;
  const missCounts = async (): Promise<string> => {
    const { rows } = await h.pool.query<{ m: string }>(
      `SELECT string_agg(provider_id || ':' || miss_count || ':' || (stale_at IS NOT NULL), ',' ORDER BY provider_id) AS m FROM cloud_resources`,
    );
    return rows[0]!.m;
  };

  beforeAll(async () => {
    h = await startSyncHarness({ seed: 22, scale: { droplets: 700 } });
    expect((await h.engine.run('droplet', { trigger: 'cron' })).status).toBe('succeeded');
    // One droplet is gone: a complete listing would count a miss for it.
    deletedId = h.sim.account.list('droplet')[3]!.id;
    h.sim.account.deleteDroplet(deletedId);
    await h.engine.run('droplet', { trigger: 'cron' });
    expect((await dropletRow(h, deletedId))?.missCount).toBe(1);
  });
  beforeEach(() => h.sim.setFaults({}));
  afterAll(async () => {
    await h?.close();
  });

  const expectNothingMoved = async (run: () => Promise<unknown>): Promise<void> => {
    const before = await missCounts();
    await run();
    expect(await missCounts()).toBe(before);
    expect((await dropletRow(h, deletedId))?.missCount).toBe(1);
  };

  it('a truncated page (last page before meta.total): incomplete, says why, marks nothing', async () => {
    h.sim.setFaults({ truncateListing: { path: '/v2/droplets', atPage: 2, keepItems: 17 } });
    await expectNothingMoved(async () => {
      const r = await h.engine.run('droplet', { trigger: 'cron' });
      expect(r.status).toBe('incomplete');
      expect(r.complete).toBe(false);
      expect(r.markedStale).toBe(0);
      expect(r.error).toMatch(/incomplete listing, staleness not updated: \/v2\/droplets: .*truncated/);
      expect(r.listed).toBeGreaterThanOrEqual(217); // what arrived was still upserted
      const row = await h.prisma.syncRun.findUniqueOrThrow({ where: { id: r.runId } });
      expect(row).toMatchObject({ status: 'incomplete', complete: false, markedStale: 0 });
      expect(row.error).toMatch(/truncated/);
    });
  });

  it('a 500 mid-walk that outlasts the retries: failed, pages before it kept, nothing marked', async () => {
    h.sim.setFaults({ serverError: { path: '/v2/droplets', query: { page: '3' }, count: 100 } });
    await expectNothingMoved(async () => {
      const r = await h.engine.run('droplet', { trigger: 'cron' });
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/GET \/v2\/droplets\?page=3&per_page=200 HTTP 500.*4 attempts/);
      expect(r.error).not.toContain(TEST_TOKEN);
      expect(r.pages).toBe(2);
      expect(r.listed).toBe(400);
      expect(r.apiCalls).toBe(2 + 4); // two pages, then the first try and three retries of page 3
      const row = await h.prisma.syncRun.findUniqueOrThrow({ where: { id: r.runId } });
      expect(row).toMatchObject({ status: 'failed', complete: false, pages: 2, apiCalls: 6 });
    });
  });

  it('a 500 that the retries absorb: the run succeeds and counts every attempt', async () => {
    h.sim.setFaults({ serverError: { path: '/v2/droplets', query: { page: '2' }, count: 2 } });
    const r = await h.engine.run('droplet', { trigger: 'cron' });
    expect(r.status).toBe('succeeded');
    const listings = r.details.listings as Array<{ apiCalls: number; pages: number }>;
    expect(listings[0]!.apiCalls).toBe(listings[0]!.pages + 2);
    // This one was complete, so the deleted droplet missed again; put the count back for the next cases.
    await h.pool.query(`UPDATE cloud_resources SET miss_count = 1 WHERE provider_id = $1`, [String(deletedId)]);
  });

  it('a 429 storm (retry-after on every answer): failed after its retries, nothing marked', async () => {
    h.sim.setFaults({ burst429: { path: '/v2/droplets', skip: 1, retryAfterSeconds: 1 } });
    await expectNothingMoved(async () => {
      const r = await h.engine.run('droplet', { trigger: 'cron' });
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/HTTP 429 too_many_requests/);
      expect(h.sim.requests.count({ fault: 'burst429' })).toBeGreaterThanOrEqual(4);
    });
  });

  it('the hourly 429 (no retry-after, only ratelimit-reset) storm: failed, nothing marked', async () => {
    h.sim.setFaults({ hourly429: { path: '/v2/droplets', resetInSeconds: 1 } });
    await expectNothingMoved(async () => {
      const r = await h.engine.run('droplet', { trigger: 'cron' });
      expect(r.status).toBe('failed');
      expect(r.pages).toBe(0);
    });
  });

  it('an endless next and a repeated page: incomplete, nothing marked', async () => {
    h.sim.setFaults({ endlessNext: { path: '/v2/droplets' } });
    await expectNothingMoved(async () => {
      const r = await h.engine.run('droplet', { trigger: 'cron' });
      expect(r.status).toBe('incomplete');
    });
    h.sim.setFaults({ repeatPage: { path: '/v2/droplets', page: 1 } });
    await expectNothingMoved(async () => {
      const r = await h.engine.run('droplet', { trigger: 'cron' });
      expect(r.status).toBe('incomplete');
      expect(r.error).toMatch(/repeated/);
    });
  });

  it('an incomplete extra listing (GPU droplets) makes the whole kind incomplete', async () => {
    h.sim.setFaults({ serverError: { path: '/v2/droplets', query: { type: 'gpus' }, count: 100 } });
    await expectNothingMoved(async () => {
      const r = await h.engine.run('droplet', { trigger: 'cron' });
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/type=gpus/);
    });
  });

  it('a dropped connection is retried like a 5xx', async () => {
    h.sim.setFaults({ dropConnection: { path: '/v2/droplets', query: { page: '2' }, count: 1 } });
    const r = await h.engine.run('droplet', { trigger: 'cron' });
    expect(r.status).toBe('succeeded');
    await h.pool.query(`UPDATE cloud_resources SET miss_count = 1 WHERE provider_id = $1`, [String(deletedId)]);
  });

  it('reserved IPs fall back to /v2/floating_ips when the new endpoint is missing', async () => {
    h.sim.setFaults({ notFound: '/v2/reserved_ips' });
    const r = await h.engine.run('floating_ip', { trigger: 'cron' });
    expect(r.status).toBe('succeeded');
    expect(r.listed).toBe(h.sim.account.count('reserved_ip'));
    const listings = r.details.listings as Array<{ path: string; apiCalls: number }>;
    expect(listings[0]).toMatchObject({ path: '/v2/floating_ips', apiCalls: 2 });
    expect(await h.prisma.cloudResource.count({ where: { kind: 'floating_ip' } })).toBe(
      h.sim.account.count('reserved_ip'),
    );
  });

  it('without a token every run fails, saying so', async () => {
    const engine = createSyncEngine({ db: h.pool, accountId: ACCOUNT, transport: undefined });
    await expectNothingMoved(async () => {
      const r = await engine.run('droplet', { trigger: 'manual' });
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/DIGITALOCEAN_TOKEN is not set/);
    });
  });

  it('an unknown task is refused before anything is written', async () => {
    const runs = await h.prisma.syncRun.count();
    await expect(h.engine.run('bogus' as InventoryTaskName, { trigger: 'manual' })).rejects.toThrow(
      /unknown sync task "bogus"/,
    );
    expect(await h.prisma.syncRun.count()).toBe(runs);
  });

  it("closes runs a dead process left 'running' (hours old), and only those", async () => {
    const { rows } = await h.pool.query<{ id: number }>(
      `INSERT INTO sync_runs (account_id, task, trigger, status, started_at) VALUES
         ($1, 'volume', 'cron', 'running', now() - interval '7 hours'),
         ($1, 'volume', 'cron', 'running', now() - interval '5 minutes'),
         ($1, 'firewall', 'cron', 'running', now() - interval '7 hours')
       RETURNING id`,
      [ACCOUNT],
    );
    await h.engine.run('volume', { trigger: 'cron' });
    const after = await h.prisma.syncRun.findMany({
      where: { id: { in: rows.map((r) => r.id) } },
      orderBy: { id: 'asc' },
    });
    expect(after.map((r) => r.status)).toEqual(['failed', 'running', 'running']);
    expect(after[0]!.error).toMatch(/interrupted/);
    expect(after[0]!.finishedAt).toBeInstanceOf(Date);
    await h.pool.query(`DELETE FROM sync_runs WHERE id = ANY($1)`, [rows.map((r) => r.id)]);
  });

  it('the token never reaches the database, whatever failed', async () => {
    const leaky = createSyncEngine({ db: h.pool, accountId: ACCOUNT, transport: testTransport('http://127.0.0.1:9') });
    const r = await leaky.run('volume', { trigger: 'manual' });
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/connection failed/);
    const { rows } = await h.pool.query<{ text: string }>(`SELECT s::text AS text FROM sync_runs s`);
    for (const { text } of rows) expect(text).not.toContain(TEST_TOKEN);
  });
});
