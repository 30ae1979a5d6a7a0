/**
 * Client-side pacing for DigitalOcean's per-token limits (5,000 requests per sliding hour, 250 per minute burst).
 *
 * Three mechanisms, all driven by an injectable clock so tests count requests per window in virtual time:
 * - `SlidingWindowLimiter`: proactive, never more than N requests in any window (per minute and per hour). Sliding
 *   windows over timestamps, like DO's own accounting, so a burst at :59 and another at :01 cannot add up to 2N.
 * - `ServerRateGate`: reactive, reads `ratelimit-remaining` / `ratelimit-reset` from every response; when the
 *   remaining quota drops to the reserve (another process may share the token), the next request waits until the
 *   reset instant (DO's reset = when the oldest request in the window expires, i.e. when one slot frees up).
 * - `retryDelayFor429` / `backoffDelay`: how long to wait before retrying a 429 (Retry-After, else ratelimit-reset)
 *   or a 5xx/timeout/network failure (bounded exponential backoff with jitter).
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RateWindow {
  /** Maximum requests in any window of `windowMs`. `Infinity` disables the window. */
  limit: number;
  windowMs: number;
}

/**
 * At most `limit` grants in any sliding window, for every configured window. Grants are serialized (FIFO), so
 * concurrent callers share one budget.
 */
export class SlidingWindowLimiter {
  readonly #windows: { limit: number; windowMs: number; stamps: number[] }[];
  readonly #clock: Clock;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(windows: RateWindow[], clock: Clock) {
    for (const w of windows) {
      if (!(w.limit > 0) || !(w.windowMs > 0)) throw new RangeError(`invalid rate window ${w.limit}/${w.windowMs}ms`);
    }
    this.#windows = windows.filter((w) => Number.isFinite(w.limit)).map((w) => ({ ...w, stamps: [] }));
    this.#clock = clock;
  }

  /** Waits for a slot and takes it. Resolves with the milliseconds spent waiting. */
  acquire(signal?: AbortSignal): Promise<number> {
    if (this.#windows.length === 0) return Promise.resolve(0);
    const turn = this.#queue.then(() => this.#take(signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #take(signal?: AbortSignal): Promise<number> {
    let waited = 0;
    for (;;) {
      const now = this.#clock.now();
      let wait = 0;
      for (const w of this.#windows) {
        const stamps = w.stamps;
        while (stamps.length > 0 && (stamps[0] as number) <= now - w.windowMs) stamps.shift();
        if (stamps.length >= w.limit) {
          // The slot frees when the (length - limit + 1)-th oldest grant leaves the window.
          const freeing = stamps[stamps.length - w.limit] as number;
          wait = Math.max(wait, freeing + w.windowMs - now);
        }
      }
      if (wait <= 0) {
        for (const w of this.#windows) w.stamps.push(now);
        return waited;
      }
      await this.#clock.sleep(wait, signal);
      waited += wait;
    }
  }
}

/** Rate-limit headers of the last response (names are case-insensitive; `reset` is Unix epoch seconds). */
export interface RateLimitSnapshot {
  limit?: number;
  remaining?: number;
  /** Epoch milliseconds at which the oldest request in DO's window expires. */
  resetAtMs?: number;
  /** Local clock time the headers were read. */
  observedAtMs: number;
}

function intHeader(headers: Headers, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

export function readRateLimitHeaders(headers: Headers, now: number): RateLimitSnapshot | undefined {
  const limit = intHeader(headers, 'ratelimit-limit');
  const remaining = intHeader(headers, 'ratelimit-remaining');
  const reset = intHeader(headers, 'ratelimit-reset');
  if (limit === undefined && remaining === undefined && reset === undefined) return undefined;
  const snap: RateLimitSnapshot = { observedAtMs: now };
  if (limit !== undefined) snap.limit = limit;
  if (remaining !== undefined) snap.remaining = remaining;
  if (reset !== undefined) snap.resetAtMs = reset * 1000;
  return snap;
}

/**
 * Slows down when the server says the quota is nearly used. `reserve` requests are left for other users of the
 * same token; waits are capped by `maxWaitMs` (a skewed clock or a far reset must not stall a sync for an hour).
 */
export class ServerRateGate {
  #last: RateLimitSnapshot | undefined;
  #holdUntil = 0;
  readonly #reserve: number;
  readonly #maxWaitMs: number;
  readonly #clock: Clock;

  constructor(reserve: number, maxWaitMs: number, clock: Clock) {
    this.#reserve = reserve;
    this.#maxWaitMs = maxWaitMs;
    this.#clock = clock;
  }

  observe(snapshot: RateLimitSnapshot | undefined): void {
    if (snapshot) this.#last = snapshot;
  }

  /** Forget the last reading (after waiting out a 429, the next response tells the new state). */
  clear(): void {
    this.#last = undefined;
  }

  get last(): RateLimitSnapshot | undefined {
    return this.#last;
  }

  /** Milliseconds to wait before the next request (0 when the quota is fine or unknown). */
  delayMs(): number {
    const last = this.#last;
    if (!last || last.remaining === undefined || last.remaining > this.#reserve) return 0;
    if (last.resetAtMs === undefined) return 0;
    const wait = last.resetAtMs - this.#clock.now();
    return wait > 0 ? Math.min(wait, this.#maxWaitMs) : 0;
  }

  /**
   * Waits if needed. The reading is consumed and turned into a hold that every concurrent caller honours, so one low
   * `ratelimit-remaining` pauses all requests until the reset instant, but is not waited for twice.
   */
  async wait(signal?: AbortSignal): Promise<number> {
    const now = this.#clock.now();
    const delay = this.delayMs();
    if (delay > 0) {
      this.#holdUntil = Math.max(this.#holdUntil, now + delay);
      this.#last = undefined;
    }
    const ms = this.#holdUntil - now;
    if (ms <= 0) return 0;
    await this.#clock.sleep(ms, signal);
    return ms;
  }
}

/**
 * How long to wait after a 429: `Retry-After` (seconds or HTTP date) when present, else until `ratelimit-reset`,
 * else undefined (the caller falls back to exponential backoff). Capped by `maxMs`, never negative.
 */
export function retryDelayFor429(headers: Headers, now: number, maxMs: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  let ms: number | undefined;
  if (retryAfter !== null && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) ms = seconds * 1000;
    else {
      const at = Date.parse(retryAfter);
      if (Number.isFinite(at)) ms = at - now;
    }
  }
  if (ms === undefined) {
    const reset = intHeader(headers, 'ratelimit-reset');
    if (reset !== undefined) ms = reset * 1000 - now;
  }
  if (ms === undefined) return undefined;
  return Math.min(Math.max(0, ms), maxMs);
}

/** Exponential backoff for attempt n (1-based) with "equal jitter": half fixed, half random. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Why a sleep ended early: the signal's own reason when it is an Error (an AbortError by default). */
function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted', { cause: reason });
}
