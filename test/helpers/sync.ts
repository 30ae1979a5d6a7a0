// Shared setup for the inventory sync suites: a test database, a simulator, a DigitalOcean transport with pacing off
// and fast retries, and a statement-counting wrapper around the pool (to prove the bulk path).
import pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';
import { createPool, createPrisma, type PrismaClient } from '../../src/db/client.js';
import { startSimulator, type Faults, type Scale, type Simulator } from '../../tools/simulator/index.js';
import { createTransport, type Transport, type TransportOptions } from '../../src/digitalocean/transport.js';
import { INVENTORY_TASKS } from '../../src/domain/tasks.js';
import {
  createSyncEngine,
  type SqlClient,
  type SyncEngine,
  type SyncEngineOptions,
} from '../../src/jobs/inventory/engine.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_TOKEN = 'dop_v1_test_token_0123456789abcdef';
export const ACCOUNT = 'test-account';

/** Pacing off, retries fast: a 429 with `retry-after: 1` waits at most maxRetryAfterMs. */
export function testTransport(url: string, overrides: Partial<TransportOptions> = {}): Transport {
  return createTransport({
    token: TEST_TOKEN,
    baseUrl: url,
    timeoutMs: 5_000,
    maxRequestsPerMinute: Infinity,
    maxRequestsPerHour: Infinity,
    rateLimitReserve: 0,
    maxRetries: 3,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    maxRetryAfterMs: 20,
    ...overrides,
  });
}

/** Wraps a pool: every statement is recorded (text), so a test can count statements per page. */
export interface CountingDb extends SqlClient {
  statements: string[];
  reset(): void;
  count(match: RegExp): number;
}

export function countingDb(pool: pg.Pool): CountingDb {
  const statements: string[] = [];
  return {
    statements,
    query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
      statements.push(text);
      return pool.query<R>(text, values);
    },
    reset: () => {
      statements.length = 0;
    },
    count: (match) => statements.filter((s) => match.test(s)).length,
  };
}

export interface SyncHarness {
  db: TestDatabase;
  pool: pg.Pool;
  prisma: PrismaClient;
  sim: Simulator;
  sql: CountingDb;
  transport: Transport;
  engine: SyncEngine;
  /** A second engine on the same database and simulator (other options). */
  makeEngine(options?: Partial<SyncEngineOptions>): SyncEngine;
  /** Runs every kind, then projects; fails the test on a failed run. */
  syncAll(engine?: SyncEngine): Promise<void>;
  close(): Promise<void>;
}

export async function startSyncHarness(
  options: { seed?: number; scale?: Partial<Scale>; faults?: Faults; engine?: Partial<SyncEngineOptions> } = {},
): Promise<SyncHarness> {
  const db = await createTestDatabase();
  const pool = createPool(db.url, { max: 4 });
  const prisma = createPrisma(pool);
  const sim = await startSimulator({
    port: 0,
    seed: options.seed ?? 1,
    scale: options.scale ?? {},
    faults: options.faults ?? {},
  });
  const sql = countingDb(pool);
  const transport = testTransport(sim.url);
  const makeEngine = (extra: Partial<SyncEngineOptions> = {}): SyncEngine =>
    createSyncEngine({ db: sql, accountId: ACCOUNT, transport, ...options.engine, ...extra });
  const engine = makeEngine();
  return {
    db,
    pool,
    prisma,
    sim,
    sql,
    transport,
    engine,
    makeEngine,
    syncAll: async (e = engine) => {
      for (const task of INVENTORY_TASKS) {
        const result = await e.run(task, { trigger: 'manual' });
        if (result.status === 'failed') throw new Error(`sync ${task} failed: ${result.error}`);
      }
    },
    close: async () => {
      await sim.close();
      await prisma.$disconnect().catch(() => undefined);
      await pool.end();
      await db.drop();
    },
  };
}

/** Rows per kind in cloud_resources. */
export async function rowsPerKind(pool: pg.Pool, where = 'true'): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ kind: string; n: number }>(
    `SELECT kind, count(*)::int AS n FROM cloud_resources WHERE ${where} GROUP BY kind`,
  );
  return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
}

/** The simulator's count for each listed local kind. */
export function simulatorCounts(sim: Simulator): Record<string, number> {
  const a = sim.account;
  return {
    droplet: a.count('droplet'),
    volume: a.count('volume'),
    snapshot: a.count('snapshot'),
    floating_ip: a.count('reserved_ip'),
    reserved_ipv6: a.count('reserved_ipv6'),
    firewall: a.count('firewall'),
    load_balancer: a.count('load_balancer'),
    dns_zone: a.count('domain'),
    managed_db: a.count('database'),
    kubernetes_cluster: a.count('kubernetes'),
    app: a.count('app'),
  };
}
