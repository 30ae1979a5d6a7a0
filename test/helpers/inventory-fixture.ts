// A small inventory across tenants: what the tenant-isolation and API tests read.
import type pg from 'pg';

export interface InventoryFixture {
  projects: { acme: number; globex: number; unassigned: number };
  /** Resource ids by who may see them. */
  acmeResources: number[];
  globexResources: number[];
  unattributed: number[];
  /** An acme resource that sits (by fallback) in globex's project: its project must stay hidden from acme. */
  acmeInGlobexProject: number;
  total: number;
}

export async function seedInventory(pool: pg.Pool, perTenant = 120): Promise<InventoryFixture> {
  await pool.query(`INSERT INTO cloud_accounts (id, updated_at) VALUES ('default', now()) ON CONFLICT DO NOTHING`);
  const projects = await pool.query<{ id: number; name: string }>(`
    INSERT INTO cloud_projects (account_id, provider_id, name, tenant_id, purpose, environment, updated_at)
    VALUES ('default', '6d2a1c3e-0000-4000-8000-00000000000a', 'Acme web', 'acme', 'Web Application', 'Production', now()),
           ('default', '6d2a1c3e-0000-4000-8000-00000000000b', 'Globex data', 'globex', 'Data', 'Staging', now()),
           ('default', '6d2a1c3e-0000-4000-8000-00000000000c', 'Sandbox', NULL, NULL, NULL, now())
    RETURNING id, name`);
  const [acme, globex, unassigned] = projects.rows.map((r) => r.id) as [number, number, number];
  const insert = async (
    tenant: string | null,
    project: number | null,
    source: string | null,
    count: number,
    prefix: string,
  ): Promise<number[]> => {
    const { rows } = await pool.query<{ id: number }>(
      `INSERT INTO cloud_resources (account_id, kind, provider_id, name, region, status, size, tags, attrs, cloud_project_id, tenant_id,
         attribution_source, provider_created_at, stale_at, miss_count, updated_at)
       SELECT 'default', (ARRAY['droplet','volume','load_balancer','floating_ip'])[1 + i % 4], $1 || '-' || i,
         CASE WHEN i % 10 = 0 THEN NULL ELSE $1 || '-name-' || i END,
         (ARRAY['nyc3','ams3','fra1'])[1 + i % 3], CASE WHEN i % 5 = 0 THEN 'off' ELSE 'active' END, 's-1vcpu-1gb',
         ARRAY['team:' || $1, CASE WHEN i % 2 = 0 THEN 'env:prod' ELSE 'env:dev' END],
         jsonb_build_object('secret_note', 'attrs of ' || $1 || '-' || i),
         $2::int, $3::text, $4::text, now() - (i || ' days')::interval,
         CASE WHEN i % 7 = 0 THEN now() ELSE NULL END, CASE WHEN i % 7 = 0 THEN 3 ELSE 0 END, now()
       FROM generate_series(1, $5::int) i RETURNING id`,
      [prefix, project, tenant, source, count],
    );
    return rows.map((r) => r.id);
  };
  const acmeResources = await insert('acme', acme, 'project', perTenant, 'acme');
  const globexResources = await insert('globex', globex, 'project', perTenant, 'globex');
  const unattributed = await insert(null, null, null, 20, 'loose');
  const [acmeInGlobexProject] = await insert('acme', globex, 'fallback', 1, 'odd');
  acmeResources.push(acmeInGlobexProject!);
  return {
    projects: { acme, globex, unassigned },
    acmeResources,
    globexResources,
    unattributed,
    acmeInGlobexProject: acmeInGlobexProject!,
    total: acmeResources.length + globexResources.length + unattributed.length,
  };
}
