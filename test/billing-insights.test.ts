// Live accrual, write path: billing:insights against the simulator and real PostgreSQL. Pagination by total_pages,
// each fetched day replaced atomically (failures injected in the API and in the database), reruns, classification and
// matching with reasons, project and tenant carried, and the points of a closed month against its invoice.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimalToMicros, microsToDecimal } from '../src/domain/decimal.js';
import { syncBillingInsights } from '../src/jobs/billing/insights.js';
import type { SyncEvent } from '../src/events.js';
import { syncBalance } from '../src/jobs/billing/balance.js';
import type { BillingContext } from '../src/jobs/billing/context.js';
import { syncBillingHistory } from '../src/jobs/billing/history.js';
import { ingestInvoice } from '../src/jobs/billing/ingest.js';
import { INVENTORY_TASKS } from '../src/domain/tasks.js';
import { createSyncEngine } from '../src/jobs/inventory/engine.js';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { startApi, token, type Api } from './helpers/api.js';
import {
  ACCOUNT,
  billingClient,
  giveProjectsTenants,
  startBillingHarness,
  type BillingHarness,
} from './helpers/billing.js';
import { gql } from './helpers/graphql.js';
import { testTransport } from './helpers/sync.js';

const TODAY = new Date('2026-11-15T12:00:00Z'); // the simulator's clock
const INSIGHTS_PATH = /^\/v2\/billing\/do:team:[0-9a-f]+\/insights\//;

/** Every stored point without ids, as one digest (and the count). */
async function pointsDigest(pool: pg.Pool): Promise<{ count: number; digest: string }> {
  const { rows } = await pool.query(
    `SELECT day::text, occurrence, usage_team_urn, sku, region, description, group_description, amount::text, kind,
            resource_name, resource_id, project_id, tenant_id, match_method, unmatched_reason
       FROM billing_insight_points
      ORDER BY day, sku, region, description, group_description, usage_team_urn, occurrence`,
  );
  const rollups = await pool.query(
    `SELECT day::text, project_id, tenant_id, kind, unmatched_reason, amount::text, matched_amount::text, point_count
       FROM billing_insight_rollups
      ORDER BY day, project_id NULLS FIRST, tenant_id NULLS FIRST, kind NULLS FIRST, unmatched_reason NULLS FIRST`,
  );
  return {
    count: rows.length,
    digest: createHash('sha256')
      .update(JSON.stringify([rows, rollups.rows]))
      .digest('hex'),
  };
}

async function lastRun(
  pool: pg.Pool,
): Promise<{ status: string; error: string | null; details: Record<string, unknown> }> {
  const { rows } = await pool.query<{ status: string; error: string | null; details: Record<string, unknown> }>(
    `SELECT status, error, details FROM sync_runs WHERE task = 'billing_insights' ORDER BY id DESC LIMIT 1`,
  );
  return rows[0]!;
}

