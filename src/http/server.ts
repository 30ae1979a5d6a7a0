// The HTTP surface, on one port: GraphQL at /graphql (Yoga, graphql.ts; graphql-ws on the same path,
// websocket.ts), the public health route and the REST routes (rest/). Routing, the GraphQL body limit and
// SSE write batching are here; so is shutdown, in order: subscriptions, WebSockets, then the listener.
import http from 'node:http';
import type pg from 'pg';
import { createAuthenticator, type Authenticator } from '../auth.js';
import type { Config } from '../config.js';
import { isReachable, type PrismaClient } from '../db/client.js';
import type { Logger } from '../logger.js';
import { EventHub, type EventSource } from '../schema/event-hub.js';
import { ConnectionTracker } from './connections.js';
import { createGraphQLHandler, GRAPHQL_PATH, type GraphQLHandler } from './graphql.js';
import type { CacheOutcome, ChangeEvents } from './response-cache.js';
import { handleHealth, type HealthSources } from './health.js';
import { handleMetrics } from './metrics-route.js';
import { trackSubscriptions } from '../metrics.js';
import { sendJson } from './respond.js';
import { securityHeaders } from './security.js';
import { BILLING_REST_PATHS, handleBilling } from './rest/billing.js';
import { handleInventory } from './rest/inventory.js';
import { createWebSocketBridge } from './websocket.js';

export interface HttpServerOptions {
  config: Config;
  pool: pg.Pool;
  prisma: PrismaClient;
  workerRunning: () => boolean;
  /** The process's one LISTEN connection (src/events.ts EventListener); readiness asks whether it is up. */
  events: EventSource & ChangeEvents;
  /** Each HTTP query's response cache outcome: hit, miss or bypass (metrics). */
  onCacheOutcome?: ((outcome: CacheOutcome) => void) | undefined;
  /** The JWT secret (src/auth.ts resolveJwtSecret). */
  jwtSecret: Uint8Array;
  logger: Logger;
}

export interface HttpService {
  server: http.Server;
  /** Live subscriptions in this process (SSE and WebSocket). */
  subscriptions(): number;
  /** Ends subscriptions, closes WebSockets, stops accepting, lets requests finish within graceMs. */
  close(graceMs: number): Promise<void>;
}

type RestHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: { prisma: PrismaClient; authenticator: Authenticator },
) => Promise<void>;

/** The REST routes by exact path, with the name their failures are logged under. */
const REST_ROUTES = new Map<string, { name: string; handle: RestHandler }>([
  ['/api/v1/inventory', { name: 'inventory', handle: handleInventory }],
  ...BILLING_REST_PATHS.map((path) => [path, { name: 'billing', handle: handleBilling }] as const),
]);

export function createHttpServer(options: HttpServerOptions): HttpService {
  const { config, logger } = options;
  const authenticator = createAuthenticator(config.jwt, options.jwtSecret, logger);
  const secure = securityHeaders(config);
  const hub = new EventHub(options.events, config.graphql.maxSubscriptionsPerViewer);
  const yoga = createGraphQLHandler({
    config,
    pool: options.pool,
    prisma: options.prisma,
    authenticator,
    hub,
    logger,
    events: options.events,
    onCacheOutcome: options.onCacheOutcome,
  });
  const connections = new ConnectionTracker();
  const untrackSubscriptions = trackSubscriptions(() => hub.size);
  // On this port unless METRICS_LISTEN gives the scrape a listener of its own (src/app.ts).
  const metricsHere = config.metrics.enabled && config.metrics.listen === undefined;
  const healthSources: HealthSources = {
    databaseReachable: () => isReachable(options.pool),
    eventsConnected: () => options.events.connected,
    worker: { enabled: options.config.worker.enabled, running: options.workerRunning },
  };

  const server = http.createServer((req, res) => {
    connections.request(req, res);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    secure(req, res, path);
    if (handleHealth(path, req, res, healthSources)) return;
    if (metricsHere && handleMetrics(path, req, res, config.metrics)) return;
    const rest = REST_ROUTES.get(path);
    if (rest) {
      void rest.handle(req, res, { prisma: options.prisma, authenticator }).catch((error: unknown) => {
        logger.error({ err: error }, `${rest.name} request failed`);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'Unexpected error.' });
      });
      return;
    }
    if (path === GRAPHQL_PATH || path.startsWith(`${GRAPHQL_PATH}/`)) {
      void handleGraphQL(yoga, req, res, config.graphql.maxBodyBytes);
      return;
    }
    sendJson(res, 404, { error: 'not_found', message: `No route for ${req.method} ${path}` });
  });

  server.on('connection', (socket) => connections.add(socket));
  const webSockets = createWebSocketBridge({ yoga, authenticator, config });
  server.on('upgrade', (req, socket, head) => webSockets.upgrade(req, socket, head));

  return {
    server,
    subscriptions: () => hub.size,
    async close(graceMs) {
      // Subscriptions end first (SSE streams get their `complete`, WebSocket clients a 1001), then the listener.
      hub.close();
      untrackSubscriptions();
      await webSockets.dispose();
      await connections.close(server, graceMs);
    },
  };
}

/** The /graphql route: reads the body with a ceiling (413 past it) before Yoga parses it; GET and HEAD carry none. */
async function handleGraphQL(
  yoga: GraphQLHandler,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  maxBytes: number,
): Promise<void> {
  if (req.headers.accept?.includes('text/event-stream')) coalesceWrites(res);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const body = await readBody(req, maxBytes);
    if (body === 'too-large') {
      sendJson(
        res,
        413,
        {
          errors: [
            { message: `Request body is larger than ${maxBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } },
          ],
        },
        { connection: 'close' },
      );
      return;
    }
    // whatwg-node (under Yoga) uses an already-read body as the request body.
    if (body.length > 0) (req as http.IncomingMessage & { body?: Buffer }).body = body;
  }
  await yoga.handle(req, res);
}

function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      // Past the ceiling the rest is drained, not kept, so the client still gets the 413.
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * An SSE response writes one chunk per event; a burst of progress events (one NOTIFY read can carry many)
 * would cost one syscall per event per subscriber. Writes made within one turn of the event loop go out
 * together instead: the response is corked at the first write of a turn and uncorked after the turn.
 */
function coalesceWrites(res: http.ServerResponse): void {
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  let corked = false;
  res.write = ((...args: unknown[]) => {
    if (!corked && !res.writableEnded) {
      corked = true;
      res.cork();
      setImmediate(() => {
        corked = false;
        res.uncork();
      });
    }
    return write(...args);
  }) as typeof res.write;
}
