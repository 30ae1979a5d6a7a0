// What metrics and tracing cost the read path, and what a scrape costs with 30,000 resources mirrored.
//
//   npx tsx bench/observability-overhead.ts      (BENCH_ROUNDS=10, BENCH_ROUND_SECONDS=2, BENCH_CONCURRENCY=16,
//                                                 BENCH_SCRAPES=200)
//
// Three servers, each the real service (startApp: config from the environment, NODE_ENV=production) in a child
// process of its own, on one database seeded with 30,000 resources in 300 projects, a month of sync_runs and
// graphile-worker's schema with queued jobs:
//   off      metrics off (production without METRICS_TOKEN: no /metrics, no GraphQL plugin), tracing off;
//   metrics  METRICS_TOKEN set: the GraphQL plugin counts and times every operation; /metrics scraped once a round;
//   tracing  metrics on, and tracing on (OTLP over HTTP to a sink in this process that accepts and discards).
// Each round loads each server in turn with `resources(first: 100)` and its nested project (closed loop), so a
// noisy machine weighs on all alike; ratios are computed per round and reported as median (min–max). Two figures per
// case: requests per second, and the server's CPU time per request (from /proc, the child's user + system time over
// its turn), which a machine shared with other work disturbs far less than throughput; the targets apply to the
// second (cost per request: off's CPU time ÷ the case's, so 0.95 means 5% more CPU per request).
// Then the scrape: BENCH_SCRAPES sequential GET /metrics against GET /api/health/live on the same server, after a
// round of load (so every series exists). Targets: metrics/off ≥ 0.95, tracing/off ≥ 0.85, scrape median < 50 ms.
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { runMigrations } from 'graphile-worker';
import { signToken } from '../src/auth.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startApp } from '../src/app.js';
import { TASK_NAMES, jobIdentifier } from '../src/domain/tasks.js';
import { createBenchDatabase, seedInventory } from './lib/database.js';
import { load, type RequestSpec } from './lib/load.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 200);
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const METRICS_TOKEN = 'bench-metrics-token-0123456789';
const RESOURCES = 30_000;
const PROJECTS = 300;
const QUERY = `{ resources(first: 100) { edges { node { id kind name region status tags project { id name } } } } }`;

type Case = 'off' | 'metrics' | 'tracing';
const CASES: readonly Case[] = ['off', 'metrics', 'tracing'];
const TARGETS: Record<Exclude<Case, 'off'>, number> = { metrics: 0.95, tracing: 0.85 };

if (process.argv[2] === '--serve') await serve(process.argv[3]!);
else await main();

/** Child: the service as deployed, configured by its environment. */
async function serve(dbUrl: string): Promise<void> {
  const config = loadConfig({ ...process.env, DATABASE_URL: dbUrl, PORT: '0', HOST: '127.0.0.1', RUN_WORKER: 'false' });
  const app = await startApp(config, { http: true, worker: false }, createLogger({ level: 'warn', format: 'json' }));
  process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));
  process.send!({ port: app.port });
}

