// Tiny node:http servers for client tests: each records what it received and answers through a handler.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** 1-based arrival order. */
  n: number;
}

export type StubHandler = (
  req: RecordedRequest,
  res: http.ServerResponse,
  raw: http.IncomingMessage,
) => void | Promise<void>;

export interface Stub {
  url: string;
  port: number;
  requests: RecordedRequest[];
  setHandler(handler: StubHandler): void;
  close(): Promise<void>;
}

export async function startStub(handler: StubHandler = (_req, res) => json(res, 200, {})): Promise<Stub> {
  const requests: RecordedRequest[] = [];
  let current = handler;
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((raw, res) => {
    const url = new URL(raw.url ?? '/', 'http://stub');
    const rec: RecordedRequest = {
      method: raw.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: raw.headers,
      n: requests.length + 1,
    };
    requests.push(rec);
    Promise.resolve(current(rec, res, raw)).catch((error: unknown) => {
      if (!res.headersSent) json(res, 599, { id: 'stub_error', message: String(error) });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setHandler(h) {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * A DO-style page of `items` (all items of the listing), for `page`/`per_page` from the request, with absolute
 * links naming `linkBase` (by default the public API host, which must never be contacted).
 */
export function pageOf<T>(
  key: string,
  all: T[],
  req: RecordedRequest,
  linkBase = 'https://api.digitalocean.com',
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const page = Number(req.query.get('page') ?? '1');
  const perPage = Number(req.query.get('per_page') ?? '20');
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const pages: Record<string, string> = {};
  const link = (p: number): string => `${linkBase}${req.path}?page=${p}&per_page=${perPage}`;
  if (page > 1) {
    pages.first = link(1);
    pages.prev = link(page - 1);
  }
  if (page < last) {
    pages.next = link(page + 1);
    pages.last = link(last);
  }
  return {
    [key]: all.slice((page - 1) * perPage, page * perPage),
    links: Object.keys(pages).length > 0 ? { pages } : {},
    meta: { total: all.length },
    ...extra,
  };
}

/** A virtual clock: `sleep` advances time instantly and records the requested delay. */
export interface FakeClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  sleeps: number[];
  advance(ms: number): void;
}

export function fakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      t += Math.max(0, ms);
      await Promise.resolve();
    },
    sleeps,
    advance(ms: number) {
      t += ms;
    },
  };
}
