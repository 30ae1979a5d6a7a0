// Applies pending Prisma migrations at startup, with `prisma migrate deploy` semantics, in-process.
//
// Why not spawn `prisma migrate deploy`: it costs a second or more (CLI + config + wasm engine) on
// every start and needs the CLI at runtime. This module does what the engine's applyMigrations
// does, with plain `pg`, and writes `_prisma_migrations` rows in exactly Prisma's format (uuid id,
// sha256 hex checksum of migration.sql, started/finished timestamps, applied_steps_count 1), so the
// Prisma CLI (`migrate status`, `migrate dev`, `migrate resolve`) sees them as its own.
//
// Deploy semantics: never destructive, never a reset. It refuses to continue when an applied
// migration's file changed (checksum) or when a migration failed earlier and was not resolved.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { PACKAGE_ROOT } from '../version.js';

export interface ApplyMigrationsOptions {
  /** Directory holding `<timestamp>_<name>/migration.sql` folders. Defaults to prisma/migrations. */
  migrationsDir?: string;
  log?: (msg: string) => void;
  /** How long to wait for another process that is applying migrations. Default 120 s. */
  lockTimeoutMs?: number;
}

export interface ApplyMigrationsResult {
  /** Names of the migrations this call applied, in order (empty when the database was up to date). */
  applied: string[];
}

/** A refusal or failure with a Prisma-like code (P3009, P3018, ...) so callers can tell them apart. */
export class MigrationError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'MigrationError';
    this.code = code;
  }
}

/** The lock id every Prisma engine takes while migrating, so this and `prisma migrate` exclude each other too. */
export const PRISMA_ADVISORY_LOCK_ID = 72707369;

export const DEFAULT_MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'prisma', 'migrations');

// The native engine's DDL for its bookkeeping table, verbatim in effect.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

const RESOLVE_HINT =
  'Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve';

interface LocalMigration {
  name: string;
  script: string;
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

export async function applyMigrations(
  databaseUrl: string,
  options: ApplyMigrationsOptions = {},
): Promise<ApplyMigrationsResult> {
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  const log = options.log ?? (() => {});
  const local = await readMigrations(migrationsDir);

  const client = new pg.Client(clientConfig(databaseUrl));
  // An idle-connection error must not crash the process; the next query reports it.
  client.on('error', () => {});
  await client.connect();
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 120_000, log);
    try {
      const schema = schemaOf(databaseUrl);
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<AppliedRow>(
        `SELECT migration_name, checksum, finished_at, rolled_back_at, logs
           FROM "_prisma_migrations" ORDER BY started_at ASC`,
      );
      const pending = plan(local, rows, log);
      const applied: string[] = [];
      for (const migration of pending) {
        await applyOne(client, migration, log);
        applied.push(migration.name);
      }
      return { applied };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_ID]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/** Decides what to apply, refusing when history is in a state deploy must not touch. */
function plan(local: LocalMigration[], rows: AppliedRow[], log: (msg: string) => void): LocalMigration[] {
  const live = rows.filter((row) => row.rolled_back_at === null);

  const failed = live.filter((row) => row.finished_at === null);
  if (failed.length > 0) {
    const details = failed
      .map(
        (row) =>
          `The \`${row.migration_name}\` migration failed or is still being applied${row.logs ? `:\n${indent(row.logs)}` : '.'}`,
      )
      .join('\n');
    throw new MigrationError(
      'P3009',
      `Found failed migrations in the target database, new migrations will not be applied. ${RESOLVE_HINT}\n${details}\n` +
        'Fix the database, then mark the migration with `npx prisma migrate resolve --rolled-back <name>` (or `--applied <name>`).',
    );
  }

  const localByName = new Map(local.map((m) => [m.name, m]));
  const edited = live.filter((row) => {
    const file = localByName.get(row.migration_name);
    return file !== undefined && !checksumMatches(file.script, row.checksum);
  });
  if (edited.length > 0) {
    throw new MigrationError(
      'MIGRATION_CHECKSUM_CHANGED',
      `The migration file of already applied migration(s) was modified since it was applied: ${edited.map((r) => r.migration_name).join(', ')}. ` +
        'Applied migrations must not be edited; restore the original migration.sql and put the change in a new migration.',
    );
  }

  const appliedNames = new Set(live.map((row) => row.migration_name));
  const missingLocally = [...appliedNames].filter((name) => !localByName.has(name));
  if (missingLocally.length > 0) {
    log(
      `applied migration(s) not found in the migrations directory (database is ahead of this build?): ${missingLocally.join(', ')}`,
    );
  }
  return local.filter((m) => !appliedNames.has(m.name));
}

/**
 * Applies one migration: its whole script runs as ONE simple-protocol query (so `$$` bodies and `;`
 * inside literals are Postgres' business) inside a transaction that also writes its bookkeeping
 * row, so a crash or failure leaves no half-applied schema and no half-written row behind.
 * A failure is then recorded as a failed row, as Prisma records it, which stops later deploys
 * until someone resolves it (`prisma migrate resolve`).
 */
async function applyOne(client: pg.Client, migration: LocalMigration, log: (msg: string) => void): Promise<void> {
  log(`applying migration ${migration.name}`);
  const id = randomUUID();
  let startedAt: Date | undefined;
  try {
    await client.query('BEGIN');
    const inserted = await client.query<{ started_at: Date }>(
      `INSERT INTO "_prisma_migrations" (id, checksum, started_at, migration_name, applied_steps_count)
       VALUES ($1, $2, date_trunc('milliseconds', now()), $3, 0) RETURNING started_at`,
      [id, migration.checksum, migration.name],
    );
    startedAt = inserted.rows[0]?.started_at;
    await client.query(migration.script);
    await client.query(
      `UPDATE "_prisma_migrations" SET applied_steps_count = applied_steps_count + 1, finished_at = date_trunc('milliseconds', clock_timestamp()) WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    const logs = describeDatabaseError(error);
    await client
      .query(
        `INSERT INTO "_prisma_migrations" (id, checksum, started_at, migration_name, logs, applied_steps_count)
         VALUES ($1, $2, COALESCE($3, date_trunc('milliseconds', now())), $4, $5, 0)`,
        [id, migration.checksum, startedAt ?? null, migration.name, logs],
      )
      .catch(() => {});
    throw new MigrationError(
      'P3018',
      `Migration \`${migration.name}\` failed to apply; nothing of it was kept. New migrations cannot be applied before the error is recovered from. ${RESOLVE_HINT}\n\n${logs}`,
    );
  }
}

async function readMigrations(dir: string): Promise<LocalMigration[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new MigrationError('P3015', `Cannot read the migrations directory ${dir}: ${(error as Error).message}`);
  }
  const lockfile = await readFile(path.join(dir, 'migration_lock.toml'), 'utf8').catch(() => undefined);
  const provider = lockfile ? /^\s*provider\s*=\s*"([^"]*)"/m.exec(lockfile)?.[1] : undefined;
  if (provider !== undefined && provider !== 'postgresql') {
    throw new MigrationError(
      'P3019',
      `The migrations in ${dir} were made for "${provider}" (migration_lock.toml), not for "postgresql".`,
    );
  }

  // Same order as Prisma: directory names compared with localeCompare.
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b));
  const migrations: LocalMigration[] = [];
  for (const name of names) {
    const file = path.join(dir, name, 'migration.sql');
    let script: string;
    try {
      script = await readFile(file, 'utf8');
    } catch {
      throw new MigrationError(
        'P3015',
        `Could not find the migration file at ${file}. Remove the empty migration directory or restore the file.`,
      );
    }
    migrations.push({ name, script, checksum: sha256Hex(script) });
  }
  return migrations;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Like Prisma's check: the script matches if its sha256 equals the stored checksum, also after
 * converting line endings either way (git may check files out with CRLF), or in the legacy
 * format that dropped each byte's leading zero.
 */
