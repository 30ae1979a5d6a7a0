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
