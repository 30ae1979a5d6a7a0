// The fault suite: one broad sweep of what an attacker and an unlucky operator do to a small cluster (a production
// API server and three workers over one database, behind a TCP proxy, against the simulator), tallied into figures
// that are printed at the end and must all be 0. Each behaviour has its own focused test (lifecycle, database-outage,
// production-defaults, graphql-hardening, ingest-integrity); this runs one quick instance of each, end to end, and
// counts what went wrong instead of stopping at the first failure. No timed assertions: states within bounds, and
// "minutes lost" is reported, bounded by a minute (a dead process may hold a task up to a minute).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueTask } from '../src/domain/queue.js';
import { startSimulator, type Faults, type Simulator } from '../tools/simulator/index.js';
import { TEST_JWT_SECRET, token, unsignedToken } from './helpers/api.js';
import { linesDigest } from './helpers/billing.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { freePort, spawnEntry, waitForHealthy, type ServiceProcess } from './helpers/process.js';
import {
  lockedJobsAndQueues,
  markSynced,
  MINUTE,
  ownerOf,
  poll,
  runsOf,
  waitFor,
  type RunRow,
} from './helpers/runs.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const DO_TOKEN = `dop_v1_fault_suite_${randomBytes(8).toString('hex')}`;
const DB_PASSWORD = `pw-fault-suite-${randomBytes(8).toString('hex')}`;
/** Health must answer within this while an attack runs (generous: two busy cores). */
const HEALTH_BOUND_MS = 5_000;
/** A minute for a blocked task or a run left `running`, plus the run's own time on a busy machine. */
const TASK_BOUND_MS = MINUTE + 15_000;
/** Two pages of droplets at 1.5 s each: a droplet sync is mid-run when the signal comes. */
const SLOW_DROPLETS: Faults = { latency: { path: '/v2/droplets', ms: 1500 } };
const OUTAGE_MS = 6_000;

const figures = {
  'attacks tried': 0,
  'attacks not refused': 0,
  '5xx answers': 0,
  'secrets leaked (answers and logs)': 0,
  'stacks or errors logged for client mistakes': 0,
  '/api/health stalls during an attack': 0,
  'kills (SIGKILL, SIGTERM)': 0,
  'tasks blocked after a kill or outage': 0,
  'runs left running': 0,
  'locks left by dead processes': 0,
  'invoice lines lost or altered': 0,
  'invoices stuck ingesting': 0,
  'failed ingests not recorded': 0,
  'syncs failing on bad data': 0,
  'database outages': 0,
  'processes crashed': 0,
};
/** Not a count of bad things: from each kill to the next successful run of the task, in minutes. */
const minutesLost: Array<[string, number]> = [];
/** Which bad figures are not 0, with what caused them (printed with the table). */
const incidents: string[] = [];

function tally(figure: keyof typeof figures, what?: string): void {
  figures[figure] += 1;
  if (what !== undefined && figure !== 'attacks tried' && figure !== 'kills (SIGKILL, SIGTERM)')
    incidents.push(`${figure}: ${what}`);
}

