// The HTTP surface, on one port: GraphQL at /graphql (Yoga: queries, mutations, SSE subscriptions, GraphiQL;
// graphql-ws on the same path for WebSocket subscriptions), the public health route and the REST inventory.
import http from 'node:http';
import type { Socket } from 'node:net';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type pg from 'pg';
import { WebSocketServer } from 'ws';
import { AuthError, createAuthenticator, type Authenticator, type Viewer } from './auth.js';
import type { Config } from './config.js';
import type { PrismaClient } from './db/client.js';
import { isReachable } from './db/client.js';
import { logger } from './logger.js';
import { handleInventory } from './rest/inventory.js';
import { BILLING_REST_PATHS, handleBilling } from './rest/billing.js';
import type { GraphQLContext } from './schema/context.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './schema/builder.js';
import { costLimitRule, type CostOptions } from './schema/cost-limit.js';
import { EventHub, type EventSource } from './schema/event-hub.js';
import { schema } from './schema/index.js';
import { createLoaders } from './schema/loaders.js';
import { SERVICE_NAME, SERVICE_VERSION } from './version.js';

export interface HttpDependencies {
  config: Config;
  pool: pg.Pool;
  prisma: PrismaClient;
  workerRunning: () => boolean;
  /** The process's one LISTEN connection (src/events.ts EventListener). */
  events: EventSource;
  /** The JWT secret (src/auth.ts resolveJwtSecret). */
  jwtSecret: Uint8Array;
}

export interface HttpService {
  server: http.Server;
  /** Live subscriptions in this process (SSE and WebSocket). */
  subscriptions(): number;
  /** Ends subscriptions, closes WebSockets, stops accepting, lets requests finish within graceMs. */
  close(graceMs: number): Promise<void>;
}

interface ServerContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

/** What the WebSocket handshake established, handed to the context factory instead of a request header. */
interface SocketContext {
  socketViewer: Viewer | null;
}

const GRAPHQL_PATH = '/graphql';

export function createHttpServer(deps: HttpDependencies): HttpService {
  const { config } = deps;
  const authenticator = createAuthenticator(config.jwt, deps.jwtSecret);
  const hub = new EventHub(deps.events);
  const yoga = createGraphQLHandler(deps, authenticator, hub);

  const connections = new ConnectionTracker();

  const server = http.createServer((req, res) => {
    connections.request(req, res);
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      void health(deps).then(({ status, body }) => sendJson(res, status, body));
      return;
    }
    if (path === '/api/v1/inventory') {
      void handleInventory(req, res, { prisma: deps.prisma, authenticator }).catch((error: unknown) => {
        logger.error({ err: error }, 'inventory request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'Unexpected error.' });
      });
      return;
    }
    if ((BILLING_REST_PATHS as readonly string[]).includes(path ?? '')) {
      void handleBilling(req, res, { prisma: deps.prisma, authenticator }).catch((error: unknown) => {
        logger.error({ err: error }, 'billing request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'Unexpected error.' });
      });
      return;
    }
    if (path === GRAPHQL_PATH || path?.startsWith(`${GRAPHQL_PATH}/`)) {
      if (req.headers.accept?.includes('text/event-stream')) coalesceWrites(res);
      void handleGraphQL(yoga, req, res, config.graphql.maxBodyBytes);
      return;
    }
    sendJson(res, 404, { error: 'not_found', message: `No route for ${req.method} ${path}` });
  });

  server.on('connection', (socket) => connections.add(socket));
  // Upgrades are routed here rather than by `ws` itself (its `server` option), which would also re-emit the HTTP
  // server's own errors (a port in use) as WebSocket errors, printed with a stack before our one-line message.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.graphql.maxBodyBytes });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '/').split('?')[0] !== GRAPHQL_PATH) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const wsServer = attachWebSocket(wss, yoga, authenticator, config);

  return {
    server,
    subscriptions: () => hub.size,
    async close(graceMs) {
      // Subscriptions end first (SSE streams get their `complete`, WebSocket clients a 1001), then the listener.
      hub.close();
      await wsServer.dispose();
      await connections.close(server, graceMs);
    },
  };
}

function createGraphQLHandler(deps: HttpDependencies, authenticator: Authenticator, hub: EventHub): YogaServerInstance<ServerContext, GraphQLContext> {
  const { config } = deps;
  const limits = config.graphql;
  const plugins: Array<Plugin<object>> = [
    // Browsers may not send a "simple" (preflight-free) request: JSON content type or this header is required.
    useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }),
    maxTokensPlugin({ n: limits.maxTokens }),
    maxDepthPlugin({ n: limits.maxDepth, flattenFragments: true }),
    maxAliasesPlugin({ n: limits.maxAliases }),
    queryCostLimit({ maxCost: limits.maxCost, defaultPageSize: DEFAULT_PAGE_SIZE, maxPageSize: MAX_PAGE_SIZE, listFactor: 10 }),
  ];
  if (config.nodeEnv === 'production') plugins.push(blockFieldSuggestionsPlugin());
  if (!limits.introspection) plugins.push(disableIntrospection());

  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: limits.introspection
      ? {
          title: SERVICE_NAME,
          headers: JSON.stringify({ Authorization: 'Bearer <token: npm run token -- --admin>' }, null, 2),
          defaultQuery: DEFAULT_QUERY,
        }
      : false,
    // GraphiQL from this package, not from unpkg.com: the page works offline and behind egress-restricted networks.
    renderGraphiQL,
    landingPage: false,
    logging: false,
    batching: false,
    // The body limit is ours (handleGraphQL answers 413 past GRAPHQL_MAX_BODY_BYTES, at most 10 MB, before Yoga
    // sees the request); Yoga's own 25 MB check would only re-stream the body we already hold through a counter.
    maxRequestBodySize: false,
    maskedErrors: {
      // Our own GraphQLErrors (auth, input, limits) reach the client; anything else is logged and masked.
      maskError: (error, message) => {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (original && !(original instanceof GraphQLError)) logger.error({ err: original }, 'internal error while executing GraphQL');
        return maskError(error, message, false);
      },
    },
    context: async (initial): Promise<GraphQLContext> => {
      const viewer = 'socketViewer' in initial ? socketViewer(initial as unknown as SocketContext, config) : await authenticator.authenticate(initial.request.headers.get('authorization'));
      return { config, prisma: deps.prisma, pool: deps.pool, viewer, events: hub, loaders: createLoaders(deps.prisma, viewer) };
    },
    plugins,
  });
}

