// The read-path benchmark's database: 10,000 droplets and 20,000 snapshots in 50 projects of 5 tenants, and 13
// monthly invoices with 327,000 cost lines (the 12 older ones 24,500 each, the newest 33,000, written last, so its
// lines have the highest ids), generated in SQL. Also what PostGraphile needs to answer the same questions: a
// computed column for the per-kind counts and one function per cost rollup, whose bodies are the service's own
// rollup statement (costBySql), so every peer sums the same rule.
import pg from 'pg';
import { costBySql } from '../../src/domain/cost-attribution.js';

export const PROJECTS = 50;
export const DROPLETS = 10_000;
export const SNAPSHOTS = 20_000;
export const INVOICES = 13;
const OLDER_LINES = 24_500;
const NEWEST_LINES = 33_000;

export interface Seeded {
  newestUuid: string;
  oldestUuid: string;
  /** The newest invoice's period, YYYY-MM (the rollups' month). */
  period: string;
  lines: number;
}

export async function seed(dbUrl: string): Promise<Seeded> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await client.query(`INSERT INTO cloud_accounts (id, updated_at) VALUES ('default', now())`);
    await client.query(
      `INSERT INTO cloud_projects (account_id, provider_id, name, description, purpose, environment, tenant_id, updated_at)
       SELECT 'default', 'project-' || i, 'Project ' || lpad(i::text, 2, '0'), 'Project number ' || i, 'Web Application',
              'Production', 'tenant-' || (i % 5), now()
       FROM generate_series(1, $1::int) i`,
      [PROJECTS],
    );
    // Droplets first (ids 1..10,000), then snapshots; one resource in ten has no project, one in twenty is stale.
    await client.query(
      `INSERT INTO cloud_resources (account_id, kind, provider_id, name, region, status, size, tags, attrs, fingerprint,
                                    cloud_project_id, tenant_id, attribution_source, provider_created_at, stale_at, updated_at)
       SELECT 'default', k.kind, k.kind || '-' || i, k.kind || '-' || i, (ARRAY['nyc3','ams3','fra1','sfo3'])[1 + i % 4],
              CASE WHEN k.kind = 'droplet' THEN 'active' ELSE NULL END,
              CASE WHEN k.kind = 'droplet' THEN 's-2vcpu-4gb' ELSE NULL END,
              ARRAY['env:prod', 'team:' || (i % 7)],
              CASE WHEN k.kind = 'droplet' THEN jsonb_build_object('vcpus', 2, 'memory', 4096, 'disk', 80, 'image', 'ubuntu-24-04-x64')
                   ELSE jsonb_build_object('resource_type', 'droplet', 'size_gigabytes', 40, 'min_disk_size', 80) END,
              md5(k.kind || i),
              CASE WHEN i % 10 = 0 THEN NULL ELSE 1 + i % $3::int END,
              CASE WHEN i % 10 = 0 THEN NULL ELSE 'tenant-' || ((1 + i % $3::int) % 5) END,
              CASE WHEN i % 10 = 0 THEN NULL ELSE 'project' END,
              timestamptz '2025-01-01' + (i || ' minutes')::interval,
              CASE WHEN i % 20 = 0 THEN now() ELSE NULL END, now()
       FROM (VALUES ('droplet', $1::int, 0), ('snapshot', $2::int, 1)) AS k(kind, n, ord), generate_series(1, k.n) i
       ORDER BY k.ord, i`,
      [DROPLETS, SNAPSHOTS, PROJECTS],
    );
    const periods = Array.from({ length: INVOICES }, (_, i) => {
      const d = new Date(Date.UTC(2025, 10 + i, 1));
      return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    });
    await client.query(
      `INSERT INTO cloud_invoices (account_id, invoice_uuid, invoice_id, period, amount, ingest_status, csv_ingested,
                                   ingested_at, line_count, summary, updated_at)
       SELECT 'default', 'invoice-uuid-' || i, 'INV-' || i, p, 1000 + i, 'ingested', true, now(), 0,
              jsonb_build_object('totals', jsonb_build_object('amount', (1000 + i)::text, 'product_charges', '900', 'taxes', '100',
                                 'credits_and_adjustments', '0'),
                                 'match', jsonb_build_object('byReason', jsonb_build_object('historic', jsonb_build_object('count', 10, 'amount', '5.00'))),
                                 'reconciliation', jsonb_build_object('lines', 1, 'difference', '0.000000'),
                                 'products', (SELECT jsonb_agg(jsonb_build_object('product', 'Product ' || j, 'amount', j::text)) FROM generate_series(1, 40) j)),
              now()
       FROM unnest($1::text[]) WITH ORDINALITY AS t(p, i)`,
      [periods],
    );
    const resources = DROPLETS + SNAPSHOTS;
    for (let invoice = 1; invoice <= INVOICES; invoice += 1) {
      const lines = invoice === INVOICES ? NEWEST_LINES : OLDER_LINES;
      // Four lines in five matched to a resource; the others historic. Amounts in cents, as numeric(18,6).
      await client.query(
        `INSERT INTO cloud_cost_lines (invoice_id, line_no, source, period, product, group_description, description, kind,
                                       resource_name, hours, start_at, end_at, amount, project_name, category,
                                       resource_id, match_method, unmatched_reason)
         SELECT $1::int, n, 'csv', $2::text, CASE WHEN r.kind = 'droplet' THEN 'Droplets' ELSE 'Snapshots' END,
                'group ' || (n % 9), r.kind || ' ' || r.name || ' (s-2vcpu-4gb)', r.kind, r.name, 744,
                ($2 || '-01')::timestamptz, ($2 || '-01')::timestamptz + interval '28 days',
                ((n * 37) % 10000) / 100.0, 'Project ' || lpad((1 + n % $4::int)::text, 2, '0'), 'compute',
                CASE WHEN n % 5 = 0 THEN NULL ELSE r.id END,
                CASE WHEN n % 5 = 0 THEN NULL ELSE 'name' END,
                CASE WHEN n % 5 = 0 THEN 'historic' ELSE NULL END
         FROM generate_series(1, $3::int) n
         JOIN cloud_resources r ON r.id = 1 + ((n * 7919 + $1::int) % $5::int)
         ORDER BY n`,
        [invoice, periods[invoice - 1], lines, PROJECTS, resources],
      );
    }
    await client.query(
      `UPDATE cloud_invoices i SET line_count = c.n, matched_count = c.m, lines_amount = c.a, matched_amount = c.ma,
              match_rate = round(c.m::numeric / c.n, 6)
       FROM (SELECT invoice_id, count(*)::int n, count(resource_id)::int m, sum(amount) a,
                    coalesce(sum(amount) FILTER (WHERE resource_id IS NOT NULL), 0) ma
             FROM cloud_cost_lines GROUP BY invoice_id) c WHERE c.invoice_id = i.id`,
    );
    await createPeerFunctions(client);
    await client.query('VACUUM ANALYZE');
    return {
      newestUuid: `invoice-uuid-${INVOICES}`,
      oldestUuid: 'invoice-uuid-1',
      period: periods[INVOICES - 1]!,
      lines: OLDER_LINES * (INVOICES - 1) + NEWEST_LINES,
    };
  } finally {
    await client.end();
  }
}