describe('fault suite', { timeout: 4 * MINUTE }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let sim: Simulator;
  let proxy: TcpProxy;
  let server: ServiceProcess;
  let base: string;
  const workers: ServiceProcess[] = [];
  /** Processes the suite signalled itself; any other exit is a crash. */
  const signalled = new Set<ServiceProcess>();

  const watch = (p: ServiceProcess, name: string): ServiceProcess => {
    void p.exited.then((code) => {
      if (!signalled.has(p)) tally('processes crashed', `${name} exited (${code}): ${p.output().slice(-500)}`);
    });
    return p;
  };
  const alive = (): ServiceProcess[] => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    await markSynced(pool);
    sim = await startSimulator({ seed: 14, scale: { droplets: 300, months: 2 } });
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(db.url).port || 5432) });
    // Every process reaches the database through the proxy (for the outage), with a password it must never show.
    const url = new URL(proxy.rewrite(db.url));
    url.password = DB_PASSWORD;
    const env = {
      DATABASE_URL: url.toString(),
      DIGITALOCEAN_TOKEN: DO_TOKEN,
      DIGITALOCEAN_API_URL: sim.url,
      DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
      SHUTDOWN_TIMEOUT_MS: '60000',
    };
    const port = await freePort();
    server = watch(
      spawnEntry('src/server.ts', {
        ...env,
        NODE_ENV: 'production',
        JWT_SECRET: TEST_JWT_SECRET,
        RUN_WORKER: 'false',
        PORT: String(port),
        HOST: '127.0.0.1',
        GRAPHQL_WS_INIT_TIMEOUT_MS: '500',
      }),
      'server',
    );
    base = `http://127.0.0.1:${port}`;
    for (let i = 1; i <= 3; i++) workers.push(watch(spawnEntry('src/worker.ts', env), `worker ${i}`));
    await Promise.all([waitForHealthy(port), ...workers.map((w) => w.waitForOutput(/looking for jobs/i))]);
  });

  afterAll(async () => {
    const rows = Object.entries(figures).map(([figure, n]) => `  ${figure.padEnd(46)} ${String(n).padStart(4)}`);
    const lost = minutesLost.map(([kill, m]) => `  minutes lost after ${kill.padEnd(27)} ${m.toFixed(2).padStart(6)}`);
    console.log(['fault suite figures', ...rows, ...lost, ...incidents.map((i) => `  ! ${i}`)].join('\n'));
    const everyone = [server, ...workers].filter(Boolean);
    for (const p of everyone) signalled.add(p);
    await Promise.all(everyone.map((p) => p.stop('SIGKILL')));
    await proxy?.close();
    await sim?.close();
    await pool?.end();
    await db?.drop();
  });

  // --------------------------------------------------------------------------------------------------------------
  // Attacks, against the production server

  interface Answer {
    status: number;
    text: string;
  }
  const post = async (body: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, text: JSON.stringify([...response.headers]) + (await response.text()) };
  };
  const query = (q: string, bearer?: string, variables?: Record<string, unknown>) =>
    post(JSON.stringify({ query: q, variables }), bearer ? { authorization: `Bearer ${bearer}` } : {});
  const get = async (path: string, bearer?: string): Promise<Answer> => {
    const response = await fetch(`${base}${path}`, {
      headers: { accept: 'text/html', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    });
    return { status: response.status, text: JSON.stringify([...response.headers]) + (await response.text()) };
  };
  /** A WebSocket that sends `init` (or nothing), as an HTTP 101; refused when the server closes it (44xx) within the bound. */
  const socket = (init?: unknown) =>
    new Promise<Answer>((resolve) => {
      const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      const held = setTimeout(() => {
        ws.terminate();
        resolve({ status: 101, text: 'held open' });
      }, HEALTH_BOUND_MS);
      ws.on('open', () => init !== undefined && ws.send(JSON.stringify(init)));
      ws.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { type: string };
        if (message.type === 'connection_ack')
          ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ serviceVersion }' } }));
      });
      ws.on('close', (code, reason) => {
        clearTimeout(held);
        resolve({ status: 101, text: `closed ${code} ${reason.toString()}` });
      });
      ws.on('error', () => undefined);
    });

  const closedBy = (a: Answer): boolean => /^closed 44\d\d /.test(a.text);
  const errorsOnly = (a: Answer): boolean => a.status >= 400 || (/"errors":/.test(a.text) && !/"data":\{/.test(a.text));
  const fragments = (levels: number) => {
    let document = '{ ...F1 }';
    for (let i = 1; i < levels; i += 1) document += ` fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`;
    return `${document} fragment F${levels} on Query { serviceVersion }`;
  };
  const nested = (levels: number) => {
    let selection = 'name';
    for (let i = 0; i < levels; i += 1) selection = `project { resources { edges { node { ${selection} } } } }`;
    return `{ resources { edges { node { ${selection} } } } }`;
  };
  const cursor = (text: string) => Buffer.from(text).toString('base64');

  async function attacks(): Promise<void> {
    const admin = await token({ admin: true });
    const viewer = await token({ tenant: 't1' });
    const forged = await token({ admin: true, secret: 'another-secret-that-is-long-enough-0123456789' });
    const list: Array<[string, () => Promise<Answer>, (a: Answer) => boolean]> = [
      ['24 nested fragments, anonymous', () => query(fragments(24)), errorsOnly],
      ['100 nested fragments, anonymous', () => query(fragments(100)), errorsOnly],
      [
        'oversized body',
        () => post(JSON.stringify({ query: '{ serviceVersion }', pad: 'x'.repeat(200_000) })),
        (a) => a.status === 413,
      ],
      ['deep query', () => query(nested(4), admin), errorsOnly],
      [
        'many aliases',
        () => query(`{ ${Array.from({ length: 50 }, (_, i) => `a${i}: serviceVersion`).join(' ')} }`, admin),
        errorsOnly,
      ],
      ['many tokens', () => query(`{ ${'serviceVersion '.repeat(2500)} }`, admin), errorsOnly],
      [
        'costly nested pages',
        () =>
          query(
            '{ projects(first: 100) { edges { node { resources(first: 100) { edges { node { id } } } } } } }',
            admin,
          ),
        errorsOnly,
      ],
      [
        'batched queries',
        () => post(JSON.stringify([{ query: '{ serviceVersion }' }, { query: '{ serviceVersion }' }])),
        errorsOnly,
      ],
      [
        'CSRF simple request',
        () => post('{"query":"{ serviceVersion }"}', { 'content-type': 'text/plain' }),
        errorsOnly,
      ],
      [
        'NUL in search',
        () => query('{ resources(filter: { search: "a\\u0000b" }) { totalCount } }', admin),
        errorsOnly,
      ],
      ['NUL in tag', () => query('{ resources(filter: { tag: "a\\u0000b" }) { totalCount } }', admin), errorsOnly],
      ['NUL in kind', () => query('{ resources(filter: { kind: ["a\\u0000b"] }) { totalCount } }', admin), errorsOnly],
      [
        'control chars in search',
        () => query('{ resources(filter: { search: "\\u0001\\u001b[2J" }) { totalCount } }', admin),
        errorsOnly,
      ],
      ['NUL in REST search', () => get('/api/v1/inventory?search=a%00b', admin), errorsOnly],
      ['NUL in REST kind', () => get('/api/v1/inventory?kind=a%00b', admin), errorsOnly],
      [
        'crafted cursor: not a number',
        () => query(`{ resources(after: "${cursor('GPC:N:abc')}") { totalCount } }`, admin),
        errorsOnly,
      ],
      [
        'crafted cursor: huge offset',
        () => query(`{ resources(after: "${cursor('GPC:N:99999999999')}") { totalCount } }`, admin),
        errorsOnly,
      ],
      ['crafted cursor: not base64', () => query('{ syncRuns(after: "%%%") { totalCount } }', admin), errorsOnly],
      [
        'crafted cursor variable',
        () => query('query($c: String) { syncRuns(after: $c) { totalCount } }', admin, { c: cursor('GPC:S:x') }),
        errorsOnly,
      ],
      [
        'DateTime 0000-01-01',
        () => query('{ balanceHistory(since: "0000-01-01T00:00:00Z") { totalCount } }', admin),
        errorsOnly,
      ],
      [
        'DateTime garbage',
        () => query('{ balanceHistory(since: "2026-13-45T99:99:99Z") { totalCount } }', admin),
        errorsOnly,
      ],
      ['forged token', () => query('{ viewer { admin } }', forged), errorsOnly],
      [
        'expired token',
        async () => query('{ viewer { admin } }', await token({ admin: true, expiresIn: -60 })),
        errorsOnly,
      ],
      [
        'token issued in the future',
        async () => query('{ viewer { admin } }', await token({ admin: true, issuedAt: 3600, expiresIn: 7200 })),
        errorsOnly,
      ],
      [
        'token for 100 years',
        async () => query('{ viewer { admin } }', await token({ admin: true, expiresIn: 100 * 365 * 86400 })),
        errorsOnly,
      ],
      [
        'unsigned token (alg none)',
        () => query('{ viewer { admin } }', unsignedToken({ sub: 'x', iss: 'arcadia', roles: ['platform_admin'] })),
        errorsOnly,
      ],
      [
        'malformed Authorization',
        () => post('{"query":"{ serviceVersion }"}', { authorization: 'Token nope' }),
        errorsOnly,
      ],
      [
        'string roles claim',
        async () =>
          query('{ viewer { admin } }', await token({ tenant: 't1', claims: { roles: 'viewer,platform_admin' } })),
        (a) => !a.text.includes('"admin":true'),
      ],
      [
        'singular role claim',
        async () =>
          query('{ viewer { admin } }', await token({ tenant: 't1', claims: { roles: [], role: 'platform_admin' } })),
        (a) => !a.text.includes('"admin":true'),
      ],
      ['mutation without a token', () => query('mutation { triggerSync(task: "balance") { jobIds } }'), errorsOnly],
      ['mutation as a viewer', () => query('mutation { triggerSync(task: "balance") { jobIds } }', viewer), errorsOnly],
      [
        'introspection, anonymous',
        () => query('{ __schema { queryType { name } } }'),
        (a) => !a.text.includes('"__schema"'),
      ],
      [
        'introspection, admin',
        () => query('{ __schema { types { name } } }', admin),
        (a) => !a.text.includes('"__schema"'),
      ],
      ['GraphiQL page', () => get('/graphql'), (a) => !/graphiql/i.test(a.text)],
      ['WebSocket without connection_init', () => socket(), closedBy],
      ['WebSocket as nobody', () => socket({ type: 'connection_init', payload: {} }), closedBy],
      [
        'WebSocket with a forged token',
        () => socket({ type: 'connection_init', payload: { authorization: `Bearer ${forged}` } }),
        closedBy,
      ],
    ];
    const logFrom = server.output().length;
    for (const [name, send, refused] of list) {
      tally('attacks tried');
      // Health is asked while the attack is in flight: a request that hogs the event loop shows as a stall.
      const attack = send();
      const health = fetch(`${base}/api/health/live`, { signal: AbortSignal.timeout(HEALTH_BOUND_MS) }).then(
        (r) => r.status === 200,
        () => false,
      );
      const [answer, healthy] = await Promise.all([attack, health]);
      if (!healthy) tally('/api/health stalls during an attack', name);
      if (answer.status >= 500) tally('5xx answers', `${name}: ${answer.text.slice(0, 300)}`);
      if (!refused(answer)) tally('attacks not refused', `${name}: ${answer.status} ${answer.text.slice(0, 300)}`);
      for (const secret of [TEST_JWT_SECRET, DB_PASSWORD, DO_TOKEN])
        if (answer.text.includes(secret)) tally('secrets leaked (answers and logs)', `${name} answered a secret`);
    }
    // Client mistakes are the client's: no error-level line, no stack, nothing internal in the server's log.
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the failed-authentication summary is periodic
    for (const line of server.output().slice(logFrom).split('\n'))
      if (/"level":50|"level":60|stack|INTERNAL/.test(line))
        tally('stacks or errors logged for client mistakes', line.slice(0, 300));
  }

  // --------------------------------------------------------------------------------------------------------------
  // Data, then kills, on the workers

  const lastId = async (): Promise<number> =>
    (await pool.query<{ id: number | null }>(`SELECT max(id) AS id FROM sync_runs`)).rows[0]!.id ?? 0;
  /** The first run of `task` after `after` that is no longer running, within the bound. */
  const finishedRun = (task: string, after: number, timeoutMs = TASK_BOUND_MS) =>
    poll(async () => (await runsOf(pool, task)).find((r) => r.id > after && r.status !== 'running'), timeoutMs);

  /** Until no job is locked or due (a job queued again for later, behind a run lock, is not due). */
  const queueIdle = () =>
    poll(async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE locked_at IS NOT NULL OR (attempts < max_attempts AND run_at < now())`,
      );
      return rows[0]!.n === 0 ? true : undefined;
    }, MINUTE);

  async function badData(): Promise<void> {
    // A droplet named with a NUL, present from now on: every later droplet sync must still succeed.
    sim.account.createDroplet({ name: 'nul\u0000name', tags: ['t\u0000ag'] });
    const before = await lastId();
    await enqueueTask(pool, 'droplet', 'manual');
    await enqueueTask(pool, 'billing_history', 'manual');
    const droplet = await finishedRun('droplet', before);
    if (droplet?.status !== 'succeeded') tally('syncs failing on bad data', `droplet: ${droplet?.error ?? 'no run'}`);
    const invoices = sim.billing.invoices.map((i) => i.uuid);
    await waitFor('every invoice ingested', async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM cloud_invoices WHERE invoice_uuid = ANY($1) AND ingest_status = 'ingested'`,
        [invoices],
      );
      return rows[0]!.n === invoices.length ? true : undefined;
    });
    await queueIdle(); // the month-to-date preview too
    const uuid = invoices[0]!;
    for (const mode of ['headerOnly', 'nulInHeader'] as const) {
      const lines = await linesDigest(pool, uuid);
      sim.setFaults({ corruptCsv: { path: `/v2/customers/my/invoices/${uuid}/csv`, mode } });
      const from = await lastId();
      await enqueueTask(pool, `invoice:${uuid}`, 'manual');
      const run = await finishedRun('invoice', from);
      sim.setFaults({});
      if (run?.status !== 'failed' || !run.error)
        tally('failed ingests not recorded', `${mode}: ${JSON.stringify(run)}`);
      const after = await linesDigest(pool, uuid);
      if (after.digest !== lines.digest)
        for (let i = 0; i < Math.max(1, lines.count - after.count); i++)
          tally('invoice lines lost or altered', `${mode}: ${lines.count} lines before, ${after.count} after`);
    }
    const { rows } = await pool.query<{ invoice_uuid: string }>(
      `SELECT invoice_uuid FROM cloud_invoices WHERE ingest_status = 'ingesting'`,
    );
    for (const row of rows) tally('invoices stuck ingesting', row.invoice_uuid);
  }

  /** Kills the worker running a droplet sync; the next trigger must succeed, and the old run be closed, in bounds. */
  async function kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    tally('kills (SIGKILL, SIGTERM)');
    sim.setFaults(SLOW_DROPLETS);
    const from = await lastId();
    await enqueueTask(pool, 'droplet', 'manual');
    const running = await waitFor('a running droplet sync', async () =>
      (await runsOf(pool, 'droplet')).find((r) => r.id > from && r.status === 'running'),
    );
    const victim = ownerOf(running, alive());
    signalled.add(victim);
    const killedAt = Date.now();
    victim.child.kill(signal);
    sim.setFaults({});
    await enqueueTask(pool, 'droplet', 'manual');
    const next = await poll(async () => {
      const runs = await runsOf(pool, 'droplet');
      return runs.find((r: RunRow) => r.id > running.id && r.status === 'succeeded');
    }, TASK_BOUND_MS);
    if (!next) tally('tasks blocked after a kill or outage', `droplet after ${signal}`);
    else minutesLost.push([`${signal} mid-sync`, (next.finished_at!.getTime() - killedAt) / MINUTE]);
    const closed = await poll(
      async () => {
        const [old] = (await runsOf(pool, 'droplet')).filter((r) => r.id === running.id);
        return old!.status !== 'running' ? old : undefined;
      },
      Math.max(0, killedAt + TASK_BOUND_MS - Date.now()),
    );
    if (!closed) tally('runs left running', `run ${running.id} after ${signal}`);
    else if (closed.status === 'failed' && !closed.error?.startsWith('abandoned: '))
      tally('syncs failing on bad data', `run ${running.id}: ${closed.error}`);
    await victim.exited;
  }

  async function workersUnderFire(): Promise<void> {
    await badData();
    await kill('SIGKILL');
    await kill('SIGTERM');
  }

  it('attacks the API while bad data and kills hit the workers', async () => {
    await Promise.all([attacks(), workersUnderFire()]);
  });

  it('survives a database outage in the middle of a sync', async () => {
    figures['database outages'] += 1;
    sim.setFaults(SLOW_DROPLETS);
    const from = await lastId();
    await enqueueTask(pool, 'droplet', 'manual');
    const running = await waitFor('a running droplet sync', async () =>
      (await runsOf(pool, 'droplet')).find((r) => r.id > from && r.status === 'running'),
    );
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    proxy.restore();
    sim.setFaults({});
    const closed = await finishedRun('droplet', running.id - 1);
    if (!closed) tally('runs left running', `run ${running.id} after the outage`);
    await waitForHealthy(Number(new URL(base).port));
    await enqueueTask(pool, 'droplet', 'manual');
    const next = await poll(
      async () => (await runsOf(pool, 'droplet')).find((r) => r.id > running.id && r.status === 'succeeded'),
      TASK_BOUND_MS,
    );
    if (!next) tally('tasks blocked after a kill or outage', 'droplet after the outage');
  });

  it('leaves nothing behind, leaks nothing, and every bad figure is 0', async () => {
    // Once the queue is idle, nothing may stay locked or running.
    await queueIdle();
    for (let n = await lockedJobsAndQueues(pool); n > 0; n--) tally('locks left by dead processes', 'a job or queue');
    const { rows } = await pool.query<{ id: number; task: string }>(
      `SELECT id, task FROM sync_runs WHERE status = 'running'`,
    );
    for (const row of rows) tally('runs left running', `${row.task} run ${row.id}`);
    for (const p of [server, ...workers])
      for (const secret of [TEST_JWT_SECRET, DB_PASSWORD, DO_TOKEN])
        if (p.output().includes(secret))
          tally('secrets leaked (answers and logs)', `pid ${p.child.pid} logged a secret`);
    for (const [figure, n] of Object.entries(figures))
      if (!['attacks tried', 'kills (SIGKILL, SIGTERM)', 'database outages'].includes(figure))
        expect(n, `${figure}\n${incidents.join('\n')}`).toBe(0);
    expect(figures['attacks tried']).toBeGreaterThan(30);
    expect(minutesLost).toHaveLength(2);
    for (const [, minutes] of minutesLost) expect(minutes).toBeLessThan(TASK_BOUND_MS / MINUTE);
  });
});
