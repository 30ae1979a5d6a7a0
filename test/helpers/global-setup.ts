// Chooses the Postgres server for the whole run (TEST_DATABASE_URL, DATABASE_URL, else an embedded one)
// and prepares a migrated template database, so each test file clones its own database in milliseconds.
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { freePort } from './process.js';

// One template per run, so concurrent runs against one server never drop each other's template.
const TEMPLATE_DATABASE = `cloudops_tpl_${process.pid}`;
let adminUrlForTeardown: string | undefined;

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

let embedded: EmbeddedDatabase | undefined;

export async function setup(project: TestProject): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({
      dataDir: path.resolve('.data/test-postgres'),
      port: await embeddedPort(),
    });
    adminUrl = embedded.url;
  }
  const templateUrl = withDatabase(adminUrl, TEMPLATE_DATABASE);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const { applyMigrations } = await import('../../src/db/migrate.js');
  await applyMigrations(templateUrl);
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  adminUrlForTeardown = adminUrl;
}

export async function teardown(): Promise<void> {
  if (adminUrlForTeardown) {
    const admin = new pg.Client({ connectionString: adminUrlForTeardown });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`).finally(() => admin.end());
  }
  await embedded?.stop();
}

/** EMBEDDED_PG_PORT when set, else a port free right now, so the run never collides with a server already on a fixed port. */
async function embeddedPort(): Promise<number> {
  const setting = process.env.EMBEDDED_PG_PORT;
  if (setting === undefined || setting === '') return freePort();
  const port = Number(setting);
  if (!Number.isInteger(port) || port < 1024 || port > 65535)
    throw new Error(`EMBEDDED_PG_PORT must be a port number from 1024 to 65535, not ${JSON.stringify(setting)}`);
  return port;
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