export function checksumMatches(script: string, checksum: string): boolean {
  const variants = new Set([script, script.replace(/\r\n/g, '\n'), script.replace(/\r?\n/g, '\r\n')]);
  for (const variant of variants) {
    const digest = createHash('sha256').update(variant, 'utf8').digest();
    if (digest.toString('hex') === checksum) return true;
    if ([...digest].map((byte) => byte.toString(16)).join('') === checksum) return true;
  }
  return false;
}

async function acquireLock(client: pg.Client, timeoutMs: number, log: (msg: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waited = false;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      PRISMA_ADVISORY_LOCK_ID,
    ]);
    if (rows[0]?.locked) return;
    if (!waited) {
      log('another process is applying migrations; waiting for it to finish');
      waited = true;
    }
    if (Date.now() >= deadline) {
      throw new MigrationError(
        'MIGRATION_LOCK_TIMEOUT',
        `Timed out after ${timeoutMs} ms waiting for the migration advisory lock (pg_advisory_lock(${PRISMA_ADVISORY_LOCK_ID})) held by another process.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function describeDatabaseError(error: unknown): string {
  const e = error as {
    code?: unknown;
    message?: unknown;
    detail?: unknown;
    hint?: unknown;
    position?: unknown;
    where?: unknown;
  };
  const lines: string[] = [];
  if (typeof e.code === 'string') lines.push(`Database error code: ${e.code}`, '');
  lines.push('Database error:', `ERROR: ${typeof e.message === 'string' ? e.message : String(error)}`);
  if (typeof e.detail === 'string') lines.push(`DETAIL: ${e.detail}`);
  if (typeof e.hint === 'string') lines.push(`HINT: ${e.hint}`);
  if (typeof e.where === 'string') lines.push(`CONTEXT: ${e.where}`);
  if (typeof e.position === 'string') lines.push(`Position: ${e.position}`);
  return lines.join('\n');
}

// Prisma-only connection string parameters pg does not understand; `schema` becomes the search_path.
const PRISMA_URL_PARAMS = [
  'schema',
  'connection_limit',
  'pool_timeout',
  'socket_timeout',
  'pgbouncer',
  'statement_cache_size',
  'sslaccept',
  'connect_timeout',
];

function schemaOf(databaseUrl: string): string | undefined {
  try {
    return new URL(databaseUrl).searchParams.get('schema') ?? undefined;
  } catch {
    return undefined;
  }
}

function clientConfig(databaseUrl: string): pg.ClientConfig {
  let connectionString = databaseUrl;
  try {
    const url = new URL(databaseUrl);
    for (const p of PRISMA_URL_PARAMS) url.searchParams.delete(p);
    connectionString = url.toString();
  } catch {
    // not a URL (e.g. key=value form): hand it to pg as is
  }
  const schema = schemaOf(databaseUrl);
  return {
    connectionString,
    application_name: 'cloud-ops-migrate',
    ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
  };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