async function main(): Promise<void> {
  let failures = 0;
  const fail = (message: string): void => {
    failures += 1;
    console.error(`FAIL ${message}`);
  };
  const db = await createBenchDatabase('observe');
  const children: ChildProcess[] = [];
  // The OTLP sink: accepts every export and discards it.
  let exported = 0;
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exported += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  try {
    await seed(db.url);
    const jwt = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET }).jwt;
    const token = await signToken(jwt, new TextEncoder().encode(SECRET), {
      subject: 'bench',
      admin: true,
      ttlSeconds: 3600,
    });

    // The response cache is off so that every request executes (otherwise the cases would measure cache hits).
    const base = { NODE_ENV: 'production', JWT_SECRET: SECRET, LOG_LEVEL: 'warn', RESPONSE_CACHE: 'false' };
    const envs: Record<Case, Record<string, string>> = {
      off: base,
      metrics: { ...base, METRICS_TOKEN },
      tracing: {
        ...base,
        METRICS_TOKEN,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
        OTEL_BSP_SCHEDULE_DELAY: '500',
      },
    };
    const ports = {} as Record<Case, number>;
    for (const name of CASES) {
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries({ ...process.env, ...envs[name] }))
        if (value !== undefined && !(name !== 'tracing' && key.startsWith('OTEL_'))) env[key] = value;
      const child = fork(new URL(import.meta.url).pathname, ['--serve', db.url], {
        execArgv: ['--import', 'tsx'],
        env,
        stdio: 'inherit',
      });
      children.push(child);
      ports[name] = await new Promise<number>((resolve, reject) => {
        child.once('message', (m) => resolve((m as { port: number }).port));
        child.once('exit', (code) => reject(new Error(`${name} server exited (${code})`)));
      });
    }
    const spec = (name: Case): RequestSpec => ({
      port: ports[name],
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERY }),
    });
    const scrapeSpec = (name: Case): RequestSpec => ({
      port: ports[name],
      method: 'GET',
      path: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      body: undefined,
    });

    for (const name of CASES) {
      await load(spec(name), 1, 0.5); // warm-up: JIT, pools, Prisma
      await load(spec(name), CONCURRENCY, 1);
    }
    const rps: Record<Case, number[]> = { off: [], metrics: [], tracing: [] };
    const cpuPerRequest: Record<Case, number[]> = { off: [], metrics: [], tracing: [] };
    const pids = Object.fromEntries(CASES.map((name, i) => [name, children[i]!.pid!])) as Record<Case, number>;
    let errors = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      // The order rotates, so that no case always follows the same one.
      for (let i = 0; i < CASES.length; i += 1) {
        const name = CASES[(round + i) % CASES.length]!;
        const cpuBefore = cpuSeconds(pids[name]);
        const run = await load(spec(name), CONCURRENCY, ROUND_SECONDS);
        cpuPerRequest[name].push(((cpuSeconds(pids[name]) - cpuBefore) * 1000) / run.requests);
        rps[name].push(run.requests / run.seconds);
        errors += run.errors;
        if (name !== 'off') await load(scrapeSpec(name), 1, 0, 1); // a scrape per round, as Prometheus would
      }
    }
    if (errors > 0) fail(`${errors} failed requests`);
    for (const name of CASES) {
      const r = stats(rps[name]);
      const c = stats(cpuPerRequest[name]);
      console.log(
        `${name.padEnd(8)} ${r.median.toFixed(0).padStart(5)} req/s median (${r.min.toFixed(0)}–${r.max.toFixed(0)}), ` +
          `server CPU ${c.median.toFixed(2)} ms/request (${c.min.toFixed(2)}–${c.max.toFixed(2)}) over ${ROUNDS} rounds of ${ROUND_SECONDS} s, ${CONCURRENCY} connections`,
      );
    }
    for (const name of ['metrics', 'tracing'] as const) {
      const throughput = stats(rps[name].map((value, i) => value / rps.off[i]!));
      const cost = stats(cpuPerRequest.off.map((value, i) => value / cpuPerRequest[name][i]!));
      console.log(
        `ratio ${name} / off: throughput ${throughput.median.toFixed(3)} (per round ${throughput.min.toFixed(3)}–${throughput.max.toFixed(3)}), ` +
          `CPU per request ${cost.median.toFixed(3)} (per round ${cost.min.toFixed(3)}–${cost.max.toFixed(3)}; target ≥ ${TARGETS[name]})`,
      );
      if (cost.median < TARGETS[name])
        fail(`${name} / off CPU per request ${cost.median.toFixed(3)} below ${TARGETS[name]}`);
    }
    console.log(`OTLP exports received by the sink: ${exported}`);
    if (exported === 0) fail('the tracing server exported nothing');

    // The scrape, with every series populated by the load above, against the cheapest route of the same server.
    const live: RequestSpec = { ...scrapeSpec('metrics'), path: '/api/health/live', headers: {} };
    const scrapeTimes: number[] = [];
    const liveTimes: number[] = [];
    let bytes = 0;
    for (let i = 0; i < SCRAPES; i += 1) {
      const scraped = await load(scrapeSpec('metrics'), 1, 0, 1);
      scrapeTimes.push(scraped.latencies[0]!);
      bytes = scraped.lastBody.length;
      liveTimes.push((await load(live, 1, 0, 1)).latencies[0]!);
    }
    const scrape = stats(scrapeTimes);
    const floor = stats(liveTimes);
    console.log(
      `GET /metrics with ${RESOURCES} resources: median ${scrape.median.toFixed(2)} ms (p90 ${scrape.p90.toFixed(2)}, ${scrape.min.toFixed(2)}–${scrape.max.toFixed(2)}), ${bytes} bytes; ` +
        `floor GET /api/health/live median ${floor.median.toFixed(2)} ms (p90 ${floor.p90.toFixed(2)}); ${SCRAPES} each, alternating (target < 50 ms)`,
    );
    if (scrape.median >= 50) fail(`scrape median ${scrape.median.toFixed(2)} ms`);
    const text = (await load(scrapeSpec('metrics'), 1, 0, 1)).lastBody;
    const dbRead = /^cloud_ops_metrics_database_duration_seconds (\S+)$/m.exec(text)?.[1];
    console.log(`of which the database state read (last scrape): ${(Number(dbRead) * 1000).toFixed(2)} ms`);
    if (
      !/cloud_ops_sync_seconds_since_last_success\{task="droplet"\}/.test(text) ||
      !/cloud_ops_metrics_database_up 1/.test(text)
    )
      fail('the scrape lacks the database state');
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) =>
        child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve(),
      ),
    );
    sink.close();
    await db.drop();
  }
  console.log(
    failures === 0
      ? 'observability-overhead: all checks passed'
      : `observability-overhead: ${failures} check(s) failed`,
  );
  process.exit(failures === 0 ? 0 : 1);
}

/** User + system CPU seconds of a process so far (Linux /proc; clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function stats(values: number[]): { median: number; p90: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { median: at(0.5), p90: at(0.9), min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN };
}

async function seed(dbUrl: string): Promise<void> {
  await runMigrations({ connectionString: dbUrl });
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await seedInventory(client, {
      projects: PROJECTS,
      resources: RESOURCES,
      tenants: 20,
      kinds: ['droplet', 'volume', 'load_balancer', 'floating_ip', 'snapshot'],
    });
    // A month of runs: every task every 15 minutes, one in twenty failed.
    await client.query(
      `INSERT INTO sync_runs (account_id, task, trigger, status, started_at, finished_at, duration_ms)
       SELECT 'default', t.task, 'cron', CASE WHEN n % 20 = 0 THEN 'failed' ELSE 'succeeded' END,
              now() - make_interval(mins => n * 15), now() - make_interval(mins => n * 15) + interval '20 seconds', 20000
       FROM unnest($1::text[]) AS t(task), generate_series(1, 2880) n`,
      [TASK_NAMES],
    );
    await client.query(
      `SELECT graphile_worker.add_job(j.identifier, '{}'::json, run_at => now() - interval '1 minute', job_key => j.identifier)
       FROM unnest($1::text[]) AS j(identifier)`,
      [TASK_NAMES.map(jobIdentifier)],
    );
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}