/** A WebSocket connection authenticates once; each operation still refuses a token that has expired since. */
function socketViewer(initial: SocketContext, config: Config): Viewer | null {
  const viewer = initial.socketViewer;
  if (viewer?.expiresAt != null && viewer.expiresAt + config.jwt.clockToleranceSeconds * 1000 < Date.now()) {
    throw new AuthError('Invalid token: token expired (reconnect with a fresh token)', 'UNAUTHENTICATED');
  }
  return viewer;
}

/** graphql-ws on the same port and path, through Yoga's envelop: the same schema, context, limits and masking. */
function attachWebSocket(wss: WebSocketServer, yoga: YogaServerInstance<ServerContext, GraphQLContext>, authenticator: Authenticator, config: Config) {
  type RootValue = { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
  return useServer<Record<string, unknown>, { viewer: Viewer | null }>(
    {
      isProd: config.nodeEnv === 'production',
      execute: (args) => (args.rootValue as RootValue).execute(args) as never,
      subscribe: (args) => (args.rootValue as RootValue).subscribe(args) as never,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = params.authorization ?? params.Authorization ?? ctx.extra.request.headers.authorization;
        try {
          ctx.extra.viewer = await authenticator.authenticate(typeof header === 'string' ? header : undefined);
          return true;
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          // 4401 with the reason, so a client can tell a bad token from other failures (close reasons are ≤ 123 bytes).
          ctx.extra.socket.close(4401, `Unauthorized: ${error.message}`.slice(0, 120));
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const initial: SocketContext & Record<string, unknown> = { socketViewer: ctx.extra.viewer ?? null, params: payload };
        const { schema: envelopedSchema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(initial);
        try {
          const document = parse(payload.query);
          const errors = validate(envelopedSchema, document);
          if (errors.length > 0) return errors;
          const rootValue: RootValue = { execute, subscribe };
          return {
            schema: envelopedSchema,
            operationName: payload.operationName,
            document,
            variableValues: payload.variables,
            contextValue: await contextFactory(),
            rootValue,
          };
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
      },
    },
    wss,
  );
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

/** Reads the body with a ceiling (413 past it) before Yoga parses it; GET and HEAD carry none. */
async function handleGraphQL(yoga: YogaServerInstance<ServerContext, GraphQLContext>, req: http.IncomingMessage, res: http.ServerResponse, maxBytes: number): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const body = await readBody(req, maxBytes);
    if (body === 'too-large') {
      sendJson(res, 413, {
        errors: [{ message: `Request body is larger than ${maxBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
      }, { connection: 'close' });
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

function queryCostLimit(options: CostOptions): Plugin<object> {
  const rule = costLimitRule(options);
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}

function disableIntrospection(): Plugin<object> {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

const DEFAULT_QUERY = `# cloud-ops: set the Authorization header below (npm run token -- --admin prints a token).
query Resources {
  resources(first: 20, filter: { state: LIVE }) {
    totalCount
    edges { node { id kind name region status tags project { name tenantId } } }
    pageInfo { hasNextPage endCursor }
  }
}

subscription Progress {
  syncProgress { type task done total counts { listed created updated unchanged markedStale } message at }
}
`;

async function health(deps: HttpDependencies): Promise<{ status: number; body: unknown }> {
  const databaseReachable = await isReachable(deps.pool);
  return {
    status: databaseReachable ? 200 : 503,
    body: {
      service: SERVICE_NAME,
      version: SERVICE_VERSION,
      status: databaseReachable ? 'ok' : 'degraded',
      database: { reachable: databaseReachable },
      worker: { enabled: deps.config.worker.enabled, running: deps.workerRunning() },
    },
  };
}

/**
 * Counts the requests in flight on each socket, so that shutdown can stop accepting, close every socket with
 * nothing in flight at once (idle keep-alive ones, ones a client opened without sending anything yet, SSE ones
 * whose stream just ended), close the others as their last response ends, and cut what is left after graceMs.
 */
class ConnectionTracker {
  private readonly inFlight = new Map<Socket, number>();
  private closing = false;

  add(socket: Socket): void {
    this.inFlight.set(socket, 0);
    socket.once('close', () => this.inFlight.delete(socket));
  }

  request(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { socket } = req;
    this.inFlight.set(socket, (this.inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (this.inFlight.get(socket) ?? 1) - 1;
      if (!this.inFlight.has(socket)) return;
      this.inFlight.set(socket, left);
      if (this.closing && left === 0) socket.end();
    });
  }

  async close(server: http.Server, graceMs: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // end(), not destroy(): what was written (an SSE `complete`) still reaches the client.
    for (const [socket, count] of this.inFlight) if (count === 0) socket.end();
    const timer = setTimeout(() => {
      for (const socket of this.inFlight.keys()) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
