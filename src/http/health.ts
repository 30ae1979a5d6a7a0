// Health, for orchestrators and load balancers. Liveness (/api/health/live): the process is up and serving, always
// 200; restarting it would not help a database outage. Readiness (/api/health/ready, and /api/health as before):
// 200 only while the database answers, the LISTEN connection is up (when this process has one) and the worker runs
// (when this process should run one); 503 otherwise, so traffic goes to a replica that can serve it.
import http from 'node:http';
import { SERVICE_NAME, SERVICE_VERSION } from '../version.js';
import { handleMetrics, type MetricsAccess } from './metrics-route.js';
import { sendJson } from './respond.js';

export const HEALTH_PATHS = { live: '/api/health/live', ready: '/api/health/ready', legacy: '/api/health' } as const;

/** What readiness looks at; each part is asked fresh on every request. */
export interface HealthSources {
  databaseReachable: () => Promise<boolean>;
  /** The LISTEN connection; absent in a process without one (the worker). */
  eventsConnected?: (() => boolean) | undefined;
  worker: { enabled: boolean; running: () => boolean };
}

export interface Readiness {
  database: { reachable: boolean };
  events?: { connected: boolean };
  worker: { enabled: boolean; running: boolean };
}

/** Ready when every part this process has is up. */
export function isReady(state: Readiness): boolean {
  return (
    state.database.reachable && (state.events?.connected ?? true) && (!state.worker.enabled || state.worker.running)
  );
}

async function readiness(sources: HealthSources): Promise<{ status: number; body: unknown }> {
  const state: Readiness = {
    database: { reachable: await sources.databaseReachable() },
    ...(sources.eventsConnected && { events: { connected: sources.eventsConnected() } }),
    worker: { enabled: sources.worker.enabled, running: sources.worker.running() },
  };
  const ready = isReady(state);
  return {
    status: ready ? 200 : 503,
    body: { service: SERVICE_NAME, version: SERVICE_VERSION, status: ready ? 'ok' : 'degraded', ...state },
  };
}

/** Answers a health request and returns true, or returns false for any other request. */
export function handleHealth(
  path: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  sources: HealthSources,
): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === HEALTH_PATHS.live) {
    sendJson(res, 200, { service: SERVICE_NAME, version: SERVICE_VERSION, status: 'alive' });
    return true;
  }
  if (path === HEALTH_PATHS.ready || path === HEALTH_PATHS.legacy) {
    void readiness(sources).then(({ status, body }) => sendJson(res, status, body));
    return true;
  }
  return false;
}

/** The worker's own listener (WORKER_HEALTH_PORT): the health routes, and /metrics when `metrics` is given. */
export function createHealthServer(sources: HealthSources, metrics?: MetricsAccess): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (handleHealth(path, req, res, sources)) return;
    if (metrics && handleMetrics(path, req, res, metrics)) return;
    sendJson(res, 404, { error: 'not_found', message: 'health only' });
  });
}
