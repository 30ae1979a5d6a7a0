/**
 * One DigitalOcean request budget per API token, shared by every process on the database: at most `limit` grants
 * in any sliding window (60 s by default), like DigitalOcean's own accounting. The state is one row per token
 * (keyed by a SHA-256 of the token, never the token) holding the grant instants of the current window; one
 * statement takes a grant or says how long to wait. It satisfies the transport's `RequestBudget`
 * (src/digitalocean/transport.ts) structurally, so this shared module imports nothing above it.
 *
 * A database error does not fail the request: the budget is bookkeeping, and the transport's own pacing (its
 * per-process limiter and DigitalOcean's ratelimit-remaining / ratelimit-reset headers, which count the token across
 * processes) still bounds the rate, while failing would turn a short blip into failed syncs. It is logged, at most
 * once per window.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { silentLogger, type Logger } from '../logger.js';

export interface PgRequestBudgetOptions {
  pool: pg.Pool;
  /** The API token; only its hash is stored or logged. */
  token: string;
  /** Grants per window (DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE). */
  limit: number;
  /** DigitalOcean's window. Default 60 s. */
  windowMs?: number;
  /**
   * How much longer than the window a grant is held. A grant is stamped by the database a little before the request
   * reaches DigitalOcean (the event loop, the connection, a busy machine), and DigitalOcean's clock is not the
   * database's; without a margin, a late request of one burst and an early one of the next would share a window.
   * Default 5 s (at most about 8% of the throughput at saturation).
   */
  marginMs?: number;
  logger?: Logger;
}

/**
 * Under the row lock of ON CONFLICT, the window's grants are pruned to the last `windowMs` of the database's clock
 * (one clock for every process); with room, the current instant is appended (granted), else the answer is the time
 * until the oldest grant that must leave has left. The first take of a token inserts its row.
 */
const TAKE_SQL = `
INSERT INTO digitalocean_request_budgets AS b (token_hash, stamps) VALUES ($1, ARRAY[clock_timestamp()])
ON CONFLICT (token_hash) DO UPDATE SET (stamps, granted, wait_ms) = (
  SELECT CASE WHEN w.n < $2 THEN w.kept || w.now ELSE w.kept END,
         w.n < $2,
         CASE WHEN w.n < $2 THEN 0
              ELSE ceil(extract(epoch FROM w.kept[w.n - $2 + 1] + w.win - w.now) * 1000)::int END
  FROM (
    SELECT c.now, c.win,
           coalesce(array_agg(s ORDER BY s) FILTER (WHERE s > c.now - c.win), '{}') AS kept,
           count(s) FILTER (WHERE s > c.now - c.win)::int AS n
    FROM (SELECT clock_timestamp() AS now, make_interval(secs => $3::float8 / 1000) AS win) c
    LEFT JOIN LATERAL unnest(b.stamps) AS s ON true
    GROUP BY c.now, c.win
  ) w
)
RETURNING granted, wait_ms`;

/** The budget's key for a token. */
export function budgetKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function createPgRequestBudget(options: PgRequestBudgetOptions): {
  acquire(signal?: AbortSignal): Promise<void>;
} {
  const { pool, limit } = options;
  const windowMs = (options.windowMs ?? 60_000) + (options.marginMs ?? 5_000);
  if (!(Number.isInteger(limit) && limit > 0)) throw new RangeError(`request budget: invalid limit ${limit}`);
  const key = budgetKey(options.token);
  const logger = options.logger ?? silentLogger;
  let lastWarnAt = -Infinity;

  return {
    async acquire(signal) {
      for (;;) {
        signal?.throwIfAborted();
        let row: { granted: boolean; wait_ms: number } | undefined;
        try {
          const result = await pool.query<{ granted: boolean; wait_ms: number }>(TAKE_SQL, [key, limit, windowMs]);
          row = result.rows[0];
        } catch (error) {
          if (Date.now() - lastWarnAt >= windowMs) {
            lastWarnAt = Date.now();
            logger.warn(
              { err: error instanceof Error ? error.message : String(error) },
              'digitalocean request budget unavailable: pacing this process alone',
            );
          }
          return;
        }
        if (!row || row.granted) return;
        // At least 1 ms, at most one window (a clock step cannot park a sync longer).
        await sleep(Math.min(Math.max(1, row.wait_ms), windowMs), undefined, signal ? { signal } : {});
      }
    },
  };
}
