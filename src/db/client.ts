// The pg pools of a process: the main one (Prisma through its driver adapter, the API, `npm run sync`) and the
// worker's (graphile-worker and the jobs' SQL). A pool survives a database outage: a lost connection is reported and
// dropped, and the next query opens a new one.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { silentLogger, type Logger } from '../logger.js';
import { explainConnectionError } from './errors.js';

export type { PrismaClient };

/** `logger`: where a lost connection is reported (tests and benches may leave it out). */
export function createPool(
  databaseUrl: string,
  options: { max?: number; applicationName?: string; logger?: Logger } = {},
): pg.Pool {
  const logger = options.logger ?? silentLogger;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'cloud-ops',
    connectionTimeoutMillis: 10_000,
    // A peer that vanished without closing (a network partition) is noticed within about a minute, not hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle database connection lost'));
  pool.on('connect', (client) =>
    client.on('error', (error) => logger.warn({ err: error.message }, 'database connection lost')),
  );
  return pool;
}

export function createPrisma(pool: pg.Pool): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}

/** Fails fast, with one clear line, when the database cannot be reached. */
export async function assertReachable(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw explainConnectionError(databaseUrl, error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function isReachable(pool: pg.Pool, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pool.query('SELECT 1'),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs))),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
