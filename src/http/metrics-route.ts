// GET /metrics: the Prometheus scrape (src/metrics.ts), behind a bearer token when METRICS_TOKEN is set. Served on the
// service's port, on the worker's health port, or on a listener of its own (METRICS_LISTEN).
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../metrics.js';
import { sendJson } from './respond.js';

export const METRICS_PATH = '/metrics';

export interface MetricsAccess {
  /** The bearer token a scrape must send; undefined: none is asked for. */
  token: string | undefined;
}

/** Compared as digests, in constant time: neither the token's length nor its content shows in the timing. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/** Answers a scrape and returns true, or returns false for any other request. */
export function handleMetrics(
  path: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  access: MetricsAccess,
): boolean {
  if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  if (access.token !== undefined && !bearerMatches(req.headers.authorization, access.token)) {
    sendJson(
      res,
      401,
      { error: 'unauthorized', message: 'A bearer token is required.' },
      {
        'www-authenticate': 'Bearer realm="metrics"',
      },
    );
    return true;
  }
  renderMetrics().then(
    (text) => {
      res.writeHead(200, {
        'content-type': METRICS_CONTENT_TYPE,
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    () => sendJson(res, 500, { error: 'internal', message: 'The metrics could not be collected.' }),
  );
  return true;
}

/** The listener of METRICS_LISTEN: /metrics and nothing else. */
export function createMetricsServer(access: MetricsAccess): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!handleMetrics(path, req, res, access)) sendJson(res, 404, { error: 'not_found', message: 'metrics only' });
  });
}
