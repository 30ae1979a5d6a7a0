// One DigitalOcean budget per token across processes: three workers and `npm run sync` against one simulator with a
// low DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE never exceed it in any sliding 60 s window, counted from the simulator's
// request log (arrival times at the API), not by timing the client. Their first syncs want far more requests than
// the budget, so the run is stopped once the log spans more than a minute: a window boundary has been crossed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db/client.js';
import { budgetKey, createPgRequestBudget } from '../src/db/rate-budget.js';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { spawnEntry, type ServiceProcess } from './helpers/process.js';

const LIMIT = 20;
const WINDOW_MS = 60_000;
const TOKEN = 'dop_v1_budget_test_token';

/** The most requests whose arrival times fall within any window of `windowMs` (each window starts at a request). */
function maxInAnyWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && (sorted[end] as number) < (sorted[start] as number) + windowMs) end++;
    max = Math.max(max, end - start);
  }
  return max;
}

describe('maxInAnyWindow', () => {
  it('counts the densest window', () => {
    expect(maxInAnyWindow([], 10)).toBe(0);
    expect(maxInAnyWindow([0, 5, 9, 10, 19, 20], 10)).toBe(3);
    expect(maxInAnyWindow([0, 10, 20], 10)).toBe(1);
  });
});

describe('the request budget shared by 3 workers and the CLI', () => {
  let db: TestDatabase;
  let sim: Simulator;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Listings of several pages (200 per page), so that the first syncs want several minutes of this budget.
    sim = await startSimulator({ token: TOKEN, scale: { droplets: 1_200, volumes: 800, snapshots: 1_200 } });
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await sim?.close();
    await db?.drop();
  });

  it(`never lets them exceed ${LIMIT} requests in any 60 s window`, { timeout: 300_000 }, async () => {
    const env = {
      DATABASE_URL: db.url,
      DIGITALOCEAN_API_URL: sim.url,
      DIGITALOCEAN_TOKEN: TOKEN,
      DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: String(LIMIT),
      LOG_LEVEL: 'warn',
    };
    for (let i = 0; i < 3; i++) processes.push(spawnEntry('src/worker.ts', env));
    processes.push(spawnEntry('src/cli/sync.ts', env));

    // Until the log spans a window and a bit, counted from the first request at the API (four processes starting
    // on two busy cores can take a while), or 4 minutes pass (they never got going: the assertions say so).
    const started = Date.now();
    for (;;) {
      const first = sim.requests.entries[0]?.at;
      if (first !== undefined && Date.now() - first > WINDOW_MS + 5_000) break;
      if (Date.now() - started > 240_000) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));

    const times = sim.requests.entries.map((e) => e.at);
    if (times.length <= LIMIT) for (const p of processes) console.log(p.output().slice(-3000));
    const max = maxInAnyWindow(times, WINDOW_MS);
    const span = Math.max(...times) - Math.min(...times);
    const first = Math.min(...times);
    console.log(`rate budget: ${times.length} requests over ${span} ms; at most ${max} in any 60 s (limit ${LIMIT})`);
    console.log(`arrivals (ms after the first): ${times.map((t) => t - first).join(' ')}`);
    expect(max).toBeLessThanOrEqual(LIMIT);
    // The budget was the bottleneck: more than one window's worth was sent, over more than one window.
    expect(times.length).toBeGreaterThan(LIMIT);
    expect(span).toBeGreaterThan(WINDOW_MS);
    expect(sim.requests.count({ status: 429 })).toBe(0);
  });
});

describe('the budget in PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('stores a hash of the token, never the token', async () => {
    const pool = createPool(db.url);
    try {
      await createPgRequestBudget({ pool, token: TOKEN, limit: 5 }).acquire();
      const { rows } = await pool.query<{ token_hash: string; stamps: Date[] }>(
        'SELECT token_hash, stamps FROM digitalocean_request_budgets',
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]?.token_hash).toBe(budgetKey(TOKEN));
      expect(rows[0]?.token_hash).not.toContain(TOKEN);
      expect(rows[0]?.stamps).toHaveLength(1);
    } finally {
      await pool.end();
    }
  });

  it('grants at most the limit at once across pools, and an abort ends the wait', async () => {
    const pools = [createPool(db.url), createPool(db.url), createPool(db.url)];
    try {
      const budgets = pools.map((pool) => createPgRequestBudget({ pool, token: 'another', limit: 4 }));
      const controller = new AbortController();
      let granted = 0;
      const takes = budgets.flatMap((b) =>
        [1, 2, 3].map(() => b.acquire(controller.signal).then(() => void granted++)),
      );
      // 9 takers, 4 slots in a 60 s window: the first 4 resolve, the rest wait until aborted.
      while (granted < 4) await new Promise((resolve) => setTimeout(resolve, 20));
      const row = await pools[0]!.query<{ n: number }>(
        'SELECT cardinality(stamps) AS n FROM digitalocean_request_budgets WHERE token_hash = $1',
        [budgetKey('another')],
      );
      expect(row.rows[0]?.n).toBe(4);
      controller.abort();
      const outcomes = await Promise.allSettled(takes);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(4);
      expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(5);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('falls back to local pacing when the database fails', async () => {
    const pool = createPool('postgresql://postgres@127.0.0.1:1/none');
    const warnings: string[] = [];
    const logger = { warn: (_o: object, msg: string) => void warnings.push(msg) } as never;
    try {
      await createPgRequestBudget({ pool, token: TOKEN, limit: 1, logger }).acquire();
      expect(warnings).toHaveLength(1);
    } finally {
      await pool.end();
    }
  });
});