describe('billing insights ingest', () => {
  let h: BillingHarness;
  const events: SyncEvent[] = [];

  beforeAll(async () => {
    h = await startBillingHarness({ seed: 11, scale: { months: 3 } });
    // One project gets a tenant; the projects sync hands it to the project's resources.
    const { rows } = await h.pool.query<{ id: number }>(
      `SELECT p.id FROM cloud_projects p JOIN cloud_resources r ON r.cloud_project_id = p.id
        WHERE r.kind = 'droplet' GROUP BY p.id ORDER BY count(*) DESC LIMIT 1`,
    );
    await giveProjectsTenants(h.pool, ['acme'], [rows[0]!.id]);
    h.billing.onEvent = (event) => events.push(event);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('walks every page by total_pages, and refuses a truncated or repeated walk', async () => {
    const expected = h.sim.billing.insights('2026-10-01', '2026-10-31').length;
    expect(expected).toBeGreaterThan(400);
    const urn = `do:team:${h.sim.account.teamUuid}`;
    h.sim.requests.clear();
    const listing = await h.api.listBillingInsights(urn, '2026-10-01', '2026-10-31');
    expect(listing.complete).toBe(true);
    expect(listing.count).toBe(expected);
    expect(listing.total).toBe(expected);
    expect(listing.pages).toBe(Math.ceil(expected / 200));
    expect(h.sim.requests.count({ path: INSIGHTS_PATH })).toBe(Math.ceil(expected / 200));

    // Four pages in flight: the same items, in order, and not one request more.
    h.sim.requests.clear();
    const ahead = await h.api.listBillingInsights(urn, '2026-10-01', '2026-10-31', { concurrency: 4 });
    expect(ahead.complete).toBe(true);
    expect(ahead.items).toEqual(listing.items);
    expect(h.sim.requests.count({ path: INSIGHTS_PATH })).toBe(Math.ceil(expected / 200));

    h.sim.setFaults({ truncateListing: { path: '/v2/billing/*', atPage: 2 } });
    const truncated = await h.api.listBillingInsights(urn, '2026-10-01', '2026-10-31');
    expect(truncated.complete).toBe(false);
    expect(truncated.incompleteReason).toMatch(/truncated/);
    h.sim.setFaults({ repeatPage: { path: '/v2/billing/*', page: 1 } });
    const repeated = await h.api.listBillingInsights(urn, '2026-10-01', '2026-10-31', { concurrency: 4 });
    expect(repeated.complete).toBe(false);
    expect(repeated.incompleteReason).toMatch(/repeated/);
    h.sim.setFaults({});
  });

  it('stores the previous month and this month to yesterday, with a run row and progress events', async () => {
    events.length = 0;
    const outcome = await syncBillingInsights(h.billing, { trigger: 'manual', today: TODAY });
    expect(outcome.status, outcome.error).toBe('succeeded');
    const october = h.sim.billing.insights('2026-10-01', '2026-10-31').length;
    const november = h.sim.billing.insights('2026-11-01', '2026-11-15').length;
    expect(outcome.value?.points).toBe(october + november);
    expect((await pointsDigest(h.pool)).count).toBe(october + november);
    const days = await h.pool.query<{ max: string; min: string }>(
      `SELECT min(day)::text, max(day)::text FROM billing_insight_points`,
    );
    expect(days.rows[0]).toEqual({ min: '2026-10-01', max: '2026-11-14' }); // today is not estimated yet
    const { rows: team } = await h.pool.query<{ team_uuid: string }>(`SELECT team_uuid FROM cloud_accounts`);
    expect(team[0]!.team_uuid).toBe(h.sim.account.teamUuid);
    const run = await lastRun(h.pool);
    expect(run.status).toBe('succeeded');
    expect(run.details).toMatchObject({ accountUrn: `do:team:${h.sim.account.teamUuid}` });
    const types = events.filter((e) => e.task === 'billing_insights').map((e) => e.type);
    expect(types[0]).toBe('started');
    expect(types).toContain('progress');
    expect(types.at(-1)).toBe('finished');
  });

  it("adds up, for a closed month, to its invoice's charges to the cent; the difference is its taxes and credits", async () => {
    const invoice = h.sim.billing.invoiceOf('2026-10')!;
    let taxesAndCredits = 0;
    for (let i = 0; i < invoice.lineCount; i++) {
      const line = invoice.lineAt(i);
      if (line.ref.type === 'tax' || line.ref.type === 'credit') taxesAndCredits += line.amountCents;
    }
    const { rows } = await h.pool.query<{ sum: string }>(
      `SELECT sum(amount)::text FROM billing_insight_points WHERE day BETWEEN '2026-10-01' AND '2026-10-31'`,
    );
    expect(decimalToMicros(rows[0]!.sum)).toBe(BigInt(invoice.totalCents - taxesAndCredits) * 10_000n);
    const rollup = await h.pool.query<{ sum: string }>(
      `SELECT sum(amount)::text FROM billing_insight_rollups WHERE day BETWEEN '2026-10-01' AND '2026-10-31'`,
    );
    expect(rollup.rows[0]!.sum).toBe(rows[0]!.sum);
  });

  it('classifies and matches each point like an invoice line, with a reason when unmatched', async () => {
    const resize = h.sim.billing.resize!;
    expect(resize).toBeDefined();
    const resized = await h.pool.query<{ sku: string; description: string; days: number; resource_id: number | null }>(
      `SELECT p.sku, p.description, count(*)::int AS days, min(p.resource_id) AS resource_id
         FROM billing_insight_points p
        WHERE p.kind = 'droplet' AND p.resource_name = $1 AND p.day BETWEEN '2026-10-01' AND '2026-10-31'
        GROUP BY p.sku, p.description ORDER BY min(p.day)`,
      [resize.name],
    );
    // Two sizes, two SKUs, both days of the resize billed, both matched to the one droplet.
    expect(resized.rows.map((r) => r.description)).toEqual([
      `${resize.name} (${resize.fromSize})`,
      `${resize.name} (${resize.toSize})`,
    ]);
    expect(resized.rows[0]!.sku).not.toBe(resized.rows[1]!.sku);
    expect(resized.rows[0]!.days + resized.rows[1]!.days).toBe(32); // Oct 14 appears in both
    const droplet = await h.pool.query<{ id: number }>(
      `SELECT id FROM cloud_resources WHERE kind = 'droplet' AND provider_id = $1`,
      [String(resize.dropletId)],
    );
    expect(resized.rows.every((r) => r.resource_id === droplet.rows[0]!.id)).toBe(true);

    const reasons = await h.pool.query<{
      kind: string | null;
      reason: string | null;
      method: string | null;
      n: number;
    }>(
      `SELECT kind, unmatched_reason AS reason, match_method AS method, count(*)::int AS n
         FROM billing_insight_points GROUP BY 1, 2, 3`,
    );
    const count = (where: (r: { kind: string | null; reason: string | null; method: string | null }) => boolean) =>
      reasons.rows.filter(where).reduce((n, r) => n + r.n, 0);
    // A droplet deleted before it was ever synced ("retired-*"), whose points stop when it went.
    expect(count((r) => r.kind === 'droplet' && r.reason === 'historic')).toBeGreaterThan(0);
    // Two live droplets share a name: never guessed.
    expect(count((r) => r.kind === 'droplet' && r.reason === 'ambiguous')).toBeGreaterThan(0);
    // Kubernetes nodes and databases by their group (the cluster's name).
    expect(count((r) => r.kind === 'kubernetes_cluster' && r.method === 'name')).toBeGreaterThan(0);
    expect(count((r) => r.kind === 'managed_db' && r.method === 'name')).toBeGreaterThan(0);
    expect(count((r) => r.kind === 'snapshot' && r.method === 'name')).toBeGreaterThan(0);
    // Nothing is taxed or credited in the nightly estimates, and every SKU of the simulator is known.
    expect(count((r) => r.reason === 'tax' || r.reason === 'credit' || r.reason === 'unknown_product')).toBe(0);

    const retired = await h.pool.query<{ last: string }>(
      `SELECT max(day)::text AS last FROM billing_insight_points WHERE resource_name = 'retired-api-01'`,
    );
    const deletedAt = h.sim.billing.historicDeleted[0]!.deleted_at.slice(0, 10);
    expect(retired.rows[0]!.last).toBe(deletedAt);

    // Matched points carry the resource's project and tenant.
    const attributed = await h.pool.query<{ mismatched: number; tenant: number }>(
      `SELECT count(*) FILTER (WHERE p.project_id IS DISTINCT FROM r.cloud_project_id
                                 OR p.tenant_id IS DISTINCT FROM COALESCE(r.tenant_id, pr.tenant_id))::int AS mismatched,
              count(*) FILTER (WHERE p.tenant_id = 'acme')::int AS tenant
         FROM billing_insight_points p JOIN cloud_resources r ON r.id = p.resource_id
         LEFT JOIN cloud_projects pr ON pr.id = r.cloud_project_id`,
    );
    expect(attributed.rows[0]).toMatchObject({ mismatched: 0 });
    expect(attributed.rows[0]!.tenant).toBeGreaterThan(0);
  });

  it('a rerun on the same answer writes the same rows', async () => {
    const before = await pointsDigest(h.pool);
    const outcome = await syncBillingInsights(h.billing, { trigger: 'manual', today: TODAY });
    expect(outcome.status, outcome.error).toBe('succeeded');
    // Every day was stored exactly so already: none is rewritten.
    expect(outcome.value).toMatchObject({ daysWritten: [], replacedPoints: 0 });
    expect(outcome.unchanged).toBe(before.count);
    expect(await pointsDigest(h.pool)).toEqual(before);
    // A day whose stored rows differ from the answer (here: its digest says so) is rewritten, to the same rows.
    await h.pool.query(`UPDATE billing_insight_days SET digest = 'outdated' WHERE day = '2026-10-20'`);
    const again = await syncBillingInsights(h.billing, { trigger: 'manual', today: TODAY });
    expect(again.value?.daysWritten).toEqual(['2026-10-20']);
    expect(again.value?.replacedPoints).toBeGreaterThan(0);
    expect(await pointsDigest(h.pool)).toEqual(before);
  });

  it('a request failing in the middle of the walk leaves every stored point as it was', async () => {
    const before = await pointsDigest(h.pool);
    h.sim.setFaults({ serverError: { path: '/v2/billing/*', query: { page: '2' } } });
    const outcome = await syncBillingInsights(h.billing, {
      trigger: 'manual',
      today: new Date('2026-11-15T12:00:00Z'),
    });
    h.sim.setFaults({});
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/500|server/i);
    expect(await lastRun(h.pool)).toMatchObject({ status: 'failed' });
    expect(await pointsDigest(h.pool)).toEqual(before);
  });

  it('a database failure in the middle of the replace rolls the whole replace back', async () => {
    // Every day has to be written again, so the COPY runs.
    await h.pool.query(`UPDATE billing_insight_days SET digest = 'outdated'`);
    const before = await pointsDigest(h.pool);
    // Fails the COPY on one SKU's row, after the DELETE of the days already ran in the same transaction.
    await h.pool.query(`
      CREATE FUNCTION refuse_point() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.sku LIKE '1-NW-LB-%' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_point BEFORE INSERT ON billing_insight_points FOR EACH ROW EXECUTE FUNCTION refuse_point();`);
    try {
      const outcome = await syncBillingInsights(h.billing, { trigger: 'manual', today: TODAY });
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toMatch(/injected failure/);
    } finally {
      await h.pool.query(`DROP TRIGGER refuse_point ON billing_insight_points; DROP FUNCTION refuse_point();`);
    }
    expect(await pointsDigest(h.pool)).toEqual(before);
  });

  it('replaces a day whose answer changed, and keeps the days outside the fetched months', async () => {
    // Settled first: the failed runs before left every day's digest outdated.
    expect((await syncBillingInsights(h.billing, { trigger: 'manual', today: TODAY })).status).toBe('succeeded');
    // A droplet deleted through churn at 06:00 on the 14th bills that day's first six hours, then nothing.
    const droplet = h.sim.account
      .list('droplet')
      .find((d) => !d.tags.some((t) => t.startsWith('k8s:')) && d.id !== h.sim.billing.resize!.dropletId)!;
    const dayBefore = await h.pool.query<{ sum: string | null }>(
      `SELECT sum(amount)::text FROM billing_insight_points WHERE day = '2026-11-14' AND description LIKE $1`,
      [`${droplet.name} (%`],
    );
    // A point of September (outside both fetched months) stays.
    await h.pool.query(
      `INSERT INTO billing_insight_points (account_id, day, occurrence, usage_team_urn, sku, region, description, group_description, amount)
       SELECT id, '2026-09-30', 1, '', '1-DO-DROP-0001', 'nyc3', 'kept (s-1vcpu-1gb)', '', 1.00 FROM cloud_accounts`,
    );
    const now = h.sim.account.now;
    h.sim.account.now = new Date('2026-11-14T06:00:00Z');
    h.sim.account.deleteDroplet(droplet.id);
    h.sim.account.now = now;
    const outcome = await syncBillingInsights(h.billing, { trigger: 'manual', today: TODAY });
    expect(outcome.status, outcome.error).toBe('succeeded');
    // Only November is rewritten (and all of its failed-before days); October stays as it was.
    expect(outcome.value?.daysWritten).toContain('2026-11-14');
    expect(outcome.value?.daysWritten.some((day) => day < '2026-11-01')).toBe(false);
    const dayAfter = await h.pool.query<{ sum: string | null }>(
      `SELECT sum(amount)::text FROM billing_insight_points WHERE day = '2026-11-14' AND description LIKE $1`,
      [`${droplet.name} (%`],
    );
    expect(decimalToMicros(dayAfter.rows[0]!.sum ?? '0')).toBeLessThan(decimalToMicros(dayBefore.rows[0]!.sum ?? '0'));
    const kept = await h.pool.query(`SELECT 1 FROM billing_insight_points WHERE day = '2026-09-30'`);
    expect(kept.rowCount).toBe(1);
    const rollups = await h.pool.query<{ points: string; rollups: string }>(
      `SELECT (SELECT sum(amount) FROM billing_insight_points WHERE day >= '2026-10-01')::text AS points,
              (SELECT sum(amount) FROM billing_insight_rollups WHERE day >= '2026-10-01')::text AS rollups`,
    );
    expect(rollups.rows[0]!.rollups).toBe(rollups.rows[0]!.points);
  });
});

describe('accrual API', () => {
  let api: Api;
  let sim: Simulator;
  let admin: string;
  let tenant: string;

  beforeAll(async () => {
    api = await startApi({ DIGITALOCEAN_ACCOUNT_ID: ACCOUNT });
    sim = await startSimulator({ port: 0, seed: 21, scale: { months: 3 } });
    const engine = createSyncEngine({ db: api.pool, accountId: ACCOUNT, transport: testTransport(sim.url) });
    for (const task of INVENTORY_TASKS)
      expect((await engine.run(task, { trigger: 'manual' })).status).not.toBe('failed');
    await giveProjectsTenants(api.pool, ['acme', 'globex']);
    const context: BillingContext = { pool: api.pool, api: billingClient(sim.url), accountId: ACCOUNT };
    await syncBalance(context, { trigger: 'manual' });
    const uuids: string[] = [];
    await syncBillingHistory(context, {
      trigger: 'manual',
      enqueueInvoice: (uuid) => {
        uuids.push(uuid);
        return Promise.resolve();
      },
    });
    for (const uuid of uuids)
      expect((await ingestInvoice(context, uuid, { trigger: 'manual' })).status).toBe('ingested');
    expect((await syncBillingInsights(context, { trigger: 'manual', today: TODAY })).status).toBe('succeeded');
    admin = await token({ admin: true, sub: 'ops' });
    tenant = await token({ tenant: 'acme' });
  }, 120_000);

  afterAll(async () => {
    await sim?.close();
    await api?.close();
  });

  const query = async <T>(text: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const { body } = await gql<T>(api.url, text, { token: admin, variables });
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data!;
  };
  const same = (a: string, b: string): boolean => decimalToMicros(a) === decimalToMicros(b);
  const total = (values: string[]): string => microsToDecimal(values.reduce((s, v) => s + decimalToMicros(v), 0n));

  it('is platform admin only: a tenant gets FORBIDDEN, no token UNAUTHENTICATED', async () => {
    for (const text of [
      '{ accrual { monthToDate } }',
      '{ accrual(month: "2026-10") { byTenant { tenantId amount } } }',
      '{ resources(first: 1) { edges { node { accrual { amount } } } } }',
      '{ projects(first: 1) { edges { node { accrual(month: "2026-10") { amount } } } } }',
    ]) {
      const forbidden = await gql(api.url, text, { token: tenant });
      expect(forbidden.body.errors?.[0]?.extensions?.code, text).toBe('FORBIDDEN');
      expect(JSON.stringify(forbidden.body.data ?? null)).not.toMatch(/"\d+\.\d+"/);
      expect((await gql(api.url, text)).body.errors?.[0]?.extensions?.code, text).toBe('UNAUTHENTICATED');
    }
  });

  it('splits a month by day, project, tenant, kind and resource, every split adding up to the month', async () => {
    const data = await query<{
      accrual: {
        month: string;
        monthToDate: string;
        lastObservedDay: string;
        byDay: Array<{ day: string; amount: string }>;
        byProject: Array<{ amount: string; project: { id: string; accrual: { amount: string } } | null }>;
        byTenant: Array<{ tenantId: string | null; amount: string }>;
        byKind: Array<{ kind: string | null; amount: string }>;
        matchedAmount: string;
        unmatched: Array<{ reason: string; amount: string }>;
        byResource: Array<{
          amount: string;
          days: number;
          resource: { id: string; accrual: { amount: string } } | null;
        }>;
      };
    }>(`{ accrual(month: "2026-10") { month monthToDate lastObservedDay byDay { day amount }
          byProject { amount project { id accrual(month: "2026-10") { amount } } } byTenant { tenantId amount }
          byKind { kind amount } matchedAmount unmatched { reason amount } byResource(first: 5) { amount days resource { id accrual(month: "2026-10") { amount } } } } }`);
    const a = data.accrual;
    expect(a.month).toBe('2026-10');
    expect(a.lastObservedDay).toBe('2026-10-31');
    expect(a.byDay).toHaveLength(31);
    const { rows } = await api.pool.query<{ sum: string }>(
      `SELECT sum(amount)::text FROM billing_insight_points WHERE day BETWEEN '2026-10-01' AND '2026-10-31'`,
    );
    expect(same(a.monthToDate, rows[0]!.sum)).toBe(true);
    for (const split of [a.byDay, a.byProject, a.byTenant, a.byKind])
      expect(same(total(split.map((s) => s.amount)), a.monthToDate)).toBe(true);
    expect(a.byTenant.map((t) => t.tenantId)).toEqual(expect.arrayContaining(['acme', 'globex', null]));
    expect(a.byKind.map((k) => k.kind)).toEqual(expect.arrayContaining(['droplet', 'volume', 'kubernetes_cluster']));
    // What matched nothing, per reason: with the matched part, the whole month.
    expect(a.unmatched.map((u) => u.reason)).toEqual(expect.arrayContaining(['HISTORIC', 'AMBIGUOUS']));
    expect(same(total([a.matchedAmount, ...a.unmatched.map((u) => u.amount)]), a.monthToDate)).toBe(true);
    for (const p of a.byProject.filter((p) => p.project)) expect(same(p.project!.accrual.amount, p.amount)).toBe(true);
    const top = a.byResource[0]!;
    expect(top.resource).not.toBeNull();
    expect(same(top.resource!.accrual.amount, top.amount)).toBe(true);
    expect(decimalToMicros(a.byResource[0]!.amount)).toBeGreaterThanOrEqual(decimalToMicros(a.byResource[1]!.amount));
  });

  it('forecasts the month end from the last seven days, its inputs exposed', async () => {
    const data = await query<{
      accrual: {
        monthToDate: string;
        byDay: Array<{ day: string; amount: string }>;
        forecast: Record<string, string | number>;
        balance: { monthToDateUsage: string; accrual: string; difference: string; forecast: string };
      };
    }>(`{ accrual(month: "2026-11") { monthToDate byDay { day amount }
          forecast { method monthToDate lastObservedDay daysObserved windowDays dailyRate daysRemaining forecast }
          balance { monthToDateUsage accrual difference forecast } } }`);
    const { forecast, byDay } = data.accrual;
    expect(forecast).toMatchObject({
      method: 'run_rate',
      lastObservedDay: '2026-11-14',
      daysObserved: 14,
      windowDays: 7,
      daysRemaining: 16,
    });
    const window = byDay.filter((d) => d.day >= '2026-11-08').map((d) => decimalToMicros(d.amount));
    const rate = (window.reduce((s, v) => s + v, 0n) * 2n + 7n) / 14n;
    expect(decimalToMicros(forecast.dailyRate as string)).toBe(rate);
    expect(decimalToMicros(forecast.forecast as string)).toBe(decimalToMicros(data.accrual.monthToDate) + rate * 16n);
    // Against the balance: the balance's month_to_date_usage counts today's hours and the taxes too.
    const usage = h2Usage(sim);
    expect(data.accrual.balance.monthToDateUsage).toBe(usage);
    expect(
      same(
        data.accrual.balance.difference,
        microsToDecimal(decimalToMicros(usage) - decimalToMicros(data.accrual.monthToDate)),
      ),
    ).toBe(true);
    expect(decimalToMicros(data.accrual.balance.difference)).toBeGreaterThan(0n);
  });

  it('reports movers: the resize as one SKU vanishing and one appearing, a deleted resource dropping to zero', async () => {
    const resize = sim.billing.resize!;
    type Movers = {
      accrual: {
        movers: {
          day: string;
          previousDay: string;
          resources: Array<{ resourceName: string | null; previousAmount: string; amount: string; change: string }>;
          newSkus: Array<{ description: string; resource: { name: string } | null }>;
          vanishedSkus: Array<{ description: string }>;
        };
      };
    };
    const fields = `day previousDay resources { resourceName previousAmount amount change }
      newSkus { description resource { name } } vanishedSkus { description }`;
    const onResize = await query<Movers>(`{ accrual(month: "2026-10") { movers(day: "2026-10-14") { ${fields} } } }`);
    expect(onResize.accrual.movers.previousDay).toBe('2026-10-13');
    expect(onResize.accrual.movers.newSkus).toContainEqual({
      description: `${resize.name} (${resize.toSize})`,
      resource: { name: resize.name },
    });
    const after = await query<Movers>(`{ accrual(month: "2026-10") { movers(day: "2026-10-15") { ${fields} } } }`);
    expect(after.accrual.movers.vanishedSkus.map((s) => s.description)).toContain(
      `${resize.name} (${resize.fromSize})`,
    );
    // The droplet deleted this month: the day after its last point, it moved to zero.
    const retired = sim.billing.historicDeleted[0]!;
    const gone = dayAfter(retired.deleted_at.slice(0, 10));
    const deleted = await query<Movers>(`{ accrual(month: "2026-11") { movers(day: "${gone}") { ${fields} } } }`);
    const move = deleted.accrual.movers.resources.find(
      (r) => r.resourceName === (retired.record as { name: string }).name,
    );
    expect(move).toMatchObject({ amount: '0.00' });
    expect(decimalToMicros(move!.change)).toBeLessThan(0n);
    // A threshold above every change leaves no resource.
    const none = await query<Movers>(
      `{ accrual(month: "2026-10") { movers(day: "2026-10-20", ratio: 100, minChange: "1000") { ${fields} } } }`,
    );
    expect(none.accrual.movers.resources).toEqual([]);
  });

  it("sets the accrual against the month's invoice: the charges agree to the cent, taxes and credits are the difference", async () => {
    const data = await query<{ accrual: { invoice: Record<string, string | boolean> } }>(
      `{ accrual(month: "2026-10") { invoice { invoiceUuid provisional invoiceAmount chargesAmount taxesAndCredits accrual difference chargesDifference } } }`,
    );
    const invoice = sim.billing.invoiceOf('2026-10')!;
    const r = data.accrual.invoice;
    expect(r).toMatchObject({ invoiceUuid: invoice.uuid, provisional: false });
    expect(same(r.invoiceAmount as string, microsToDecimal(BigInt(invoice.totalCents) * 10_000n))).toBe(true);
    expect(same(r.chargesDifference as string, '0')).toBe(true);
    expect(same(r.difference as string, r.taxesAndCredits as string)).toBe(true);
    expect(decimalToMicros(r.taxesAndCredits as string)).not.toBe(0n);
    // The current month is set against its preview, and the difference is not hidden.
    const current = await query<{ accrual: { invoice: Record<string, string | boolean> } }>(
      `{ accrual(month: "2026-11") { invoice { provisional chargesDifference } } }`,
    );
    expect(current.accrual.invoice.provisional).toBe(true);
    expect(decimalToMicros(current.accrual.invoice.chargesDifference as string)).toBeGreaterThan(0n); // today's hours
  });

  it('answers an empty month with zeros and refuses a bad month or day', async () => {
    const empty = await query<{
      accrual: { monthToDate: string; byDay: unknown[]; forecast: { daysObserved: number } };
    }>('{ accrual(month: "2025-01") { monthToDate byDay { day } forecast { daysObserved } } }');
    expect(empty.accrual).toEqual({ monthToDate: '0.00', byDay: [], forecast: { daysObserved: 0 } });
    for (const text of [
      '{ accrual(month: "2026-13") { month } }',
      '{ accrual(month: "2026-10") { movers(day: "2026-11-01") { day } } }',
    ]) {
      const { body } = await gql(api.url, text, { token: admin });
      expect(body.errors?.[0]?.extensions?.code, text).toBe('BAD_USER_INPUT');
    }
  });
});

function dayAfter(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

function h2Usage(sim: Simulator): string {
  return sim.billing.balance().month_to_date_usage;
}
