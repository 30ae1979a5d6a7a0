/**
 * One HTTP exchange with the DigitalOcean API: ky underneath, with our own retry loop on top so that every attempt
 * is paced, counted and classified by status code (ky's built-in retry uses the real clock, cannot be counted per
 * listing, and throws an HTTPError that carries the Authorization header).
 *
 * Retry policy (status codes only, never message text):
 * - 429: wait `Retry-After`, else until `ratelimit-reset`, else backoff; capped by `maxRetryAfterMs`.
 * - 5xx except 501 (Not Implemented is permanent: it is what drives the floating_ips fallback), timeouts, resets and
 *   dropped connections, and 2xx bodies that are not JSON: bounded exponential backoff with jitter.
 * - every other 4xx: thrown at once.
 */
import { Readable } from 'node:stream';
import ky, { type KyInstance } from 'ky';
import { DigitalOceanError, makeRedactor, type DigitalOceanErrorKind } from './errors.js';
import {
  ServerRateGate,
  SlidingWindowLimiter,
  backoffDelay,
  readRateLimitHeaders,
  retryDelayFor429,
  systemClock,
  type Clock,
  type RateLimitSnapshot,
} from './rate-limit.js';
import { SERVICE_VERSION } from '../version.js';
import { doRateLimited, doRateLimitRemaining, doRequestDuration, doRequests, doRetries } from '../metrics.js';
import { inSpan, type Span } from '../tracing.js';
import { endpointClass, type QueryParams } from './endpoints.js';

