// The inventory sync at scale: 10,000 droplets and 20,000 snapshots from the simulator into a fresh database, timed
// against a floor measured in the same run.
//
//   npx tsx bench/sync.ts              (BENCH_RUNS=5 for more timed runs; default 3, best run of each side reported)
//
// The database: a new `cloudops_bench_sync_<pid>` on DATABASE_URL's server (default 127.0.0.1:5432), migrated, and
// dropped at the end.
//
// The floor is the same pages fetched (plain fetch + JSON.parse, page numbers only) plus ONE bulk upsert per page
// (`jsonb_to_recordset` → INSERT … ON CONFLICT DO UPDATE) of the very rows the engine writes: each item through the
// kind's own normalizer and fingerprint, every column the engine sets (checked after the runs: the floor's table
// equals the engine's, row for row). What it leaves out: created/updated/unchanged counting, staleness, the run row,
// events, guards, pipelining. It writes what the engine writes: pages whose items were all written already (droplets
// are walked twice, /v2/droplets and /v2/droplets?type=gpus) are fetched but not written, by either side.
//
// Checks (exit status 1 when one fails): every run complete; rows per kind equal the simulator's count; API calls per
// listing exactly ceil(N/200); engine time / floor time ≤ 1.5 (the target), for a first sync and for a re-sync.
import { createPool } from '../src/db/client.js';
import { createBenchDatabase } from './lib/database.js';
import { startSimulator } from '../tools/simulator/index.js';
import { createTransport } from '../src/digitalocean/transport.js';
import { createSyncEngine, type SqlClient, type SyncRunResult } from '../src/jobs/inventory/engine.js';
import type { KindTaskName } from '../src/domain/tasks.js';
import { kindSpec, type KindSpec } from '../src/jobs/inventory/kinds.js';
import { fingerprint } from '../src/jobs/inventory/normalize.js';

const SCALE = { droplets: 10_000, snapshots: 20_000 };
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET = 1.5;
const PER_PAGE = 200;
const TOKEN = 'bench-token-not-secret';
const ACCOUNT = 'bench';
const KINDS = ['droplet', 'snapshot'] as const;
const SIM_KIND = { droplet: 'droplet', snapshot: 'snapshot' } as const;

let failures = 0;
const fail = (message: string): void => {
  failures++;
  console.error(`FAIL ${message}`);
};

let t0 = performance.now();
// The simulated token's hourly quota is raised: every run of the benchmark lists 30,000 items several times, which
// would exhaust DigitalOcean's 5,000/h and (correctly) make the client wait for the quota to refill.
const sim = await startSimulator({ port: 0, seed: 7, scale: SCALE, faults: { rateLimit: { perHour: 1_000_000_000 } } });
console.log(
  `simulator: ${sim.account.count('droplet')} droplets (incl. Kubernetes nodes), ${sim.account.count('snapshot')} snapshots, up in ${(performance.now() - t0).toFixed(0)} ms`,
);
t0 = performance.now();
const db = await createBenchDatabase('sync');
const dbUrl = db.url;
console.log(`database: ${db.name} created and migrated in ${(performance.now() - t0).toFixed(0)} ms`);
const pool = createPool(dbUrl, { max: 4, applicationName: 'bench-sync' });
try {
  await main();
} catch (error) {
  fail(`benchmark aborted: ${error instanceof Error ? error.stack : String(error)}`);
} finally {
  await pool.end();
  await db.drop();
  await sim.close();
}
if (failures > 0) {
  console.error(`\n${failures} check(s) failed`);
  process.exitCode = 1;
} else {
  console.log('\nall checks passed');
}

