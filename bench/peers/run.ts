// The read path side by side with its peers, in one run:   npx tsx bench/peers/run.ts
//
// - cloud-ops as production runs it: `npm run build`, then `node --enable-source-maps dist/server.js`
//   (NODE_ENV=production, RUN_WORKER=false), queried with an admin JWT: `cloudops` with RESPONSE_CACHE=false, so
//   every request executes, and `cached`, the same build with the response cache on (what a polling dashboard sees).
// - PostGraphile v5 (postgraphile@5.1.5, Amber preset, production mode) over the same database. It is installed on
//   demand with `npm install` into bench/peers/.peers (gitignored, outside the project's dependencies; the first run
//   takes about a minute), and given what its schema needs to answer the same questions: a computed column for the
//   per-kind counts and one SQL function per cost rollup (bench/peers/seed.ts).
// - The floor: a bare node:http handler per query, the fewest hand-written statements through pg, JSON.stringify.
// Each server runs in a child process of its own with bench/peers/hook.mjs preloaded, which counts the SQL statements
// it sends through pg and reports its CPU time and resident set (sampled every 100 ms) when asked.
//
// The database: `cloudops_bench_peers_<pid>` on DATABASE_URL's server (default 127.0.0.1:5432), migrated, seeded
// with 10,000 droplets, 20,000 snapshots, 50 projects and 13 invoices with 327,000 cost lines, dropped at the end.
// BENCH_EXTRA_SQL runs more SQL on it after seeding (an index to try, for example).
//
// The queries (bench/peers/queries.ts): A resources(first: 100) with project; B a dashboard (20 projects with
// per-kind counts and 20 resources each, plus 100 lines of the newest invoice with their resources); B2 the same on
// the oldest invoice; lines, a wide page of 100 cost lines of the newest invoice; costByProject, costByTenant,
// costByKind for the newest month. First every peer's answer is checked against the floor's (canonical form).
// Then BENCH_ROUNDS rounds (default 5); in each, every query is loaded on every peer in turn for BENCH_TURN_SECONDS
// (default 2) with BENCH_CONCURRENCY keep-alive connections (default 16). Printed per query and peer: medians over
// the rounds, with the spread (min–max) of req/s; p50/p99 latency; server CPU ms per request; SQL statements per
// request; and cloud-ops ÷ PostGraphile req/s (median of the per-round ratios). Then the servers' peak RSS.
// BENCH_ONLY=A,B limits the queries; BENCH_PROFILE=cloudops writes that server's CPU profile to /tmp/bench-profile;
// BENCH_SERVER_FLAGS='--max-semi-space-size=4' adds node flags to cloud-ops' server (to try one).
//
// Exit status 1 when an answer differs or a request fails, or a target is missed: A ≥ 0.8 × PostGraphile, every
// other query ≥ 1.0 × (uncached), the dashboards B and B2 cached ≥ 3 × PostGraphile, statements per request ≤ PostGraphile's, cloud-ops' RSS < 300 MB.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { signToken } from '../../src/auth.js';
import { loadConfig } from '../../src/config.js';
import { createBenchDatabase } from '../lib/database.js';
import { load, type RequestSpec } from '../lib/load.js';
import { PEERS, QUERIES, type Peer, type Query } from './queries.js';
import { seed } from './seed.js';

