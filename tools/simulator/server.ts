/**
 * The simulator's HTTP server (plain node:http): authentication, rate-limit headers, fault injection,
 * the request log, and writing (or streaming, or cutting short) the replies of `routes.ts`.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../../src/logger.js';
import { Billing } from './billing.js';
import { FaultEngine, matchesPath, type FaultName, type Faults, type PathPattern } from './faults.js';
import { Random } from './random.js';
import { errorReply, jsonReply, route, type Reply } from './routes.js';
import { Renderer } from './shapes.js';
import { KINDS, SimAccount, type Scale } from './state.js';

export interface SimulatorOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number | undefined;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string | undefined;
  /** Seed of the generated account. Same seed, same account. Default 1. */
  seed?: number | undefined;
  /** Resource counts (see DEFAULT_SCALE). */
  scale?: Partial<Scale> | undefined;
  /** The account's clock (created_at of new resources, the month-to-date invoice). Default DEFAULT_NOW. */
  now?: string | Date | undefined;
  /** When set, only `Authorization: Bearer <token>` is accepted; otherwise any bearer token is. */
  token?: string | undefined;
  /** Initial faults (see faults.ts); change them later with `sim.setFaults`. */
  faults?: Faults | undefined;
  /** Scheme and host written into `links.pages` URLs. Default `https://api.digitalocean.com`. */
  linkBase?: string | undefined;
  /** Adds an extra closed invoice with this many lines (CSV streamed), for benchmarks. */
  largeInvoiceLines?: number | undefined;
  /** Render every listable record once at start, so the first walk is as fast as later ones. Default true. */
  prewarm?: boolean | undefined;
  /** Where a failing route is reported, and each request when `log` is set. Default: nowhere. */
  logger?: Logger | undefined;
  /** Log each request (info). Default false. */
  log?: boolean | undefined;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  /** Raw query string without `?` (e.g. `page=2&per_page=200`). */
  query: string;
  /** HTTP status sent (for a dropped connection: the status that was being sent, 0 if nothing was written). */
  status: number;
  /** Epoch ms when the request arrived. */
  at: number;
  durationMs: number;
  requestId: string;
  /** The fault that shaped this answer, if any. */
  fault?: FaultName;
}

export interface RequestFilter {
  path?: PathPattern;
  method?: string;
  status?: number;
  /** Query parameters that must be present with these values. */
  query?: Record<string, string>;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  fault?: FaultName;
}

/** Every request the simulator answered, in arrival order. */
export class RequestLog {
  readonly entries: RequestLogEntry[] = [];

  filter(f: RequestFilter = {}): RequestLogEntry[] {
    return this.entries.filter((e) => {
      if (f.path !== undefined && !matchesPath(f.path, e.path)) return false;
      if (f.method !== undefined && e.method !== f.method) return false;
      if (f.status !== undefined && e.status !== f.status) return false;
      if (f.since !== undefined && e.at < f.since) return false;
      if (f.until !== undefined && e.at >= f.until) return false;
      if (f.fault !== undefined && e.fault !== f.fault) return false;
      if (f.query) {
        const q = new URLSearchParams(e.query);
        if (!Object.entries(f.query).every(([k, v]) => q.get(k) === v)) return false;
      }
      return true;
    });
  }

  count(f: RequestFilter = {}): number {
    return this.filter(f).length;
  }

  /** Number of requests per path. */
  countsByPath(f: RequestFilter = {}): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.filter(f)) out[e.path] = (out[e.path] ?? 0) + 1;
    return out;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

/** Sliding windows of request times, for the ratelimit headers and the optional enforced limits. */
class RateWindow {
  private hits: number[] = [];
  private head = 0;

  hit(now: number): void {
    this.hits.push(now);
    while (this.head < this.hits.length && this.hits[this.head]! <= now - 3_600_000) this.head++;
    if (this.head > 10_000) {
      this.hits = this.hits.slice(this.head);
      this.head = 0;
    }
  }

  /** Requests in the last `ms` (including the current one) and the oldest of them. */
  within(now: number, ms: number): { count: number; oldest: number } {
    let lo = this.head;
    let hi = this.hits.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.hits[mid]! <= now - ms) lo = mid + 1;
      else hi = mid;
    }
    return { count: this.hits.length - lo, oldest: this.hits[lo] ?? now };
  }
}

