// A repeated dashboard query through the whole service with the response cache on and off, side by side: two
// server processes on one database (identical but for RESPONSE_CACHE), loaded in alternating turns, so a noisy
// machine weighs on both alike. Prints req/s per turn, medians and spread, and the ratio cached / uncached.
//
//   npx tsx bench/response-cache.ts        (BENCH_TURNS=7 turns of BENCH_TURN_SECONDS=1.5 per server and query,
//                                           BENCH_CONCURRENCY=16 connections)
//
// Two queries: the resources page of bench/graphql-resources.ts, and a dashboard (sync status, a page of projects
// with per-kind counts, a page of live resources). Every answer is checked equal between the two servers.
// The database: a new `cloudops_bench_cache_<pid>` on DATABASE_URL's server (default 127.0.0.1:5432), seeded with
// 5,000 resources in 50 projects, dropped at the end. Exit status 1 when an answer differs or a request fails.
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { signToken } from '../src/auth.js';
import { loadConfig } from '../src/config.js';
import { createPool, createPrisma } from '../src/db/client.js';
import { EventListener } from '../src/events.js';
import { createHttpServer } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';
import { createBenchDatabase, seedInventory } from './lib/database.js';
import { load, type RequestSpec } from './lib/load.js';

const TURNS = Number(process.env.BENCH_TURNS ?? 7);
const TURN_SECONDS = Number(process.env.BENCH_TURN_SECONDS ?? 1.5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

const QUERIES = {
  page: `{ resources(first: 100) { edges { node { id kind name region status tags project { id name } } } } }`,
  dashboard: `{
    syncStatus { task running lastRun { status finishedAt } }
    projects(first: 20) { totalCount edges { node { id name tenantId resourceCounts { kind total live } } } }
    resources(first: 50, filter: { state: LIVE }) { totalCount edges { node { id kind name region status project { name } } } }
  }`,
} as const;
type QueryName = keyof typeof QUERIES;
type Side = 'cached' | 'uncached';
const SIDES: readonly Side[] = ['uncached', 'cached'];

if (process.argv[2] === '--serve') await serve(process.argv[3] as Side, process.argv[4]!);
else await main();

async function serve(side: Side, dbUrl: string): Promise<void> {
  const pool = createPool(dbUrl);
  const config = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: dbUrl,
    JWT_SECRET: SECRET,
    LOG_LEVEL: 'silent',
    RESPONSE_CACHE: side === 'cached' ? 'true' : 'false',
  });
  const events = new EventListener(dbUrl);
  await events.start();
  const { server } = createHttpServer({
    config,
    pool,
    prisma: createPrisma(pool),
    events,
    jwtSecret: new TextEncoder().encode(SECRET),
    workerRunning: () => false,
    logger: createLogger({ level: 'warn', format: 'json' }),
  });
  server.keepAliveTimeout = 60_000;
  process.on('SIGTERM', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
}

async function main(): Promise<void> {
  let failures = 0;
  const fail = (message: string): void => {
    failures += 1;
    console.error(`FAIL ${message}`);
  };
  const db = await createBenchDatabase('cache');
  const children: ChildProcess[] = [];
  try {
    await seed(db.url);
    const jwt = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET }).jwt;
    const token = await signToken(jwt, new TextEncoder().encode(SECRET), { subject: 'bench', admin: true });
    const ports = {} as Record<Side, number>;
    for (const side of SIDES) {
      const child = fork(new URL(import.meta.url).pathname, ['--serve', side, db.url], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, NODE_ENV: 'production' },
        stdio: 'inherit',
      });
      children.push(child);
      ports[side] = await new Promise<number>((resolve, reject) => {
        child.once('message', (m) => resolve((m as { port: number }).port));
        child.once('exit', (code) => reject(new Error(`${side} server exited (${code})`)));
      });
    }
    const spec = (side: Side, query: QueryName): RequestSpec => ({
      port: ports[side],
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERIES[query] }),
    });

    for (const query of Object.keys(QUERIES) as QueryName[]) {
      const bodies = {} as Record<Side, string>;
      for (const side of SIDES) {
        bodies[side] = (await load(spec(side, query), 1, 0.5)).lastBody; // warm-up (JIT, pool, the cache)
        await load(spec(side, query), CONCURRENCY, 1);
      }
      const answers = (side: Side) => JSON.stringify((JSON.parse(bodies[side]) as { data: unknown }).data);
      if (answers('cached') !== answers('uncached')) fail(`${query}: the two servers answer differently`);
      if (bodies.cached.includes('"errors"')) fail(`${query}: ${bodies.cached.slice(0, 300)}`);

      const perTurn: Record<Side, number[]> = { cached: [], uncached: [] };
      for (let turn = 0; turn < TURNS; turn += 1) {
        // Alternate which side goes first, so neither always follows the other's load.
        for (const side of turn % 2 === 0 ? SIDES : [...SIDES].reverse()) {
          const run = await load(spec(side, query), CONCURRENCY, TURN_SECONDS);
          if (run.errors > 0) fail(`${query} ${side}: ${run.errors} failed requests`);
          perTurn[side].push(run.requests / run.seconds);
        }
      }
      const ratios = perTurn.cached.map((rps, i) => rps / perTurn.uncached[i]!);
      for (const side of SIDES)
        console.log(
          `${query.padEnd(9)} ${side.padEnd(8)} median ${median(perTurn[side]).toFixed(0).padStart(6)} req/s  ` +
            `(min ${Math.min(...perTurn[side]).toFixed(0)}, max ${Math.max(...perTurn[side]).toFixed(0)}; turns: ${perTurn[side].map((v) => v.toFixed(0)).join(' ')})`,
        );
      console.log(
        `${query.padEnd(9)} ratio cached / uncached: median ${median(ratios).toFixed(1)} (min ${Math.min(...ratios).toFixed(1)}, max ${Math.max(...ratios).toFixed(1)}) over ${TURNS} turns of ${TURN_SECONDS} s, ${CONCURRENCY} connections`,
      );
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await db.drop();
  }
  console.log(failures === 0 ? 'response-cache: all checks passed' : `response-cache: ${failures} check(s) failed`);
  process.exit(failures === 0 ? 0 : 1);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function seed(dbUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await seedInventory(client, {
      projects: 50,
      resources: 5000,
      tenants: 5,
      kinds: ['droplet', 'volume', 'load_balancer', 'floating_ip'],
      staleEvery: 20,
    });
    await client.query(
      `INSERT INTO sync_runs (account_id, task, trigger, status, finished_at)
       SELECT 'default', task, 'cron', 'succeeded', now() FROM unnest(ARRAY['droplet','volume','projects']) task`,
    );
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}
