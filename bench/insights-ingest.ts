/**
 * A month of billing insights ingested against a COPY of the same rows.   Run: npx tsx bench/insights-ingest.ts [droplets] [rounds]
 *
 * - The simulator runs in a CHILD process (DigitalOcean is remote) with 10,000 droplets and its clock at 06:00 on the
 *   1st of November, so a run fetches October whole (about 310,000 points: every invoice item × 31 days) and nothing of
 *   November yet. The inventory is synced first, so every point is matched against 10,000+ candidates.
 * - ingest: `syncBillingInsights` end to end into an empty month: /v2/account, every page over HTTP (200 points a
 *   page), classification, matching, then one transaction (DELETE of the days, COPY, the rollups).
 * - replace: the same run when every stored day differs from the answer (each day's digest made stale): DELETE of
 *   310,000 rows, then the COPY, in one transaction.
 * - rerun: the same run when the stored days are exactly the answer (the daily case for the days before yesterday):
 *   the fetch and the digests, no write.
 * - fetch: the listing alone (HTTP + JSON, 4 pages in flight), to show where the time goes.
 * - floor: COPY of the very same rows (read back and rendered to COPY text before the clock starts) into the same
 *   table (its indexes and foreign keys) in a transaction: what storing these rows costs with nothing else.
 * Rounds are interleaved (ingest, replace, fetch, floor, …); each figure is the median with the spread (min–max).
 * Pass: median ingest ≤ 2 × median floor. A database of its own is created on DATABASE_URL's server (default
 * postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createPool } from '../src/db/client.js';
import { copyFrom, copyValue } from '../src/db/copy.js';
import { createDigitalOceanClient } from '../src/digitalocean/client.js';
import { createTransport } from '../src/digitalocean/transport.js';
import { INVENTORY_TASKS } from '../src/domain/tasks.js';
import { syncBillingInsights } from '../src/jobs/billing/insights.js';
import { createSyncEngine } from '../src/jobs/inventory/engine.js';
import { createBenchDatabase, type BenchDatabase } from './lib/database.js';

const DROPLETS = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const NOW = '2026-11-01T06:00:00Z';
const ACCOUNT = 'bench';

async function startSimulatorProcess(): Promise<{ url: string; stop(): void }> {
  const cli = fileURLToPath(new URL('../tools/simulator/cli.ts', import.meta.url));
  // Thousands of pages a run: the simulator's 5,000-an-hour budget (which the client honours) is lifted.
  const unlimited = JSON.stringify({ rateLimit: { perHour: 1e9, perMinute: 1e9 } });
  const args = [
    ...['--port', '0', '--seed', '7', '--droplets', String(DROPLETS), '--months', '1', '--now', NOW],
    ...['--faults', unlimited, '--quiet'],
  ];
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const figure = (runs: number[]): string => `${sec(median(runs))} (${sec(Math.min(...runs))}–${sec(Math.max(...runs))})`;

const sim = await startSimulatorProcess();
let db: BenchDatabase | undefined;
let pool: ReturnType<typeof createPool> | undefined;
try {
  db = await createBenchDatabase('insights');
  pool = createPool(db.url, { max: 4, applicationName: 'cloud-ops-bench' });
  const clientOptions = {
    token: 'bench-token',
    baseUrl: sim.url,
    maxRequestsPerMinute: Infinity,
    maxRequestsPerHour: Infinity,
    rateLimitReserve: 0,
  };
  const engine = createSyncEngine({ db: pool, accountId: ACCOUNT, transport: createTransport(clientOptions) });
  for (const task of INVENTORY_TASKS) await engine.run(task, { trigger: 'cli' });
  const resources = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM cloud_resources')).rows[0]!.n;
  const api = createDigitalOceanClient(clientOptions);
  const context = { pool, api, accountId: ACCOUNT };
  const today = new Date(NOW);
  const account = await api.getAccount();
  const urn = `do:team:${account.team!.uuid!}`;

  const empty = async (): Promise<void> => {
    await pool!.query('TRUNCATE billing_insight_points, billing_insight_rollups, billing_insight_days');
    await pool!.query('VACUUM ANALYZE billing_insight_points');
  };
  const ingest = async (): Promise<{ ms: number; points: number; matchRate: unknown }> => {
    const t0 = performance.now();
    const outcome = await syncBillingInsights(context, { trigger: 'cli', today });
    const ms = performance.now() - t0;
    if (outcome.status !== 'succeeded') throw new Error(`ingest ${outcome.status}: ${outcome.error}`);
    return { ms, points: outcome.value!.points, matchRate: outcome.details.matchRate };
  };

  // The floor's rows: what the first ingest stored, rendered to COPY text up front.
  await empty();
  const warm = await ingest();
  const columns =
    'account_id, day, occurrence, usage_team_urn, sku, region, description, group_description, amount, kind, ' +
    'resource_name, resource_id, project_id, tenant_id, match_method, unmatched_reason';
  const stored = await pool.query<Array<string | number | null>>({
    text: `SELECT account_id, day::text, occurrence, usage_team_urn, sku, region, description, group_description,
                  amount::text, kind, resource_name, resource_id, project_id, tenant_id, match_method, unmatched_reason
             FROM billing_insight_points ORDER BY id`,
    rowMode: 'array',
  });
  const chunks: Buffer[] = [];
  let chunk = '';
  for (const row of stored.rows) {
    chunk += row.map((v) => copyValue(v === null ? null : String(v))).join('\t') + '\n';
    if (chunk.length > 128 * 1024) {
      chunks.push(Buffer.from(chunk));
      chunk = '';
    }
  }
  if (chunk) chunks.push(Buffer.from(chunk));
  const storedCount = stored.rowCount;
  stored.rows.length = 0; // only the COPY text is kept: 400,000 row arrays would burden every later round's GC
  const floor = async (): Promise<number> => {
    const client = await pool!.connect();
    try {
      const t0 = performance.now();
      await client.query('BEGIN');
      const copied = await copyFrom(
        client,
        `COPY billing_insight_points (${columns}) FROM STDIN`,
        Readable.from(chunks),
      );
      await client.query('COMMIT');
      const ms = performance.now() - t0;
      if (copied !== storedCount) throw new Error(`floor copied ${copied} rows, expected ${storedCount}`);
      return ms;
    } finally {
      client.release();
    }
  };
  const fetchOnly = async (): Promise<number> => {
    const t0 = performance.now();
    const listing = await api.listBillingInsights(urn, '2026-10-01', '2026-10-31', { collect: false, concurrency: 4 });
    if (!listing.complete || listing.count !== storedCount) throw new Error('fetch: incomplete listing');
    return performance.now() - t0;
  };

  const runs = {
    ingest: [] as number[],
    replace: [] as number[],
    rerun: [] as number[],
    fetch: [] as number[],
    floor: [] as number[],
  };
  let peakRss = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await empty();
    runs.ingest.push((await ingest()).ms);
    peakRss = Math.max(peakRss, process.resourceUsage().maxRSS / 1024);
    await pool.query(`UPDATE billing_insight_days SET digest = 'stale'`);
    runs.replace.push((await ingest()).ms);
    runs.rerun.push((await ingest()).ms);
    runs.fetch.push(await fetchOnly());
    await empty();
    runs.floor.push(await floor());
  }
  const ratio = median(runs.ingest) / median(runs.floor);
  const ratios = runs.ingest.map((ms, i) => ms / runs.floor[i]!);
  console.log(
    `billing insights bench: ${warm.points.toLocaleString('en-US')} points (October, 31 days), ${resources.toLocaleString('en-US')} resources as candidates, match rate ${String(warm.matchRate)}, ${ROUNDS} interleaved rounds; median (min–max)`,
  );
  console.log(`  ingest into an empty month:   ${figure(runs.ingest)}`);
  console.log(
    `  replacing every day:          ${figure(runs.replace)} = ${(median(runs.replace) / median(runs.floor)).toFixed(2)} × floor`,
  );
  console.log(
    `  rerun, every day unchanged:   ${figure(runs.rerun)} = ${(median(runs.rerun) / median(runs.floor)).toFixed(2)} × floor`,
  );
  console.log(`  of which fetching (HTTP+JSON): ${figure(runs.fetch)}`);
  console.log(`  floor: COPY of the same rows into billing_insight_points: ${figure(runs.floor)}`);
  console.log(
    `  ingest / floor: ${ratio.toFixed(2)} (per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}); target ≤ 2`,
  );
  console.log(`  peak RSS after the ingests: ${peakRss.toFixed(0)} MB`);
  console.log(ratio <= 2 ? 'PASS: ingest ≤ 2 × floor' : 'FAIL: ingest > 2 × floor');
  process.exitCode = ratio <= 2 ? 0 : 1;
} finally {
  await pool?.end();
  sim.stop();
  await db?.drop();
}