/** The subset of a pino logger the client uses (pino's `(object, message)` call style). */
export interface LoggerLike {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * A request budget shared with other users of the same token (other processes): `acquire` resolves when one
 * request may leave now and takes it from the budget, or rejects when `signal` aborts. The transport awaits it
 * before every attempt, after its own pacing.
 */
export interface RequestBudget {
  acquire(signal?: AbortSignal): Promise<void>;
}

export interface TransportOptions {
  /** DigitalOcean API token. Kept in a closure: it is in no field of any object the client returns or throws. */
  token: string;
  /** Default `https://api.digitalocean.com`. A path prefix is allowed (`http://proxy/do`). */
  baseUrl?: string;
  /** Deadline per attempt, headers and body together (for streams: until headers, then per chunk). Default 30 s. */
  timeoutMs?: number;
  /** Client-side cap per sliding minute. Default 200 (DO's burst limit is 250). `Infinity` disables. */
  maxRequestsPerMinute?: number;
  /** Client-side cap per sliding hour. Default 4,800 (DO's limit is 5,000). `Infinity` disables. */
  maxRequestsPerHour?: number;
  /** Retries after the first attempt, for 429/5xx/timeouts/network errors. Default 4 (as godo). */
  maxRetries?: number;
  /** Cap on any single rate-limit wait (Retry-After, ratelimit-reset). Default 60 s. */
  maxRetryAfterMs?: number;
  /** First backoff step; doubles per attempt. Default 500 ms. */
  backoffBaseMs?: number;
  /** Largest backoff step. Default 30 s. */
  backoffMaxMs?: number;
  /** When `ratelimit-remaining` is at or below this, wait for `ratelimit-reset` before the next request. Default 10. */
  rateLimitReserve?: number;
  /** Shared across processes (one per token); without one, pacing is this process's alone. */
  budget?: RequestBudget;
  logger?: LoggerLike;
  /** Injectable time source and sleep (tests run in virtual time). Timeouts always use real timers. */
  clock?: Clock;
  /** Injectable randomness for jitter. */
  random?: () => number;
}

/** Counters for a client; `snapshot()` copies, `reset()` zeroes. */
export interface TransportStats {
  /** HTTP requests sent (every attempt counts). */
  requests: number;
  /** Attempts that were retries. */
  retries: number;
  /** 429 answers received. */
  rateLimited: number;
  /** 5xx answers received. */
  serverErrors: number;
  /** Attempts that timed out. */
  timeouts: number;
  /** Attempts that failed at the connection level. */
  networkErrors: number;
  /** Requests delayed by the client-side limiter or the server-quota gate, and the total time waited. */
  pacedWaits: number;
  pacedWaitMs: number;
  /** Time spent sleeping before retries. */
  retryWaitMs: number;
  /** The rate-limit headers of the last response. */
  lastRateLimit?: RateLimitSnapshot;
}

/** Per-call counter, so a listing can report its own API calls while sharing the client's budget. */
export interface CallCounter {
  apiCalls: number;
}

export type { QueryParams };

export interface RequestOptions {
  query?: QueryParams;
  counter?: CallCounter;
  signal?: AbortSignal;
}

export interface JsonResponse {
  body: unknown;
  status: number;
  requestId?: string;
  attempts: number;
}

export interface StreamResponse {
  /** The body as a Node stream; errors while reading are DigitalOceanError (kind `timeout` or `network`). */
  stream: Readable;
  status: number;
  contentType?: string;
  contentDisposition?: string;
  requestId?: string;
  attempts: number;
}

export interface Transport {
  getJson(path: string, options?: RequestOptions): Promise<JsonResponse>;
  getStream(path: string, options?: RequestOptions): Promise<StreamResponse>;
  stats(): TransportStats;
  resetStats(): void;
  readonly baseUrl: string;
  readonly logger: LoggerLike;
  /** Removes the token from a string (for callers that log server-provided text). */
  redact(text: string): string;
}

export const DEFAULT_BASE_URL = 'https://api.digitalocean.com';

export const USER_AGENT = `cloud-ops/${SERVICE_VERSION}`;

const silentLogger: LoggerLike = { debug() {}, info() {}, warn() {}, error() {} };

function zeroStats(): TransportStats {
  return {
    requests: 0,
    retries: 0,
    rateLimited: 0,
    serverErrors: 0,
    timeouts: 0,
    networkErrors: 0,
    pacedWaits: 0,
    pacedWaitMs: 0,
    retryWaitMs: 0,
  };
}

/** Statuses whose retry can help. 501 is a permanent "this endpoint does not exist here". */
function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Sentinel abort reasons, so a timeout is told apart from the caller's abort without reading messages. */
const TIMEOUT = Symbol('timeout');

/**
 * One attempt's deadline and cancellation. The caller's signal is forwarded into the attempt's own controller by a
 * listener (not `AbortSignal.any`), and that controller's signal is handed to `fetch` directly: a signal that reaches
 * fetch only through a `Request` object stops propagating once that Request is garbage-collected, which left a
 * stalled body hanging past the timeout. `aborted` also settles every read we race against it, so no stall outlives
 * the deadline even if an abort did not reach the socket.
 */
interface Attempt {
  signal: AbortSignal;
  /** Rejects when the attempt times out or the caller aborts; never resolves. */
  aborted: Promise<never>;
  timedOut: () => boolean;
  arm(): void;
  disarm(): void;
  /** Disarms and stops listening to the caller's signal. */
  dispose(): void;
}

function newAttempt(timeoutMs: number, external?: AbortSignal): Attempt {
  const controller = new AbortController();
  const onExternalAbort = (): void => controller.abort(external?.reason);
  if (external?.aborted) onExternalAbort();
  else external?.addEventListener('abort', onExternalAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    const fail = (): void => reject(new Error('attempt aborted'));
    if (controller.signal.aborted) fail();
    else controller.signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined); // only raced; never an unhandled rejection
  const disarm = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return {
    signal: controller.signal,
    aborted,
    timedOut: () => controller.signal.aborted && controller.signal.reason === TIMEOUT,
    arm() {
      disarm();
      timer = setTimeout(() => controller.abort(TIMEOUT), timeoutMs);
    },
    disarm,
    dispose() {
      disarm();
      external?.removeEventListener('abort', onExternalAbort);
    },
  };
}

/** A string code from a fetch failure (undici nests the socket error as `cause`). Never the error itself. */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function createTransport(options: TransportOptions): Transport {
  const token = options.token;
  if (typeof token !== 'string' || token.trim() === '') throw new TypeError('DigitalOcean client: token is required');
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  const parsedBase = new URL(baseUrl);
  if (parsedBase.protocol !== 'https:' && parsedBase.protocol !== 'http:') {
    throw new TypeError('DigitalOcean client: baseUrl must be http(s)');
  }
  if (parsedBase.username !== '' || parsedBase.password !== '' || parsedBase.search !== '' || parsedBase.hash !== '') {
    throw new TypeError('DigitalOcean client: baseUrl must not carry credentials, a query or a fragment');
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRetries = Math.max(0, options.maxRetries ?? 4);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const backoffBaseMs = options.backoffBaseMs ?? 500;
  const backoffMaxMs = options.backoffMaxMs ?? 30_000;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const log = options.logger ?? silentLogger;
  const redact = makeRedactor(token);

  const limiter = new SlidingWindowLimiter(
    [
      { limit: options.maxRequestsPerMinute ?? 200, windowMs: 60_000 },
      { limit: options.maxRequestsPerHour ?? 4_800, windowMs: 3_600_000 },
    ],
    clock,
  );
  const gate = new ServerRateGate(options.rateLimitReserve ?? 10, maxRetryAfterMs, clock);
  let stats = zeroStats();

  const api: KyInstance = ky.create({
    prefixUrl: baseUrl,
    headers: { authorization: `Bearer ${token}`, 'user-agent': USER_AGENT, accept: 'application/json' },
    retry: 0,
    timeout: false, // our own AbortController covers the body read too, which ky's timeout does not
    throwHttpErrors: false,
    // Never follow a redirect (it could carry the Authorization header to another host): a 3xx is an error by status.
    redirect: 'manual',
  });

  function endpointOf(path: string, query?: QueryParams): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return qs ? `${path}?${qs}` : path;
  }

  async function pace(signal?: AbortSignal): Promise<void> {
    // Gate first: the limiter stamps the instant it grants, which must be the instant the request leaves.
    const waitedGate = await gate.wait(signal);
    const waitedLimiter = await limiter.acquire(signal);
    // The shared budget last: its grant is stamped when taken, the closest to the request leaving.
    const budgetStart = clock.now();
    if (options.budget) await options.budget.acquire(signal);
    const waited = waitedLimiter + waitedGate + (clock.now() - budgetStart);
    if (waited > 0) {
      stats.pacedWaits++;
      stats.pacedWaitMs += waited;
      log.debug({ waitMs: waited, serverQuota: waitedGate > 0 }, 'digitalocean: pacing requests');
    }
  }

  /**
   * Runs the attempt loop. `onOk` turns a 2xx response into the result; it may throw a DigitalOceanError marked
   * retryable (body read failed, bad JSON) to get another attempt.
   */
  function execute<R>(
    path: string,
    req: RequestOptions,
    accept: string,
    onOk: (response: Response, attempt: Attempt, attempts: number) => R | Promise<R>,
    /** The result keeps reading through the attempt (a stream), which then disposes of it. */
    handsOffAttempt = false,
  ): Promise<R> {
    if (!path.startsWith('/')) throw new TypeError(`DigitalOcean client: path must start with "/": ${path}`);
    // One span per request, its attempts included; the path without the query, and never a header (the token).
    const endpointName = endpointClass(path);
    return inSpan(
      `digitalocean GET ${endpointName}`,
      { 'http.request.method': 'GET', 'url.path': path, 'cloud_ops.endpoint': endpointName },
      (span) => attempts(path, endpointName, span, req, accept, onOk, handsOffAttempt),
    );
  }

  async function attempts<R>(
    path: string,
    endpointName: string,
    span: Span,
    req: RequestOptions,
    accept: string,
    onOk: (response: Response, attempt: Attempt, attempts: number) => R | Promise<R>,
    handsOffAttempt: boolean,
  ): Promise<R> {
    const endpoint = endpointOf(path, req.query);
    const method = 'GET';
    // The query goes into the input string (relative to prefixUrl): ky's `searchParams` would build the Request twice.
    const input = endpoint.slice(1);

    for (let attemptNo = 1; ; attemptNo++) {
      if (req.signal?.aborted) {
        throw new DigitalOceanError({ kind: 'aborted', method, endpoint, attempts: attemptNo - 1, retryable: false });
      }
      try {
        await pace(req.signal);
      } catch {
        throw new DigitalOceanError({ kind: 'aborted', method, endpoint, attempts: attemptNo - 1, retryable: false });
      }
      stats.requests++;
      if (attemptNo > 1) {
        stats.retries++;
        doRetries.inc({ endpoint: endpointName });
      }
      if (req.counter) req.counter.apiCalls++;
      span.setAttribute('cloud_ops.attempts', attemptNo);
      const timer = doRequestDuration.startTimer({ endpoint: endpointName });

      const attempt = newAttempt(timeoutMs, req.signal);
      let handedOff = false;
      attempt.arm();
      let failure: DigitalOceanError;
      let retryDelay: number | undefined;
      try {
        const response = await Promise.race([
          api.get(input, {
            headers: { accept },
            // fetch gets the attempt's signal itself (see Attempt): through ky's Request it could be lost to GC.
            fetch: (request, init) => fetch(request, { ...init, signal: attempt.signal }),
          }),
          attempt.aborted,
        ]);
        timer();
        doRequests.inc({ endpoint: endpointName, status: String(response.status) });
        span.setAttribute('http.response.status_code', response.status);
        const snapshot = readRateLimitHeaders(response.headers, clock.now());
        if (snapshot) {
          gate.observe(snapshot);
          stats.lastRateLimit = snapshot;
          if (snapshot.remaining !== undefined) doRateLimitRemaining.set(snapshot.remaining);
        }
        const requestId = response.headers.get('x-request-id') ?? undefined;
        if (response.ok) {
          const result = await onOk(response, attempt, attemptNo);
          if (handsOffAttempt) handedOff = true;
          return result;
        }
        const text = await Promise.race([response.text(), attempt.aborted]).catch(() => '');
        attempt.disarm();
        let id: string | undefined;
        let apiMessage: string | undefined;
        let bodyRequestId: string | undefined;
        try {
          const parsed = JSON.parse(text) as { id?: unknown; message?: unknown; request_id?: unknown };
          if (typeof parsed.id === 'string') id = redact(parsed.id).slice(0, 200);
          if (typeof parsed.message === 'string') apiMessage = redact(parsed.message).slice(0, 500);
          if (typeof parsed.request_id === 'string') bodyRequestId = redact(parsed.request_id).slice(0, 200);
        } catch {
          // Not JSON (a proxy's HTML page): keep the status only.
        }
        const status = response.status;
        const retryable = isRetryableStatus(status);
        failure = new DigitalOceanError({
          kind: 'http',
          method,
          endpoint,
          attempts: attemptNo,
          retryable,
          status,
          ...(id !== undefined && { id }),
          ...(apiMessage !== undefined && { apiMessage }),
          ...((requestId ?? bodyRequestId) !== undefined && {
            requestId: redact((requestId ?? bodyRequestId) as string),
          }),
        });
        if (status === 429) {
          stats.rateLimited++;
          doRateLimited.inc({ endpoint: endpointName });
          retryDelay = retryDelayFor429(response.headers, clock.now(), maxRetryAfterMs);
        } else if (status >= 500) {
          stats.serverErrors++;
        }
      } catch (error) {
        attempt.disarm();
        if (error instanceof DigitalOceanError) {
          if (!error.retryable) throw error;
          failure = error;
        } else {
          const kind: DigitalOceanErrorKind = attempt.timedOut()
            ? 'timeout'
            : req.signal?.aborted
              ? 'aborted'
              : 'network';
          if (kind === 'aborted') {
            throw new DigitalOceanError({ kind, method, endpoint, attempts: attemptNo, retryable: false });
          }
          if (kind === 'timeout') stats.timeouts++;
          else stats.networkErrors++;
          timer();
          doRequests.inc({ endpoint: endpointName, status: kind });
          const code = kind === 'network' ? networkCode(error) : undefined;
          failure = new DigitalOceanError({
            kind,
            method,
            endpoint,
            attempts: attemptNo,
            retryable: true,
            ...(code !== undefined && { code: redact(code).slice(0, 60) }),
            ...(kind === 'timeout' && { detail: `no complete answer within ${timeoutMs} ms` }),
          });
        }
      } finally {
        if (!handedOff) attempt.dispose();
      }

      if (!failure.retryable || attemptNo > maxRetries) throw failure;
      const delay = retryDelay ?? backoffDelay(attemptNo, backoffBaseMs, backoffMaxMs, random);
      log.warn(
        {
          endpoint,
          kind: failure.kind,
          status: failure.status,
          requestId: failure.requestId,
          attempt: attemptNo,
          retryInMs: Math.round(delay),
        },
        'digitalocean: request failed, retrying',
      );
      stats.retryWaitMs += delay;
      try {
        await clock.sleep(delay, req.signal);
      } catch {
        throw new DigitalOceanError({ kind: 'aborted', method, endpoint, attempts: attemptNo, retryable: false });
      }
      if (failure.status === 429) gate.clear(); // we waited for the server's instant; don't wait for it twice
    }
  }

  async function getJson(path: string, req: RequestOptions = {}): Promise<JsonResponse> {
    return execute(path, req, 'application/json', async (response, attempt, attempts) => {
      const endpoint = endpointOf(path, req.query);
      let text: string;
      try {
        text = await Promise.race([response.text(), attempt.aborted]);
      } catch (error) {
        const timedOut = attempt.timedOut();
        if (!timedOut && req.signal?.aborted) throw error; // classified as 'aborted' by the loop
        if (timedOut) stats.timeouts++;
        else stats.networkErrors++;
        const code = timedOut ? undefined : networkCode(error);
        throw new DigitalOceanError({
          kind: timedOut ? 'timeout' : 'network',
          method: 'GET',
          endpoint,
          attempts,
          retryable: true,
          ...(code !== undefined && { code }),
          detail: timedOut ? `body not complete within ${timeoutMs} ms` : 'connection lost while reading the body',
        });
      } finally {
        attempt.disarm();
      }
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (body === undefined || body === null || typeof body !== 'object') {
        throw new DigitalOceanError({
          kind: 'invalid_response',
          method: 'GET',
          endpoint,
          attempts,
          retryable: true,
          status: response.status,
          detail: 'body is not a JSON object',
        });
      }
      const requestId = response.headers.get('x-request-id') ?? undefined;
      return {
        body,
        status: response.status,
        attempts,
        ...(requestId !== undefined && { requestId: redact(requestId) }),
      };
    });
  }

  async function getStream(path: string, req: RequestOptions = {}): Promise<StreamResponse> {
    return execute(
      path,
      req,
      'text/csv, */*',
      (response, attempt, attempts) => {
        attempt.disarm();
        const endpoint = endpointOf(path, req.query);
        const body = response.body;
        if (!body) attempt.dispose();
        const stream = body ? webToNodeStream(body, attempt, endpoint, attempts, req) : Readable.from([]);
        const requestId = response.headers.get('x-request-id') ?? undefined;
        const contentType = response.headers.get('content-type') ?? undefined;
        const contentDisposition = response.headers.get('content-disposition') ?? undefined;
        return {
          stream,
          status: response.status,
          attempts,
          ...(requestId !== undefined && { requestId: redact(requestId) }),
          ...(contentType !== undefined && { contentType }),
          ...(contentDisposition !== undefined && { contentDisposition }),
        };
      },
      true,
    );
  }

  /**
   * Pull-based bridge from the fetch body to a Node Readable: one chunk is read per `_read`, so a slow consumer
   * applies back-pressure to the socket and the file is never held in memory. The attempt's timer is re-armed per
   * chunk (an idle timeout); errors become DigitalOceanError.
   */
  function webToNodeStream(
    body: ReadableStream<Uint8Array>,
    attempt: Attempt,
    endpoint: string,
    attempts: number,
    req: RequestOptions,
  ): Readable {
    const reader = body.getReader();
    return new Readable({
      highWaterMark: 64 * 1024,
      read() {
        attempt.arm();
        Promise.race([reader.read(), attempt.aborted]).then(
          ({ done, value }) => {
            attempt.disarm();
            if (this.destroyed) return;
            if (done) {
              attempt.dispose();
              this.push(null);
            } else this.push(value);
          },
          (error: unknown) => {
            attempt.disarm();
            if (this.destroyed) return;
            const timedOut = attempt.timedOut();
            const aborted = !timedOut && req.signal?.aborted === true;
            const code = timedOut || aborted ? undefined : networkCode(error);
            this.destroy(
              new DigitalOceanError({
                kind: timedOut ? 'timeout' : aborted ? 'aborted' : 'network',
                method: 'GET',
                endpoint,
                attempts,
                retryable: !aborted,
                ...(code !== undefined && { code }),
                detail: timedOut
                  ? `stream stalled for ${timeoutMs} ms`
                  : aborted
                    ? 'aborted while streaming the body'
                    : 'connection lost while streaming the body',
              }),
            );
          },
        );
      },
      destroy(error, callback) {
        attempt.dispose();
        reader.cancel().catch(() => undefined);
        callback(error);
      },
    });
  }

  return {
    getJson,
    getStream,
    stats: () => ({ ...stats, ...(stats.lastRateLimit && { lastRateLimit: { ...stats.lastRateLimit } }) }),
    resetStats: () => {
      stats = zeroStats();
    },
    baseUrl,
    logger: log,
    redact,
  };
}