async function main(): Promise<void> {
  // The account row the floor's rows reference (the engine makes sure of it itself).
  await pool.query(
    `INSERT INTO cloud_accounts (id, created_at, updated_at) VALUES ($1, now(), now()) ON CONFLICT DO NOTHING`,
    [ACCOUNT],
  );

  // Local simulator: client-side pacing (200/min, 4,800/h against the real API) is switched off for the benchmark.
  const transport = createTransport({
    token: TOKEN,
    baseUrl: sim.url,
    maxRequestsPerMinute: Infinity,
    maxRequestsPerHour: Infinity,
    rateLimitReserve: 0,
  });
  console.log('NOTE: client pacing disabled (maxRequestsPerMinute/maxRequestsPerHour = Infinity): local simulator.\n');

  /** Counts statements, as a test would: proves one statement per page. */
  function counting(): SqlClient & { statements: string[] } {
    const statements: string[] = [];
    return {
      statements,
      query: (text, values) => {
        statements.push(text);
        return pool.query(text, values);
      },
    };
  }

  const FLOOR_UPSERT = `
  INSERT INTO cloud_resources (account_id, kind, provider_id, name, region, status, size, tags, attrs, fingerprint,
                               provider_created_at, last_seen_at, updated_at)
  SELECT $1, $2, i.provider_id, i.name, i.region, i.status, i.size, coalesce(i.tags, '{}'), coalesce(i.attrs, '{}'),
         i.fingerprint, i.provider_created_at, now(), now()
  FROM jsonb_to_recordset($3::jsonb) AS i(provider_id text, name text, region text, status text, size text, tags text[],
                                          attrs jsonb, fingerprint text, provider_created_at timestamptz)
  ON CONFLICT (account_id, kind, provider_id) DO UPDATE SET
    name = excluded.name, region = excluded.region, status = excluded.status, size = excluded.size, tags = excluded.tags,
    attrs = excluded.attrs, fingerprint = excluded.fingerprint, provider_created_at = excluded.provider_created_at,
    last_seen_at = excluded.last_seen_at`;

  /** The floor for one kind: every page of every listing of the kind, one raw upsert per page with new items. */
  async function floor(spec: KindSpec): Promise<{ pages: number; items: number }> {
    const written = new Set<string>();
    let pages = 0;
    for (const listing of spec.listings) {
      for (let page = 1; ; page++) {
        const extra = Object.fromEntries(Object.entries(listing.query ?? {}).map(([k, v]) => [k, String(v)]));
        const query = new URLSearchParams({ ...extra, page: String(page), per_page: String(PER_PAGE) });
        const res = await fetch(`${sim.url}${listing.path}?${query}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const body = JSON.parse(await res.text()) as Record<string, unknown> & {
          links?: { pages?: { next?: string } };
        };
        pages++;
        const items = (body[listing.key] ?? []) as Array<Record<string, unknown>>;
        const rows: Array<Record<string, unknown>> = [];
        for (const item of items) {
          const normalized = listing.map!(item);
          if (written.has(normalized.providerId)) continue;
          written.add(normalized.providerId);
          const { kind: _kind, providerId, providerCreatedAt, cleanedValues: _cleaned, ...fields } = normalized;
          rows.push({
            provider_id: providerId,
            ...fields,
            fingerprint: fingerprint(normalized),
            provider_created_at: providerCreatedAt?.toISOString() ?? null,
          });
        }
        if (rows.length > 0) await pool.query(FLOOR_UPSERT, [ACCOUNT, spec.kind, JSON.stringify(rows)]);
        if (!body.links?.pages?.next) break;
      }
    }
    return { pages, items: written.size };
  }

  async function engineRun(
    task: KindTaskName,
    pipeline: boolean,
  ): Promise<{ result: SyncRunResult; statements: string[] }> {
    const db = counting();
    const engine = createSyncEngine({ db, accountId: ACCOUNT, transport, pipeline });
    const result = await engine.run(task, { trigger: 'manual' });
    if (result.status !== 'succeeded') fail(`${task}: run ${result.status}: ${result.error}`);
    return { result, statements: db.statements };
  }

  /** A digest of every column either side writes, over the kind's rows. */
  const digest = async (kind: string): Promise<string> =>
    (
      await pool.query<{ d: string }>(
        `SELECT md5(string_agg(concat_ws('|', provider_id, name, region, status, size, tags::text, attrs::text,
                fingerprint, provider_created_at::text), ',' ORDER BY provider_id)) AS d
         FROM cloud_resources WHERE kind = $1`,
        [kind],
      )
    ).rows[0]!.d;

  const reset = async (): Promise<void> => {
    await pool.query('TRUNCATE cloud_resources, sync_runs CASCADE');
  };
  const time = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
    const start = performance.now();
    const value = await fn();
    return [performance.now() - start, value];
  };

  interface Best {
    floorFirst: number;
    engineFirst: number;
    sequentialFirst: number;
    floorAgain: number;
    engineAgain: number;
  }
  const results: Record<string, { best: Best; first: SyncRunResult; again: SyncRunResult; statements: string[] }> = {};

  for (const task of KINDS) {
    const spec = kindSpec(task);
    // Warm-up of both sides (simulator page cache, connections, the table's files).
    await reset();
    await floor(spec);
    await reset();
    await engineRun(task, true);

    const best: Best = {
      floorFirst: Infinity,
      engineFirst: Infinity,
      sequentialFirst: Infinity,
      floorAgain: Infinity,
      engineAgain: Infinity,
    };
    let first: SyncRunResult | undefined;
    let again: SyncRunResult | undefined;
    let statements: string[] = [];
    // Alternate the sides so drift hits both alike.
    for (let r = 0; r < RUNS; r++) {
      await reset();
      const [floorFirst] = await time(() => floor(spec));
      const [floorAgain] = await time(() => floor(spec));
      await reset();
      const [engineFirst, e1] = await time(() => engineRun(task, true));
      const [engineAgain, e2] = await time(() => engineRun(task, true));
      await reset();
      const [sequentialFirst] = await time(() => engineRun(task, false));
      best.floorFirst = Math.min(best.floorFirst, floorFirst);
      best.floorAgain = Math.min(best.floorAgain, floorAgain);
      best.engineFirst = Math.min(best.engineFirst, engineFirst);
      best.engineAgain = Math.min(best.engineAgain, engineAgain);
      best.sequentialFirst = Math.min(best.sequentialFirst, sequentialFirst);
      first = e1.result;
      again = e2.result;
      statements = e1.statements;
    }
    results[task] = { best, first: first as SyncRunResult, again: again as SyncRunResult, statements };

    // Correctness of the last engine run.
    await reset();
    await engineRun(task, true);
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cloud_resources WHERE kind = $1`, [
      task,
    ]);
    const expected = sim.account.count(SIM_KIND[task]);
    if (rows[0]?.n !== expected) fail(`${task}: ${rows[0]?.n} rows, simulator holds ${expected}`);
    // The floor writes the engine's rows: the same columns, byte for byte.
    const engineRows = await digest(task);
    await reset();
    await floor(spec);
    if ((await digest(task)) !== engineRows) fail(`${task}: the floor's rows differ from the engine's`);
  }

  // ---- report ------------------------------------------------------------------------------------------------------
  const pad = (s: string | number, w: number): string => String(s).padStart(w);

  console.log('API calls per listing (must be exactly ceil(N/200)):');
  for (const task of KINDS) {
    const listings = results[task]!.first.details.listings as Array<{
      path: string;
      query?: Record<string, string>;
      apiCalls: number;
      count: number;
      total?: number;
      complete: boolean;
    }>;
    for (const l of listings) {
      const n = l.total ?? l.count;
      const expected = Math.max(1, Math.ceil(n / PER_PAGE));
      const ok = l.apiCalls === expected && l.complete;
      if (!ok) fail(`${task} ${l.path}: ${l.apiCalls} calls for ${n} items, expected ${expected}`);
      const name = `${task}  ${l.path}${l.query ? `?${new URLSearchParams(l.query)}` : ''}`;
      console.log(
        `  ${name.padEnd(44)} N=${pad(n, 6)}  calls=${pad(l.apiCalls, 4)}  ceil(N/200)=${pad(expected, 4)}  ${ok ? 'ok' : 'FAIL'}`,
      );
    }
    const main = listings[0]!;
    const simN = sim.account.count(SIM_KIND[task]);
    if ((main.total ?? main.count) !== simN)
      fail(`${task}: listing said ${main.total ?? main.count}, simulator holds ${simN}`);
  }
  const gpu = (
    results.droplet!.first.details.listings as Array<{ query?: Record<string, string>; count: number }>
  ).find((l) => l.query?.type === 'gpus');
  if (gpu && gpu.count > 0) {
    console.log(
      `  note: the simulator ignores type=gpus and serves every droplet again (${gpu.count}); DigitalOcean serves only GPU droplets there.`,
    );
    console.log('        Both sides fetch those pages; neither writes them (all already written).');
  }

  console.log('\nSQL statements per run (engine, first sync):');
  for (const task of KINDS) {
    const { statements, first } = results[task]!;
    const upserts = statements.filter((s) => /INSERT INTO cloud_resources/.test(s)).length;
    const notifies = statements.filter((s) => /pg_notify/.test(s)).length;
    const other = statements.length - upserts - notifies;
    const mainPages = (first.details.listings as Array<{ pages: number }>)[0]!.pages;
    console.log(
      `  ${task.padEnd(9)} ${pad(statements.length, 4)} statements for ${pad(first.pages, 3)} pages: ${upserts} bulk upserts (1 per page with new items; ` +
        `${mainPages} such pages), ${notifies} progress NOTIFYs (1 per page + started + finished), ${other} per run (account, open run, mark stale, close run)` +
        ` → ${(upserts / mainPages).toFixed(2)} write statements per written page`,
    );
    if (upserts !== mainPages) fail(`${task}: ${upserts} upserts for ${mainPages} written pages`);
  }

  console.log(`\nwall time (best of ${RUNS}; ratio = engine / floor, target ≤ ${TARGET}):`);
  console.log(
    `  ${'kind'.padEnd(9)} ${'scenario'.padEnd(26)}${pad('rows', 7)}${pad('floor ms', 10)}${pad('engine ms', 11)}${pad('ratio', 7)}${pad('no-pipeline ms', 16)}${pad('ratio', 7)}`,
  );
  const totals = { floorFirst: 0, engineFirst: 0, sequentialFirst: 0, floorAgain: 0, engineAgain: 0 };
  for (const task of KINDS) {
    const { best, first, again } = results[task]!;
    for (const k of Object.keys(totals) as Array<keyof Best>) totals[k] += best[k];
    console.log(
      `  ${task.padEnd(9)} ${'first sync (all created)'.padEnd(26)}${pad(first.listed, 7)}${pad(best.floorFirst.toFixed(0), 10)}${pad(best.engineFirst.toFixed(0), 11)}` +
        `${pad((best.engineFirst / best.floorFirst).toFixed(2), 7)}${pad(best.sequentialFirst.toFixed(0), 16)}${pad((best.sequentialFirst / best.floorFirst).toFixed(2), 7)}`,
    );
    console.log(
      `  ${task.padEnd(9)} ${'re-sync (all unchanged)'.padEnd(26)}${pad(again.listed, 7)}${pad(best.floorAgain.toFixed(0), 10)}${pad(best.engineAgain.toFixed(0), 11)}` +
        `${pad((best.engineAgain / best.floorAgain).toFixed(2), 7)}`,
    );
    if (first.created !== first.listed || again.unchanged !== again.listed)
      fail(`${task}: counts first=${JSON.stringify(first)} again=${JSON.stringify(again)}`);
  }
  const firstRatio = totals.engineFirst / totals.floorFirst;
  const againRatio = totals.engineAgain / totals.floorAgain;
  const seqRatio = totals.sequentialFirst / totals.floorFirst;
  console.log(
    `  ${'TOTAL'.padEnd(9)} ${'first sync'.padEnd(26)}${pad('', 7)}${pad(totals.floorFirst.toFixed(0), 10)}${pad(totals.engineFirst.toFixed(0), 11)}` +
      `${pad(firstRatio.toFixed(2), 7)}${pad(totals.sequentialFirst.toFixed(0), 16)}${pad(seqRatio.toFixed(2), 7)}`,
  );
  console.log(
    `  ${'TOTAL'.padEnd(9)} ${'re-sync'.padEnd(26)}${pad('', 7)}${pad(totals.floorAgain.toFixed(0), 10)}${pad(totals.engineAgain.toFixed(0), 11)}${pad(againRatio.toFixed(2), 7)}`,
  );
  console.log(
    '\n  engine = the real sync (normalize, fingerprint, counting upsert, events, run row, stale marking), pipelined: it fetches page N+1\n' +
      '  while page N is written; "no-pipeline" = the same engine writing then fetching, like the floor.',
  );
  for (const [name, ratio] of [
    ['first sync', firstRatio],
    ['re-sync', againRatio],
    ['first sync, no pipeline', seqRatio],
  ] as const) {
    if (ratio > TARGET) fail(`${name}: ratio ${ratio.toFixed(2)} over the ${TARGET} target`);
  }
}
