// A page of 100 resources with their projects through the whole GraphQL stack (JWT, Yoga, limits, Pothos,
// Prisma with relationJoins), against a floor measured in the same run: a bare node:http handler running one
// hand-written SQL query for the same rows and writing the same JSON.
//
//   npx tsx bench/graphql-resources.ts          (BENCH_SECONDS=6 per side by default, BENCH_CONCURRENCY=16)
//
// Each server runs in a child process of its own (this script, with --serve), so the load generator here does
// not share its event loop; the two are loaded in alternating turns, so a noisy machine weighs on both alike.
// BENCH_PROFILE=graphql (or floor) writes that server's CPU profile to /tmp/bench-profile.
// The database: a new `cloudops_bench_gql_<pid>` on DATABASE_URL's server (default 127.0.0.1:5432), migrated,
// seeded with 5,000 resources in 50 projects, dropped at the end.
//
// Checks (exit status 1 when one fails): the GraphQL page runs at most 2 SQL statements (counted at the pg
// connection), its rows equal the floor's, and GraphQL requests/s ÷ floor requests/s ≥ 0.5 (the target).
// Two more figures, for the record: the same bare handler reading the page through Prisma (the narrowest select,
// no GraphQL at all), whose ratio is the ceiling of any server that reads through Prisma; and the service answering
// `{ __typename }`, what a request costs before any field runs.
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createLogger } from '../src/logger.js';
import { signToken } from '../src/auth.js';
import { loadConfig } from '../src/config.js';
import { createPool, createPrisma } from '../src/db/client.js';
import { createBenchDatabase, seedInventory } from './lib/database.js';
import { load, type RequestSpec } from './lib/load.js';
import { EventListener } from '../src/events.js';
import { createHttpServer } from '../src/http/server.js';

const logger = createLogger({ level: 'warn', format: 'json' });
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TARGET = 0.5;
const MAX_STATEMENTS = 2;
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const RESOURCES = 5_000;
const PROJECTS = 50;

const QUERY = `{ resources(first: 100) { edges { node { id kind name region status tags project { id name } } } } }`;
// The floor: the same rows and columns, one statement, the same JSON shape, nothing else.
const FLOOR_SQL = `
  SELECT r.id::text AS id, r.kind, r.name, r.region, r.status, r.tags,
         CASE WHEN p.id IS NULL THEN NULL ELSE json_build_object('id', p.id::text, 'name', p.name) END AS project
  FROM cloud_resources r LEFT JOIN cloud_projects p ON p.id = r.cloud_project_id
  ORDER BY r.id LIMIT 100`;

type ServerKind = 'floor' | 'prisma' | 'graphql';
const SERVERS: readonly ServerKind[] = ['floor', 'prisma', 'graphql'];
/** What is loaded, in turns: the three servers, and the GraphQL server with a query that reads nothing. */
type Case = ServerKind | 'empty';
const CASES: readonly Case[] = ['floor', 'prisma', 'empty', 'graphql'];
const CASE_LABELS: Record<Case, string> = {
  floor: 'bare node:http, one hand-written SQL query',
  prisma: 'bare node:http, the page through Prisma (no GraphQL)',
  empty: 'the service, { __typename } (JWT, Yoga, limits; no data)',
  graphql: 'the service, the page',
};

if (process.argv[2] === '--serve') await serve(process.argv[3] as ServerKind, process.argv[4]!);
else await main();