/** PostGraphile exposes SQL functions: a computed column on projects, and the three rollups as root fields. */
async function createPeerFunctions(client: pg.Client): Promise<void> {
  await client.query(`CREATE TYPE bench_kind_count AS (kind text, total int, live int, stale int)`);
  await client.query(
    `CREATE FUNCTION cloud_projects_resource_counts(p cloud_projects) RETURNS SETOF bench_kind_count
     LANGUAGE sql STABLE AS $$
       SELECT kind, count(*)::int, (count(*) FILTER (WHERE stale_at IS NULL))::int,
              (count(*) FILTER (WHERE stale_at IS NOT NULL))::int
       FROM cloud_resources WHERE cloud_project_id = p.id GROUP BY kind ORDER BY kind $$`,
  );
  const money = 'amount text, line_count int, matched_amount text, matched_count int, provisional boolean';
  await client.query(
    `CREATE FUNCTION cost_by_project(period text)
       RETURNS TABLE (period text, project_id int, ${money}, project_name text)
     LANGUAGE sql STABLE AS $$
       SELECT c.*, p.name FROM (${costBySql('project_id')}) c LEFT JOIN cloud_projects p ON p.id = c.project_id
       ORDER BY c.amount::numeric DESC, c.project_id NULLS LAST $$`,
  );
  for (const [name, key, type] of [
    ['cost_by_tenant', 'tenant_id', 'text'],
    ['cost_by_kind', 'kind', 'text'],
  ] as const) {
    await client.query(
      `CREATE FUNCTION ${name}(period text) RETURNS TABLE (period text, ${key} ${type}, ${money})
       LANGUAGE sql STABLE AS $$ ${costBySql(key)} $$`,
    );
  }
}
