// The accrual reads at scale: an account of 10,000 resources with a month of points (310,000: one per resource and
// day) and the rollups the ingest keeps. The plans of the very statements the API runs (src/domain/accrual.ts) show
// that accrual by day, project, tenant and kind reads only the rollups, and that a resource's month and a day's movers
// read the points through an index, never a scan of the month's raw points.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db/client.js';
import { accrualByDay, dayCosts, lastObservedDay, resourceDays, type AccrualGroup } from '../src/domain/accrual.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const ACCOUNT = 'explain';
const RESOURCES = 10_000;
const MONTH = '2026-10';

/** A stand-in pool that records the plan of each statement instead of running it. */
function explaining(pool: pg.Pool, plans: string[]): pg.Pool {
  return {
    query: async (text: string, values?: unknown[]) => {
      const { rows } = await pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, values);
      plans.push(JSON.stringify(rows[0]!['QUERY PLAN']));
      return { rows: [] };
    },
  } as unknown as pg.Pool;
}

/** Every scan node of a JSON plan, with its relation. */
function scansOf(plan: unknown): Array<{ type: string; relation: string | undefined }> {
  const out: Array<{ type: string; relation: string | undefined }> = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    const type = n['Node Type'];
    if (typeof type === 'string' && type.includes('Scan'))
      out.push({ type, relation: typeof n['Relation Name'] === 'string' ? n['Relation Name'] : undefined });
    for (const value of Object.values(n)) walk(value);
  };
  walk(plan);
  return out;
}

describe('accrual reads at 310,000 points a month', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, { max: 2 });
    await pool.query(`INSERT INTO cloud_accounts (id, created_at, updated_at) VALUES ($1, now(), now())`, [ACCOUNT]);
    await pool.query(
      `INSERT INTO cloud_projects (account_id, provider_id, name, tenant_id, updated_at)
       SELECT $1, 'p' || i, 'project ' || i, 'tenant-' || (i % 7), now() FROM generate_series(1, 40) i`,
      [ACCOUNT],
    );
    await pool.query(
      `INSERT INTO cloud_resources (account_id, kind, provider_id, name, cloud_project_id, tenant_id, updated_at)
       SELECT $1, (ARRAY['droplet', 'volume', 'snapshot', 'load_balancer', 'managed_db'])[1 + i % 5], i::text, 'r-' || i,
              (SELECT min(id) FROM cloud_projects) + i % 40, 'tenant-' || (i % 40 % 7), now()
         FROM generate_series(1, $2::int) i`,
      [ACCOUNT, RESOURCES],
    );
    // September and October, one point per resource and day, with the resource's project, tenant and kind.
    await pool.query(
      `INSERT INTO billing_insight_points (account_id, day, occurrence, usage_team_urn, sku, region, description,
                                           group_description, amount, kind, resource_name, resource_id, project_id,
                                           tenant_id, match_method)
       SELECT $1, d::date, 1, 'do:team:x', '1-DO-DROP-' || (r.id % 50), 'nyc3', r.name || ' (s-1vcpu-1gb)', '',
              0.2 + (r.id % 13) / 100.0, r.kind, r.name, r.id, r.cloud_project_id, r.tenant_id, 'name'
         FROM cloud_resources r, generate_series('2026-09-01'::date, '2026-10-31'::date, interval '1 day') d`,
      [ACCOUNT],
    );
    await pool.query(
      `INSERT INTO billing_insight_rollups (account_id, day, project_id, tenant_id, kind, amount, matched_amount, point_count)
       SELECT account_id, day, project_id, tenant_id, kind, sum(amount), sum(amount), count(*)
         FROM billing_insight_points GROUP BY 1, 2, 3, 4, 5`,
    );
    await pool.query('ANALYZE billing_insight_points');
    await pool.query('ANALYZE billing_insight_rollups');
  }, 240_000);

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('has the volume of a 10,000-resource account', async () => {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM billing_insight_points WHERE day BETWEEN '2026-10-01' AND '2026-10-31'`,
    );
    expect(rows[0]!.n).toBe(310_000);
  });

  it('answers a month by day, project, tenant and kind from the rollups, never the points', async () => {
    for (const group of [null, 'project_id', 'tenant_id', 'kind'] satisfies Array<AccrualGroup | null>) {
      const plans: string[] = [];
      await accrualByDay(explaining(pool, plans), ACCOUNT, MONTH, group);
      expect(plans).toHaveLength(1);
      expect(plans[0], String(group)).toContain('billing_insight_rollups');
      expect(plans[0], String(group)).not.toContain('billing_insight_points');
    }
    const plans: string[] = [];
    await lastObservedDay(explaining(pool, plans), ACCOUNT, MONTH);
    expect(plans[0]).not.toContain('billing_insight_points');
    // And the rollups are small: a row per day and (project, tenant, kind).
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM billing_insight_rollups WHERE day BETWEEN '2026-10-01' AND '2026-10-31'`,
    );
    expect(rows[0]!.n).toBeLessThan(310_000 / 50);
  });

  it("reads a resource's month and a day's costs through indexes", async () => {
    const plans: string[] = [];
    const ids = (await pool.query<{ id: number }>('SELECT id FROM cloud_resources ORDER BY id LIMIT 100')).rows;
    await resourceDays(
      explaining(pool, plans),
      ids.map((r) => r.id),
      MONTH,
    );
    await dayCosts(explaining(pool, plans), ACCOUNT, '2026-10-14');
    for (const plan of plans) {
      const scans = scansOf(JSON.parse(plan)).filter((n) => n.relation === 'billing_insight_points');
      expect(scans.length, plan).toBeGreaterThan(0);
      for (const scan of scans) expect(scan.type, plan).toMatch(/Index|Bitmap Heap/);
    }
    expect(plans[0]).toContain('billing_insight_points_resource_id_day_idx');
    expect(plans[1]).toContain('billing_insight_points_natural_key');
  });
});