/** A bare node:http handler answering every request with the page `rows` reads, in the GraphQL response's shape. */
function bareServer(rows: () => Promise<unknown[]>): http.Server {
  return http.createServer((_req, res) => {
    rows().then(
      (page) => {
        const text = JSON.stringify({ data: { resources: { edges: page.map((node) => ({ node })) } } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
}

/** Child: one server, on a free port, reported to the parent. */
async function serve(kind: ServerKind, dbUrl: string): Promise<void> {
  const pool = createPool(dbUrl);
  let server: http.Server;
  if (kind === 'floor') {
    server = bareServer(async () => (await pool.query<Record<string, unknown>>(FLOOR_SQL)).rows);
  } else if (kind === 'prisma') {
    const prisma = createPrisma(pool);
    server = bareServer(async () => {
      const rows = await prisma.cloudResource.findMany({
        take: 100,
        orderBy: { id: 'asc' },
        select: {
          id: true,
          kind: true,
          name: true,
          region: true,
          status: true,
          tags: true,
          cloudProject: { select: { id: true, name: true } },
        },
      });
      return rows.map(({ id, cloudProject, ...rest }) => ({
        id: String(id),
        ...rest,
        project: cloudProject && { id: String(cloudProject.id), name: cloudProject.name },
      }));
    });
  } else {
    // The response cache is off: every request executes, as the floor's does.
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: dbUrl,
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'silent',
      RESPONSE_CACHE: 'false',
    });
    const events = new EventListener(dbUrl);
    await events.start();
    server = createHttpServer({
      config,
      pool,
      prisma: createPrisma(pool),
      events,
      jwtSecret: new TextEncoder().encode(SECRET),
      workerRunning: () => false,
      logger,
    }).server;
  }
  server.keepAliveTimeout = 60_000;
  // A clean exit (so `node --cpu-prof` can write its profile when the parent stops this server).
  process.on('SIGTERM', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
}

async function main(): Promise<void> {
  let failures = 0;
  const fail = (message: string): void => {
    failures += 1;
    console.error(`FAIL ${message}`);
  };
  const db = await createBenchDatabase('gql');
  const dbUrl = db.url;
  const children: ChildProcess[] = [];
  try {
    await seed(dbUrl);
    const jwt = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET }).jwt;
    const token = await signToken(jwt, new TextEncoder().encode(SECRET), {
      subject: 'bench',
      admin: true,
      ttlSeconds: 3600,
    });

    // 1. SQL statements for one page, counted at the connection, in this process.
    const counted = await countStatements(dbUrl, token);
    console.log(
      `SQL statements for resources(first: 100) with nested project: ${counted.statements} (at most ${MAX_STATEMENTS})`,
    );
    if (counted.statements > MAX_STATEMENTS)
      fail(`${counted.statements} SQL statements for one page (at most ${MAX_STATEMENTS})`);

    // 2. Throughput: each server in its own process, loaded in turns (floor, Prisma, GraphQL, ..., floor, ...) so
    //    that a noisy machine weighs on all alike.
    const ports = {} as Record<ServerKind, number>;
    for (const kind of SERVERS) {
      const execArgv = [
        '--import',
        'tsx',
        ...(process.env.BENCH_PROFILE === kind ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bench-profile'] : []),
      ];
      // The servers run as the service is deployed (the Dockerfile sets NODE_ENV=production, which graphql-js
      // and other libraries read from the environment, not from our config), with identical environments.
      const env = { ...process.env, NODE_ENV: 'production' };
      const child = fork(new URL(import.meta.url).pathname, ['--serve', kind, dbUrl], {
        execArgv,
        env,
        stdio: 'inherit',
      });
      children.push(child);
      ports[kind] = await new Promise<number>((resolve, reject) => {
        child.once('message', (m) => resolve((m as { port: number }).port));
        child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
      });
    }
    const bare = (port: number): RequestSpec => ({
      port,
      method: 'GET',
      path: '/resources',
      headers: {},
      body: undefined,
    });
    const graphql = (query: string): RequestSpec => ({
      port: ports.graphql,
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    const cases: Record<Case, RequestSpec> = {
      floor: bare(ports.floor),
      prisma: bare(ports.prisma),
      empty: graphql('{ __typename }'),
      graphql: graphql(QUERY),
    };
    const results = {} as Record<
      Case,
      { requests: number; errors: number; latencies: number[]; seconds: number; body: string }
    >;
    for (const name of CASES) {
      const body = (await load(cases[name], 1, 0.5)).lastBody; // warm-up (JIT, caches, pool)
      await load(cases[name], CONCURRENCY, 1);
      results[name] = { requests: 0, errors: 0, latencies: [], seconds: 0, body };
    }
    const rounds = Math.max(1, Math.round(SECONDS));
    for (let round = 0; round < rounds; round += 1) {
      for (const name of CASES) {
        const run = await load(cases[name], CONCURRENCY, SECONDS / rounds);
        results[name].requests += run.requests;
        results[name].errors += run.errors;
        results[name].latencies.push(...run.latencies);
        results[name].seconds += run.seconds;
      }
    }
    const rps = {} as Record<Case, number>;
    for (const name of CASES) {
      const { requests, errors, latencies, seconds } = results[name];
      latencies.sort((a, b) => a - b);
      const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
      // Over the time the turns really took: a turn ends when its last request (sent before the deadline) is answered.
      rps[name] = requests / seconds;
      console.log(
        `${name.padEnd(8)} ${rps[name].toFixed(0).padStart(6)} req/s  p50 ${at(0.5).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms  (${CONCURRENCY} connections, ${SECONDS} s in ${rounds} turns, ${errors} errors)  ${CASE_LABELS[name]}`,
      );
      if (errors > 0) fail(`${name}: ${errors} failed requests`);
    }
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) =>
        child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve(),
      ),
    );

    const edges = (name: Case) =>
      JSON.stringify(
        (JSON.parse(results[name].body) as { data: { resources: { edges: unknown[] } } }).data.resources.edges,
      );
    if (edges('graphql') !== edges('floor')) fail('GraphQL rows differ from the floor’s');
    if (edges('prisma') !== edges('floor')) fail('the Prisma handler’s rows differ from the floor’s');

    // Each server is bound by its one core, so 1/rps is its CPU time per request. The target leaves the GraphQL
    // request twice the floor's time; the Prisma handler shows what the read alone takes of it, and the empty
    // query what Yoga, the JWT and the limits take before any field runs.
    const ms = (name: Case) => 1000 / rps[name];
    console.log(
      `per request: floor ${ms('floor').toFixed(2)} ms, Prisma handler ${ms('prisma').toFixed(2)} ms, empty GraphQL query ${ms('empty').toFixed(2)} ms, ` +
        `GraphQL page ${ms('graphql').toFixed(2)} ms; the target allows ${(ms('floor') / TARGET).toFixed(2)} ms`,
    );
    console.log(
      `ratio Prisma handler / floor: ${(rps.prisma / rps.floor).toFixed(2)} (the ceiling of any server that reads through Prisma)`,
    );
    console.log(
      `ratio GraphQL / Prisma handler: ${(rps.graphql / rps.prisma).toFixed(2)} (what Yoga, Pothos and the executor keep of it)`,
    );
    const ratio = rps.graphql / rps.floor;
    console.log(`ratio GraphQL / floor: ${ratio.toFixed(2)} (target ≥ ${TARGET})`);
    if (ratio < TARGET) fail(`ratio ${ratio.toFixed(2)} below ${TARGET}`);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await db.drop();
  }
  console.log(
    failures === 0 ? 'graphql-resources: all checks passed' : `graphql-resources: ${failures} check(s) failed`,
  );
  process.exit(failures === 0 ? 0 : 1);
}

async function seed(dbUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await seedInventory(client, {
      projects: PROJECTS,
      resources: RESOURCES,
      tenants: 5,
      kinds: ['droplet', 'volume', 'load_balancer', 'floating_ip'],
    });
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

async function countStatements(dbUrl: string, token: string): Promise<{ statements: number }> {
  const pool = createPool(dbUrl);
  let statements = 0;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      statements += 1;
      return query(...args);
    };
  });
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: dbUrl, JWT_SECRET: SECRET, RESPONSE_CACHE: 'false' });
  const events = new EventListener(dbUrl);
  await events.start();
  const service = createHttpServer({
    config,
    pool,
    prisma: createPrisma(pool),
    events,
    jwtSecret: new TextEncoder().encode(SECRET),
    workerRunning: () => false,
    logger,
  });
  await new Promise<void>((resolve) => service.server.listen(0, '127.0.0.1', resolve));
  const { port } = service.server.address() as AddressInfo;
  const send = () =>
    fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERY }),
    }).then((r) => r.json() as Promise<{ data?: { resources: { edges: unknown[] } } }>);
  await send(); // the pool connects (and Prisma warms up) outside the count
  statements = 0;
  const body = await send();
  const counted = statements;
  if (body.data?.resources.edges.length !== 100)
    throw new Error(`unexpected response: ${JSON.stringify(body).slice(0, 300)}`);
  await service.close(100);
  await events.stop();
  await pool.end();
  return { statements: counted };
}
