// Every test file gets its own database, cloned from the migrated template and dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './global-setup.js';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export function adminDatabaseUrl(): string {
  return inject('adminDatabaseUrl');
}

export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = adminDatabaseUrl();
  const template = inject('templateDatabase');
  const name = `cloudops_t_${randomBytes(5).toString('hex')}`;
  const create =
    options.migrated === false ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`;
  // Two files cloning the template at the same instant can collide ("being accessed by other users"): retry.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await withAdmin(adminUrl, (client) => client.query(create));
      break;
    } catch (error) {
      if (attempt >= 20 || (error as { code?: string }).code !== '55006') throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: () =>
      withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
