/**
 * Ingest of a 100,000-line invoice against its floor, and four invoices ingested at once, after a 30,000-resource
 * sync.   Run: npx tsx bench/invoice-ingest.ts [lines]
 *
 * - The simulator runs in a CHILD process (as DigitalOcean is remote) with 10,000 droplets and 20,000 snapshots and an
 *   extra 100,000-line invoice; the inventory is synced first (the inventory engine), so lines are really matched
 *   against 30,000 candidates, as in a real account of that size.
 * - Ingest: `ingestInvoice` end to end: the CSV streamed over HTTP, parsed, classified, matched and COPYed in one
 *   transaction (the JSON items of so large an invoice exceed the budget: one request tells, then name matching).
 *   Measured twice: into an empty invoice, then replacing its 100,000 lines (DELETE + COPY).
 * - Floor: COPY of the very same rows (read back from cloud_cost_lines and rendered to COPY text BEFORE the clock
 *   starts) into a scratch table with the same columns, defaults and indexes (`LIKE cloud_cost_lines INCLUDING
 *   ALL`), in a transaction: what storing these rows costs with no download, parsing or matching at all.
 * - Concurrent: the four newest monthly invoices (one line per resource and month, so ~30,000 lines each) ingested
 *   at once, as a worker with WORKER_CONCURRENCY=4 would after billing history found them.
 * - Peak RSS: sampled every 50 ms while the ingests run, and only then (the sync before them is not counted; what it
 *   leaves on the heap is). The floor, which holds its rows in memory, comes after.
 * Pass/fail: ingest wall time ≤ 2 × floor, peak RSS < 200 MB during the single ingests, < 400 MB during the four
 * concurrent ones. A database of its own is created on DATABASE_URL's server (default
 * postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end. BENCH_TRACE=1 prints memory every 250 ms
 * during the ingests.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPool } from '../src/db/client.js';
import { copyFrom, copyValue } from '../src/db/copy.js';
import { createBenchDatabase, type BenchDatabase } from './lib/database.js';
import { createDigitalOceanClient } from '../src/digitalocean/client.js';
import { createTransport } from '../src/digitalocean/transport.js';
import { syncBillingHistory } from '../src/jobs/billing/history.js';
import { ingestInvoice, type IngestOutcome } from '../src/jobs/billing/ingest.js';
import { INVENTORY_TASKS as SYNC_TASK_NAMES } from '../src/domain/tasks.js';
import { createSyncEngine } from '../src/jobs/inventory/engine.js';

const LINES = Number(process.argv[2] ?? 100_000);
const ACCOUNT = 'bench';
const TOKEN = 'bench-token';
const MB = 1024 * 1024;
const DROPLETS = 10_000;
const SNAPSHOTS = 20_000;
const CONCURRENT = 4;

/** The resident set's maximum while `work` runs, sampled every 50 ms (and at both ends). */
async function peakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage.rss();
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakMb: peak / MB };
  } finally {
    clearInterval(sample);
  }
}

