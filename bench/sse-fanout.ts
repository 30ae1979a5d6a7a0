// Live progress fan-out: 1,000 SSE subscribers of one server process receive a burst of progress events
// published with NOTIFY from another process (this one), through the server's single LISTEN connection.
// Prints the NOTIFY→client latency (p50, p99, max) over every delivery; the target is p99 under 250 ms.
// A subscriber that is behind gets the latest progress of a run instead of a backlog (src/schema/event-hub.ts),
// so a burst reaches each subscriber as its first event and then its last: the time until every subscriber
// holds the burst's last event is printed too.
//
//   npx tsx bench/sse-fanout.ts        (BENCH_SUBSCRIBERS=1000, BENCH_EVENTS=20 per burst, BENCH_BURSTS=3)
//
// The server is `src/server.ts` as users run it (RUN_WORKER=false), in a child process (BENCH_PROFILE=1 writes
// its CPU profile to /tmp/bench-profile). The clock: send and
// receive times are both taken here (performance.now()), so no clock is shared across processes. The database:
// a new `cloudops_bench_sse_<pid>` on DATABASE_URL's server (default 127.0.0.1:5432), dropped at the end.
//
// Checks (exit status 1 when one fails): every subscriber receives the first and the last event of every burst,
// in order; p99 < 250 ms.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import { signToken } from '../src/auth.js';
import { loadConfig } from '../src/config.js';
import { createBenchDatabase } from './lib/database.js';
import { EVENTS_CHANNEL, publishEvent } from '../src/events.js';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20);
const BURSTS = Number(process.env.BENCH_BURSTS ?? 3);
const TARGET_P99_MS = 250;
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const SUBSCRIPTION = 'subscription { syncProgress(task: "droplet") { type task done total at } }';

let failures = 0;
const fail = (message: string): void => {
  failures += 1;
  console.error(`FAIL ${message}`);
};

const db = await createBenchDatabase('sse');
const dbUrl = db.url;
const port = await freePort();
const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bench-profile'] : [];
const server = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/server.ts'], {
  env: {
    ...process.env,
    DATABASE_URL: dbUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    RUN_WORKER: 'false',
    JWT_SECRET: SECRET,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const publisher = new pg.Client({ connectionString: dbUrl });

try {
  await waitForHealthy(port);
  await publisher.connect();
  const token = await signToken(
    loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET }).jwt,
    new TextEncoder().encode(SECRET),
    { subject: 'bench', admin: true },
  );

  // Every delivery: which event (its `done`) reached which subscriber when.
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const received: number[][] = Array.from({ length: SUBSCRIBERS }, () => []);
  let deliveries = 0;
  let wake: (() => void) | undefined;

  const t0 = performance.now();
  const clients = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, (_, index) =>
      subscribe(port, token, (done) => {
        const sent = sentAt.get(done);
        if (sent !== undefined) latencies.push(performance.now() - sent);
        received[index]!.push(done);
        deliveries += 1;
        wake?.();
      }),
    ),
  );
  console.log(`${SUBSCRIBERS} SSE subscribers connected in ${(performance.now() - t0).toFixed(0)} ms`);

  const waitForDeliveries = async (count: number, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (deliveries < count) {
      if (Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return true;
  };

  // A barrier: one event every subscriber must see, so all of them are subscribed before timing starts.
  let expected = 0;
  for (let attempt = 0; ; attempt += 1) {
    await publishEvent(publisher, { type: 'progress', task: 'droplet', done: -1 - attempt, total: null });
    if (await waitForDeliveries(expected + SUBSCRIBERS, 2000)) break;
    if (attempt >= 20)
      throw new Error(`only ${deliveries - expected} of ${SUBSCRIBERS} subscribers answered the barrier`);
    expected = deliveries;
  }
  for (const list of received) list.length = 0;
  latencies.length = 0;
  deliveries = 0;

  const last = (index: number): number => received[index]![received[index]!.length - 1] ?? -1;
  const waitForAll = async (done: number, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (received.some((_, index) => last(index) < done)) {
      if (Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return true;
  };
  const completions: number[] = [];
  let next = 0;
  for (let burst = 0; burst < BURSTS; burst += 1) {
    const first = next;
    const start = deliveries;
    const cpuServer = serverCpuMs(server.pid!);
    const cpuSelf = process.cpuUsage();
    const wall = performance.now();
    // The burst: EVENTS notifications in one statement (delivered in order, at its commit), the way
    // publishEvent would send them one by one.
    const payloads: string[] = [];
    const now = performance.now();
    for (let i = 0; i < EVENTS; i += 1) {
      const done = next++;
      sentAt.set(done, now);
      payloads.push(
        JSON.stringify({
          type: 'progress',
          task: 'droplet',
          done,
          total: EVENTS * BURSTS,
          at: new Date().toISOString(),
        }),
      );
    }
    await publisher.query(
      'SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS t(payload, n) ORDER BY n',
      [EVENTS_CHANNEL, payloads],
    );
    if (!(await waitForAll(next - 1, 30_000))) fail(`burst ${burst + 1}: not every subscriber received its last event`);
    const complete = performance.now() - wall;
    completions.push(complete);
    const self = process.cpuUsage(cpuSelf);
    console.log(
      `burst ${burst + 1}: every subscriber holds the last event after ${complete.toFixed(0)} ms (${deliveries - start} deliveries for ${SUBSCRIBERS * EVENTS} events); CPU: server ${(serverCpuMs(server.pid!) - cpuServer).toFixed(0)} ms, subscribers (this process) ${((self.user + self.system) / 1000).toFixed(0)} ms`,
    );
    if (received.some((list) => !list.includes(first)))
      fail(`burst ${burst + 1}: some subscriber missed the first event`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const inOrder = received.every((list) => list.every((done, i) => i === 0 || done > list[i - 1]!));
  if (!inOrder) fail('some subscriber received events out of order');
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  console.log(
    `${latencies.length} deliveries (${SUBSCRIBERS} subscribers, ${BURSTS} bursts of ${EVENTS} events): NOTIFY→client latency p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${latencies[latencies.length - 1]?.toFixed(1)} ms (target p99 < ${TARGET_P99_MS} ms); last event of a burst at every subscriber after ${Math.max(...completions).toFixed(0)} ms at worst`,
  );
  if (!(at(0.99) < TARGET_P99_MS)) fail(`p99 ${at(0.99).toFixed(1)} ms is not under ${TARGET_P99_MS} ms`);
  for (const client of clients) client.destroy();
} finally {
  await publisher.end().catch(() => undefined);
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  await db.drop();
}
console.log(failures === 0 ? 'sse-fanout: all checks passed' : `sse-fanout: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);

/** One SSE subscription on its own connection; calls onEvent with each event's `done`. */
function subscribe(port: number, token: string, onEvent: (done: number) => void): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/graphql',
        agent: false,
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`subscription answered ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').find((line) => line.startsWith('data:'));
            if (!data || !block.startsWith('event: next')) continue;
            const payload = JSON.parse(data.slice(5)) as { data?: { syncProgress: { done: number } } };
            if (payload.data) onEvent(payload.data.syncProgress.done);
          }
        });
        resolve(req);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ query: SUBSCRIPTION }));
  });
}

/** CPU time (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function serverCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

async function waitForHealthy(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/health`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('server did not become healthy');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
