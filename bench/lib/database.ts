// A migrated database of a benchmark's own on DATABASE_URL's server (default 127.0.0.1:5432), dropped at the end.
import pg from 'pg';
import { applyMigrations } from '../../src/db/migrate.js';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const serverUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function createBenchDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `cloudops_bench_${prefix}_${process.pid}`;
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  await applyMigrations(url.toString());
  return { name, url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface InventoryShape {
  projects: number;
  resources: number;
  /** Projects and resources are spread over this many tenants (`tenant-<n>`). */
  tenants: number;
  kinds: readonly string[];
  /** Every n-th resource is stale (none when left out); every tenth has no project. */
  staleEvery?: number;
}

/** The `default` account with projects and resources spread over kinds, regions, tags and tenants, by generate_series. */
export async function seedInventory(client: pg.Client, shape: InventoryShape): Promise<void> {
  await client.query(`INSERT INTO cloud_accounts (id, updated_at) VALUES ('default', now())`);
  await client.query(
    `INSERT INTO cloud_projects (account_id, provider_id, name, tenant_id, updated_at)
     SELECT 'default', 'project-' || i, 'Project ' || i, 'tenant-' || (i % $2::int), now() FROM generate_series(1, $1::int) i`,
    [shape.projects, shape.tenants],
  );
  await client.query(
    `INSERT INTO cloud_resources (account_id, kind, provider_id, name, region, status, tags, attrs, cloud_project_id, tenant_id,
       attribution_source, stale_at, updated_at)
     SELECT 'default', ($4::text[])[1 + i % cardinality($4::text[])], 'r-' || i, 'resource-' || i,
       (ARRAY['nyc3','ams3','fra1'])[1 + i % 3], 'active', ARRAY['env:prod', 'team:' || (i % 7)], '{"size_gb": 25}',
       CASE WHEN i % 10 = 0 THEN NULL ELSE 1 + i % $2::int END, 'tenant-' || (i % $3::int), 'project',
       CASE WHEN $5::int > 0 AND i % $5::int = 0 THEN now() END, now()
     FROM generate_series(1, $1::int) i`,
    [shape.resources, shape.projects, shape.tenants, shape.kinds, shape.staleEvery ?? 0],
  );
}