async function startSimulatorProcess(): Promise<{ url: string; stop(): void }> {
  const cli = fileURLToPath(new URL('../tools/simulator/cli.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cli,
      '--port',
      '0',
      '--seed',
      '7',
      '--droplets',
      String(DROPLETS),
      '--snapshots',
      String(SNAPSHOTS),
      '--large-invoice',
      String(LINES),
      '--quiet',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`simulator exited (${code}): ${out}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

const sec = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;

const sim = await startSimulatorProcess();
let openPool: ReturnType<typeof createPool> | undefined;
let db: BenchDatabase | undefined;
try {
  db = await createBenchDatabase('ingest');
  const pool = createPool(db.url, { max: 2 * CONCURRENT, applicationName: 'cloud-ops-bench' });
  openPool = pool;
  const clientOptions = {
    token: TOKEN,
    baseUrl: sim.url,
    maxRequestsPerMinute: Infinity,
    maxRequestsPerHour: Infinity,
    rateLimitReserve: 0,
  };
  const engine = createSyncEngine({ db: pool, accountId: ACCOUNT, transport: createTransport(clientOptions) });
  for (const task of SYNC_TASK_NAMES) await engine.run(task, { trigger: 'cli' });
  const resources = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM cloud_resources')).rows[0]!.n;

  const api = createDigitalOceanClient(clientOptions);
  const context = { pool, api, accountId: ACCOUNT };
  await syncBillingHistory(context, { trigger: 'cli', enqueueInvoice: () => Promise.resolve() });
  const big = (
    await pool.query<{ invoice_uuid: string; id: number }>(
      'SELECT invoice_uuid, id FROM cloud_invoices ORDER BY period LIMIT 1',
    )
  ).rows[0]!;

  const timed = async (): Promise<{ ms: number; outcome: IngestOutcome }> => {
    const t0 = performance.now();
    const outcome = await ingestInvoice(context, big.invoice_uuid, { trigger: 'cli' });
    const ms = performance.now() - t0;
    if (outcome.status !== 'ingested') throw new Error(`ingest ${outcome.status}: ${JSON.stringify(outcome)}`);
    return { ms, outcome };
  };
  const sampler = process.env.BENCH_TRACE
    ? setInterval(() => {
        const m = process.memoryUsage();
        console.log(
          `mem rss ${(m.rss / MB).toFixed(0)} heap ${(m.heapUsed / MB).toFixed(0)}/${(m.heapTotal / MB).toFixed(0)} ext ${(m.external / MB).toFixed(0)} ab ${(m.arrayBuffers / MB).toFixed(0)}`,
        );
      }, 250)
    : undefined;
  const single = await peakRss(async () => ({ first: await timed(), replace: await timed() }));
  const { first, replace } = single.value;
  const peakRssMb = single.peakMb;

  // Four monthly invoices at once (the large one is the oldest; these are the newest closed months).
  const monthly = (
    await pool.query<{ invoice_uuid: string }>(
      `SELECT invoice_uuid FROM cloud_invoices WHERE NOT provisional AND id <> $1 ORDER BY period DESC LIMIT $2`,
      [big.id, CONCURRENT],
    )
  ).rows.map((r) => r.invoice_uuid);
  const t1 = performance.now();
  const concurrent = await peakRss(() =>
    Promise.all(monthly.map((uuid) => ingestInvoice(context, uuid, { trigger: 'cli' }))),
  );
  const concurrentMs = performance.now() - t1;
  clearInterval(sampler);
  const concurrentLines = concurrent.value.reduce((n, o) => n + (o.status === 'ingested' ? o.lineCount : 0), 0);
  const concurrentFailed = concurrent.value.filter((o) => o.status !== 'ingested').length;

  // The floor: the same rows, rendered to COPY text up front, COPYed into a scratch table.
  const columns =
    'invoice_id, line_no, source, period, product, group_description, description, kind, resource_name, resource_uuid, ' +
    'resource_provider_id, hours, start_at, end_at, amount, project_name, category, resource_id, match_method, unmatched_reason';
  const rows = await pool.query<Array<string | number | Date | null>>({
    text: `SELECT ${columns} FROM cloud_cost_lines WHERE invoice_id = $1 ORDER BY line_no`,
    values: [big.id],
    rowMode: 'array',
  });
  const chunks: string[] = [];
  let chunk = '';
  for (const row of rows.rows) {
    chunk +=
      row.map((v) => copyValue(v === null ? null : v instanceof Date ? v.toISOString() : String(v))).join('\t') + '\n';
    if (chunk.length > 128 * 1024) {
      chunks.push(chunk);
      chunk = '';
    }
  }
  if (chunk) chunks.push(chunk);
  // eslint-disable-next-line @typescript-eslint/require-await -- copyFrom takes an async iterable; the prebuilt chunks need no awaiting
  async function* source(): AsyncGenerator<string> {
    yield* chunks;
  }
  /** Best of two COPYs of the prebuilt rows into a fresh scratch table, inside a transaction. */
  const floorOf = async (withForeignKeys: boolean): Promise<number[]> => {
    const runs: number[] = [];
    const client = await pool.connect();
    try {
      for (let i = 0; i < 2; i++) {
        await client.query('DROP TABLE IF EXISTS bench_floor');
        await client.query('CREATE TABLE bench_floor (LIKE cloud_cost_lines INCLUDING ALL)');
        if (withForeignKeys) {
          await client.query(
            'ALTER TABLE bench_floor ADD FOREIGN KEY (invoice_id) REFERENCES cloud_invoices(id) ON DELETE CASCADE, ' +
              'ADD FOREIGN KEY (resource_id) REFERENCES cloud_resources(id) ON DELETE SET NULL',
          );
        }
        const t0 = performance.now();
        await client.query('BEGIN');
        const copied = await copyFrom(client, `COPY bench_floor (${columns}) FROM STDIN`, source());
        await client.query('COMMIT');
        runs.push(performance.now() - t0);
        if (copied !== rows.rowCount) throw new Error(`floor copied ${copied} rows, expected ${rows.rowCount}`);
      }
      await client.query('DROP TABLE bench_floor');
    } finally {
      client.release();
    }
    return runs;
  };
  const floorRuns = await floorOf(true);
  const bareRuns = await floorOf(false);
  const floor = Math.min(...floorRuns);
  const bare = Math.min(...bareRuns);
  const o = first.outcome as Extract<IngestOutcome, { status: 'ingested' }>;
  const ratio = first.ms / floor;

  console.log(
    `invoice ingest bench: ${o.lineCount.toLocaleString('en-US')} lines (${o.lineSource}), ${resources} resources as candidates, match rate ${o.matchRate}`,
  );
  console.log(`  ingest into an empty invoice:        ${sec(first.ms)} = ${ratio.toFixed(2)} × floor`);
  console.log(
    `  ingest replacing its ${o.lineCount.toLocaleString('en-US')} lines:   ${sec(replace.ms)} = ${(replace.ms / floor).toFixed(2)} × floor`,
  );
  console.log(`  floor: COPY of the same rows into a scratch table shaped like cloud_cost_lines`);
  console.log(
    `         (columns, defaults, indexes and its two foreign keys): ${sec(floor)} (runs ${floorRuns.map(sec).join(', ')})`,
  );
  console.log(
    `  the same COPY without the foreign keys: ${sec(bare)} (runs ${bareRuns.map(sec).join(', ')}); ingest = ${(first.ms / bare).toFixed(2)} × that`,
  );
  console.log(
    `  peak RSS during the two ingests (sampled during them only): ${peakRssMb.toFixed(0)} MB (limit 200 MB)`,
  );
  console.log(
    `  ${monthly.length} invoices ingested at once: ${concurrentLines.toLocaleString('en-US')} lines in ${sec(concurrentMs)}, ` +
      `${concurrentFailed} not ingested; peak RSS during them ${concurrent.peakMb.toFixed(0)} MB (limit 400 MB)`,
  );
  const ok =
    ratio <= 2 && peakRssMb < 200 && concurrent.peakMb < 400 && concurrentFailed === 0 && monthly.length === CONCURRENT;
  console.log(
    ok
      ? 'PASS: ingest ≤ 2 × floor, peak RSS < 200 MB (single) and < 400 MB (4 at once)'
      : 'FAIL: ingest > 2 × floor, an ingest failed, or peak RSS over its limit',
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await openPool?.end();
  sim.stop();
  await db?.drop();
}