export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:4010` (point the client's API URL here). */
  url: string;
  port: number;
  /** The simulated account: read it, and churn it between calls (create/update/delete). */
  account: SimAccount;
  /** Invoices, history, balance, and `expectedMatches(uuid)` for billing tests. */
  billing: Billing;
  /** Replace the active faults (counters restart). */
  setFaults(faults: Faults): void;
  /** The fault engine (e.g. `sim.faults.fired('serverError')`). */
  faults: FaultEngine;
  requests: RequestLog;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 1;
  const logger = options.logger ?? silentLogger;
  const account = new SimAccount({ seed, scale: options.scale, now: options.now });
  const billing = new Billing(account, { largeInvoiceLines: options.largeInvoiceLines });
  const renderer = new Renderer(account, {
    linkBase: (options.linkBase ?? 'https://api.digitalocean.com').replace(/\/$/, ''),
  });
  const faultRng = new Random(seed).fork('faults');
  const faults = new FaultEngine(() => faultRng.next(), options.faults ?? {});
  const requests = new RequestLog();
  const window = new RateWindow();

  if (options.prewarm ?? true) {
    for (const kind of KINDS) for (const rec of account.list(kind)) renderer.json(kind, rec);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const query = url.searchParams;
    const method = req.method ?? 'GET';
    const requestId = randomUUID();
    const freq = { path, query };
    window.hit(at);

    const latency = faults.take('latency', freq);
    if (latency) await sleep(latency.ms + (latency.jitterMs ? faultRng.next() * latency.jitterMs : 0));

    const limits = faults.rateLimit;
    const hourLimit = limits?.perHour ?? 5000;
    const now = Date.now();
    const hour = window.within(now, 3_600_000);
    const headers: Record<string, string> = {
      'ratelimit-limit': String(hourLimit),
      'ratelimit-remaining': String(Math.max(0, hourLimit - hour.count)),
      'ratelimit-reset': String(Math.ceil((hour.oldest + 3_600_000) / 1000)),
      'x-request-id': requestId,
    };

    let reply: Reply;
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    const minute = limits?.perMinute !== undefined ? window.within(now, 60_000) : undefined;
    if (!bearer || (options.token !== undefined && bearer !== options.token)) {
      reply = errorReply(401, 'unauthorized', 'Unable to authenticate you.');
    } else if (faults.isNotFound(freq)) {
      reply = errorReply(404, 'not_found', 'The resource you were accessing could not be found.', 'notFound');
    } else if (minute && limits?.perMinute !== undefined && minute.count > limits.perMinute) {
      reply = tooManyRequests('rateLimitMinute');
      headers['ratelimit-remaining'] = '0';
      headers['retry-after'] = String(Math.max(1, Math.ceil((minute.oldest + 60_000 - now) / 1000)));
    } else if (limits?.perHour !== undefined && hour.count > limits.perHour) {
      reply = tooManyRequests('rateLimitHour');
      headers['ratelimit-remaining'] = '0';
    } else {
      const burst = faults.take('burst429', freq);
      const hourly = burst ? undefined : faults.take('hourly429', freq);
      const failure = burst || hourly ? undefined : faults.take('serverError', freq);
      if (burst) {
        reply = tooManyRequests('burst429');
        headers['ratelimit-remaining'] = '0';
        headers['retry-after'] = String(burst.retryAfterSeconds ?? 1);
      } else if (hourly) {
        reply = tooManyRequests('hourly429');
        headers['ratelimit-remaining'] = '0';
        headers['ratelimit-reset'] = String(Math.ceil(now / 1000) + (hourly.resetInSeconds ?? 2));
      } else if (failure) {
        const status = failure.status ?? 500;
        reply =
          status === 500
            ? errorReply(500, 'server_error', 'Unexpected server-side error', 'serverError')
            : {
                status,
                body: Buffer.from(`<html><body><h1>${status}</h1></body></html>\n`),
                contentType: 'text/html',
                fault: 'serverError',
              };
      } else if (method !== 'GET') {
        reply = errorReply(405, 'method_not_allowed', 'The simulator serves GET endpoints only.');
      } else {
        try {
          reply = route({ method, path, query, account, billing, renderer, faults });
        } catch (err) {
          logger.error({ err, path }, 'simulator route failed');
          reply = errorReply(500, 'server_error', 'Unexpected server-side error');
        }
      }
    }

    const drop = faults.take('dropConnection', freq);
    const entry: RequestLogEntry = {
      method,
      path,
      query: query.toString(),
      status: reply.status,
      at,
      durationMs: 0,
      requestId,
      ...('fault' in reply && reply.fault ? { fault: reply.fault } : {}),
    };
    if (drop) entry.fault = 'dropConnection';
    res.on('close', () => {
      entry.durationMs = Date.now() - at;
      if (options.log)
        logger.info(
          { method, path, query: entry.query, status: entry.status, fault: entry.fault },
          'simulator request',
        );
    });
    requests.entries.push(entry);

    const allHeaders: Record<string, string> = { ...headers, 'content-type': reply.contentType, ...reply.headers };
    if (drop && drop.afterBytes === 0) {
      entry.status = 0;
      req.socket.destroy();
      return;
    }
    if ('body' in reply) {
      allHeaders['content-length'] = String(reply.body.length);
      res.writeHead(reply.status, allHeaders);
      if (drop) {
        const cut = Math.min(reply.body.length - 1, drop.afterBytes ?? Math.floor(reply.body.length / 2));
        res.write(reply.body.subarray(0, Math.max(0, cut)), () => res.destroy());
        return;
      }
      res.end(reply.body);
      return;
    }
    res.writeHead(reply.status, allHeaders);
    let written = 0;
    const limit = drop ? (drop.afterBytes ?? 64 * 1024) : Infinity;
    for (const chunk of reply.stream) {
      if (res.destroyed) return;
      const buf = Buffer.from(chunk);
      if (written + buf.length > limit) {
        res.write(buf.subarray(0, Math.max(0, limit - written)), () => res.destroy());
        return;
      }
      written += buf.length;
      if (!res.write(buf)) await drainOrClose(res);
    }
    res.end();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'simulator request failed');
      res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    account,
    billing,
    setFaults: (f) => faults.set(f),
    faults,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Resolves when the response can take more data or is gone (listeners removed either way). */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function tooManyRequests(fault: FaultName): Reply {
  return jsonReply(429, '{"id":"too_many_requests","message":"API rate limit exceeded."}', fault);
}