const POSTGRAPHILE_VERSION = '5.1.5';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TURN_SECONDS = Number(process.env.BENCH_TURN_SECONDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const MB = 1024 * 1024;
const RSS_LIMIT_MB = 300;
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const root = here('../../');
const PEER_DIR = here('./.peers');

if (process.argv[2] === '--floor') serveFloor(process.argv[3]!);
else await main();

/** Child: the floor, one route per query (/<name>?v=<json variables>). */
function serveFloor(dbUrl: string): void {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
  const byName = new Map(QUERIES.map((q) => [q.name, q]));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://floor');
    const query = byName.get(url.pathname.slice(1));
    const variables = JSON.parse(url.searchParams.get('v') ?? '{}') as Record<string, string>;
    (query ? query.floor(pool, variables) : Promise.reject(new Error('no such query'))).then(
      (data: unknown) => {
        const text = JSON.stringify({ data });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  server.keepAliveTimeout = 60_000;
  process.on('SIGTERM', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
}

interface Stats {
  statements: number;
  cpuMicros: number;
  rssMax: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

interface Server {
  peer: Peer;
  port: number;
  child: ChildProcess;
  stats(resetRss?: boolean): Promise<Stats>;
}

function installPostGraphile(): void {
  const installed = join(PEER_DIR, 'node_modules/postgraphile/package.json');
  if (
    existsSync(installed) &&
    (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version === POSTGRAPHILE_VERSION
  )
    return;
  console.log(`installing postgraphile@${POSTGRAPHILE_VERSION} into ${PEER_DIR} ...`);
  mkdirSync(PEER_DIR, { recursive: true });
  writeFileSync(join(PEER_DIR, 'package.json'), '{ "name": "bench-peers", "private": true }\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--save-exact', `postgraphile@${POSTGRAPHILE_VERSION}`], {
    cwd: PEER_DIR,
    stdio: 'inherit',
  });
}

function join(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/');
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts one server child with the hook preloaded; resolves when it answers. */
async function start(peer: Peer, dbUrl: string): Promise<Server> {
  const hook = ['--import', new URL('./hook.mjs', import.meta.url).href];
  const profile = process.env.BENCH_PROFILE === peer ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bench-profile'] : [];
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  let child: ChildProcess;
  let port: number;
  if (peer === 'cloudops' || peer === 'cached') {
    port = await freePort();
    child = fork(join(root, 'dist/server.js'), [], {
      cwd: root,
      execArgv: [
        '--enable-source-maps',
        ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
        ...hook,
        ...profile,
      ],
      env: {
        ...env,
        DATABASE_URL: dbUrl,
        JWT_SECRET: SECRET,
        PORT: String(port),
        HOST: '127.0.0.1',
        RUN_WORKER: 'false',
        RESPONSE_CACHE: peer === 'cached' ? 'true' : 'false',
        LOG_LEVEL: 'warn',
        DIGITALOCEAN_TOKEN: '',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await waitFor(child, async () => (await fetch(`http://127.0.0.1:${port}/api/health/live`)).ok);
  } else {
    const [script, args, execArgv] =
      peer === 'floor'
        ? [here('./run.ts'), ['--floor', dbUrl], ['--import', 'tsx', ...hook, ...profile]]
        : [here('./postgraphile.mjs'), [PEER_DIR, dbUrl], [...hook, ...profile]];
    child = fork(script, args, {
      cwd: root,
      execArgv,
      env: peer === 'postgraphile' ? { ...env, BENCH_PG_FROM: join(PEER_DIR, 'package.json') } : env,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`${peer} exited (${code}): ${out}`)));
    });
  }
  const stats = (resetRss = false) =>
    new Promise<Stats>((resolve) => {
      const onMessage = (message: { bench?: string } & Stats) => {
        if (message.bench !== 'stats') return;
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
      child.send({ bench: 'stats', resetRss });
    });
  return { peer, port, child, stats };
}

async function waitFor(child: ChildProcess, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode})`);
    if (await ready().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('server did not start within 30 s');
}

function requestFor(server: Server, query: Query, variables: Record<string, string>, token: string): RequestSpec {
  if (server.peer === 'floor') {
    return {
      port: server.port,
      method: 'GET',
      path: `/${query.name}?v=${encodeURIComponent(JSON.stringify(variables))}`,
      headers: {},
      body: undefined,
    };
  }
  return {
    port: server.port,
    method: 'POST',
    path: '/graphql',
    headers: {
      'content-type': 'application/json',
      ...(server.peer === 'postgraphile' ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query: server.peer === 'postgraphile' ? query.postgraphile : query.cloudops, variables }),
  };
}

async function send(spec: RequestSpec): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${spec.port}${spec.path}`, {
    method: spec.method,
    headers: spec.headers,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
  });
  return { status: res.status, body: await res.text() };
}

interface Turn {
  rps: number;
  p50: number;
  p99: number;
  cpuMs: number;
  statements: number;
  errors: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  let failures = 0;
  const fail = (message: string): void => {
    failures += 1;
    console.error(`FAIL ${message}`);
  };
  installPostGraphile();
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  const only = process.env.BENCH_ONLY?.split(',');
  const queries = QUERIES.filter((q) => !only || only.includes(q.name));
  const db = await createBenchDatabase('peers');
  const servers: Server[] = [];
  try {
    const t0 = performance.now();
    const seeded = await seed(db.url);
    if (process.env.BENCH_EXTRA_SQL) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query(process.env.BENCH_EXTRA_SQL);
      await client.query('ANALYZE');
      await client.end();
      console.log(`extra SQL: ${process.env.BENCH_EXTRA_SQL}`);
    }
    console.log(
      `seeded ${seeded.lines.toLocaleString('en-US')} cost lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const jwt = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET }).jwt;
    const token = await signToken(jwt, new TextEncoder().encode(SECRET), {
      subject: 'bench',
      admin: true,
      ttlSeconds: 7200,
    });
    for (const peer of PEERS) servers.push(await start(peer, db.url));

    // 1. Same answers, and the warm-up (JIT, pools, PostGraphile's plan cache).
    for (const query of queries) {
      const variables = query.variables(seeded);
      const answers = new Map<Peer, string>();
      for (const server of servers) {
        const { status, body } = await send(requestFor(server, query, variables, token));
        const parsed = JSON.parse(body) as { data?: unknown; errors?: unknown };
        if (status !== 200 || parsed.errors || !parsed.data) {
          fail(`${query.name} on ${server.peer}: HTTP ${status} ${body.slice(0, 400)}`);
          continue;
        }
        const canon: unknown =
          server.peer === 'floor'
            ? parsed.data
            : query.canon[server.peer === 'cached' ? 'cloudops' : server.peer](parsed.data);
        answers.set(server.peer, JSON.stringify(canon));
      }
      const floor = answers.get('floor');
      for (const [peer, answer] of answers) {
        if (answer !== floor) {
          fail(`${query.name}: ${peer}'s rows differ from the floor's`);
          console.error(`  floor: ${floor?.slice(0, 300)}\n  ${peer}: ${answer.slice(0, 300)}`);
        }
      }
      console.log(
        `${query.name}: same rows from ${[...answers.keys()].join(', ')} (${floor?.length ?? 0} bytes canonical)`,
      );
      for (const server of servers) await load(requestFor(server, query, variables, token), CONCURRENCY, 0.5);
    }
    for (const server of servers) await server.stats(true);

    // 2. Interleaved rounds: in each round every query on every peer, in turn.
    const turns = new Map<string, Turn[]>();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const query of queries) {
        const variables = query.variables(seeded);
        for (const server of servers) {
          const before = await server.stats();
          const run = await load(requestFor(server, query, variables, token), CONCURRENCY, TURN_SECONDS);
          const after = await server.stats();
          const latencies = [...run.latencies].sort((a, b) => a - b);
          const key = `${query.name}/${server.peer}`;
          turns.set(key, [
            ...(turns.get(key) ?? []),
            {
              rps: run.requests / run.seconds,
              p50: quantile(latencies, 0.5),
              p99: quantile(latencies, 0.99),
              cpuMs: (after.cpuMicros - before.cpuMicros) / 1000 / Math.max(1, run.requests),
              // Minus the stats message itself, which sends none.
              statements: (after.statements - before.statements) / Math.max(1, run.requests + run.errors),
              errors: run.errors,
            },
          ]);
        }
      }
      console.log(`round ${round + 1}/${ROUNDS} done`);
    }
    const rss = new Map<Peer, Stats>();
    for (const server of servers) rss.set(server.peer, await server.stats());

    // 3. The report.
    const f = (n: number, digits = 0) => n.toFixed(digits);
    console.log(
      `\n${ROUNDS} rounds × ${TURN_SECONDS} s per query and peer, ${CONCURRENCY} connections; medians (req/s: min–max)`,
    );
    console.log(
      `${'query'.padEnd(14)}${'peer'.padEnd(14)}${'req/s'.padStart(7)}${'spread'.padStart(13)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'CPU ms/req'.padStart(11)}${'SQL/req'.padStart(8)}`,
    );
    for (const query of queries) {
      for (const peer of PEERS) {
        const list = turns.get(`${query.name}/${peer}`)!;
        const rps = list.map((t) => t.rps);
        console.log(
          `${query.name.padEnd(14)}${peer.padEnd(14)}${f(median(rps)).padStart(7)}${`${f(Math.min(...rps))}–${f(Math.max(...rps))}`.padStart(13)}` +
            `${f(median(list.map((t) => t.p50)), 2).padStart(8)}${f(median(list.map((t) => t.p99)), 2).padStart(8)}` +
            `${f(median(list.map((t) => t.cpuMs)), 2).padStart(11)}${f(median(list.map((t) => t.statements)), 2).padStart(8)}`,
        );
        const errors = list.reduce((n, t) => n + t.errors, 0);
        if (errors > 0) fail(`${query.name} on ${peer}: ${errors} failed requests`);
      }
    }
    console.log(`\ncloud-ops ÷ PostGraphile (median of per-round ratios, min–max) and ÷ floor; targets`);
    for (const query of queries) {
      const ours = turns.get(`${query.name}/cloudops`)!;
      const theirs = turns.get(`${query.name}/postgraphile`)!;
      const floor = turns.get(`${query.name}/floor`)!;
      const ratios = ours.map((t, i) => t.rps / theirs[i]!.rps);
      const ratio = median(ratios);
      const target = query.name === 'A' ? 0.8 : 1.0;
      const ourSql = median(ours.map((t) => t.statements));
      const theirSql = median(theirs.map((t) => t.statements));
      const cpu = median(ours.map((t) => t.cpuMs)) / median(theirs.map((t) => t.cpuMs));
      console.log(
        `${query.name.padEnd(14)} ${f(ratio, 2)}× (${f(Math.min(...ratios), 2)}–${f(Math.max(...ratios), 2)}), ` +
          `floor ${f(median(ours.map((t, i) => t.rps / floor[i]!.rps)), 2)}×, CPU/req ${f(cpu, 2)}× PostGraphile's, ` +
          `SQL ${f(ourSql, 2)} vs ${f(theirSql, 2)}; target ≥ ${target}×: ${ratio >= target ? 'met' : 'MISSED'}` +
          `${ourSql <= theirSql + 0.01 ? '' : ', statements MISSED'}   ${query.label}`,
      );
      if (ratio < target) fail(`${query.name}: ${f(ratio, 2)}× PostGraphile (target ≥ ${target}×)`);
      if (ourSql > theirSql + 0.01)
        fail(`${query.name}: ${f(ourSql, 2)} statements per request, PostGraphile ${f(theirSql, 2)}`);
    }
    console.log(
      `\ncloud-ops with its response cache (repeated queries) ÷ PostGraphile uncached; dashboards target ≥ 3×`,
    );
    for (const query of queries) {
      const cached = turns.get(`${query.name}/cached`)!;
      const theirs = turns.get(`${query.name}/postgraphile`)!;
      const ratios = cached.map((t, i) => t.rps / theirs[i]!.rps);
      const ratio = median(ratios);
      const dashboard = query.name === 'B' || query.name === 'B2';
      console.log(
        `${query.name.padEnd(14)} ${f(ratio, 2)}× (${f(Math.min(...ratios), 2)}–${f(Math.max(...ratios), 2)}), ` +
          `SQL/req ${f(median(cached.map((t) => t.statements)), 2)}` +
          `${dashboard ? `; target ≥ 3×: ${ratio >= 3 ? 'met' : 'MISSED'}` : ''}`,
      );
      if (dashboard && ratio < 3) fail(`${query.name} cached: ${f(ratio, 2)}× PostGraphile (target ≥ 3×)`);
    }
    console.log('\npeak RSS under the read load (sampled every 100 ms after the warm-up):');
    for (const [peer, s] of rss) {
      console.log(
        `  ${peer.padEnd(14)} ${f(s.rssMax / MB)} MB (at the end: RSS ${f(s.rss / MB)} MB, V8 heap ${f(s.heapUsed / MB)} of ${f(s.heapTotal / MB)} MB, external ${f(s.external / MB)} MB)`,
      );
    }
    const ourRss = rss.get('cloudops')!.rssMax / MB;
    if (ourRss >= RSS_LIMIT_MB) fail(`cloud-ops peak RSS ${f(ourRss)} MB (limit ${RSS_LIMIT_MB} MB)`);
  } finally {
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(
      servers.map(({ child }) =>
        child.exitCode === null ? new Promise((r) => child.once('exit', r)) : Promise.resolve(),
      ),
    );
    await db.drop();
  }
  console.log(failures === 0 ? 'bench/peers: all checks passed' : `bench/peers: ${failures} check(s) failed`);
  process.exit(failures === 0 ? 0 : 1);
}
