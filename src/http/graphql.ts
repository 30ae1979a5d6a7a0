// The Yoga handler behind /graphql (queries, mutations, SSE subscriptions, GraphiQL; the WebSocket bridge
// executes through it too): the schema with its limits (tokens, depth, aliases, query cost, CSRF), error
// masking, and the per-request context.
import type http from 'node:http';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError, Kind, NoSchemaIntrospectionCustomRule, visit, type ValidationRule } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type pg from 'pg';
import { AuthError, type Authenticator, type Viewer } from '../auth.js';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/client.js';
import type { Logger } from '../logger.js';
import { badInput, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../schema/builder.js';
import { cursorProblem } from '../schema/connection.js';
import type { GraphQLContext } from '../schema/context.js';
import { costLimitRule } from '../schema/cost-limit.js';
import { fromDomainError } from '../schema/errors.js';
import type { EventHub } from '../schema/event-hub.js';
import { schema } from '../schema/index.js';
import { createLoaders } from '../schema/loaders.js';
import { SERVICE_NAME } from '../version.js';
import { publishEvent } from '../events.js';
import { responseCacheRequests } from '../metrics.js';
import { observabilityPlugin } from './graphql-observability.js';
import { createResponseCache, requestViewers, type CacheOutcome, type ChangeEvents } from './response-cache.js';

export const GRAPHQL_PATH = '/graphql';

export interface ServerContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

/** What the WebSocket handshake established, handed to the context factory instead of a request header. */
export interface SocketContext {
  socketViewer: Viewer | null;
}

export type GraphQLHandler = YogaServerInstance<ServerContext, GraphQLContext>;

export interface GraphQLOptions {
  config: Config;
  pool: pg.Pool;
  prisma: PrismaClient;
  authenticator: Authenticator;
  hub: EventHub;
  logger: Logger;
  /** The LISTEN connection's events: the response cache is cleared by them (without it, no response cache). */
  events?: ChangeEvents | undefined;
  /** Each HTTP query's response cache outcome (metrics). */
  onCacheOutcome?: ((outcome: CacheOutcome) => void) | undefined;
}

export function createGraphQLHandler(options: GraphQLOptions): GraphQLHandler {
  const { config, authenticator, logger } = options;
  const limits = config.graphql;
  const plugins: Array<Plugin<object>> = [
    // Browsers may not send a "simple" (preflight-free) request: JSON content type or this header is required.
    useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }),
    maxTokensPlugin({ n: limits.maxTokens }),
    maxDepthPlugin({ n: limits.maxDepth, flattenFragments: true }),
    maxAliasesPlugin({ n: limits.maxAliases }),
    checkCursors(),
    validationRule(
      costLimitRule({
        maxCost: limits.maxCost,
        defaultPageSize: DEFAULT_PAGE_SIZE,
        maxPageSize: MAX_PAGE_SIZE,
        listFactor: 10,
      }),
    ),
  ];
  // First, so that its timing and span cover the others' work; absent when neither metrics nor tracing is on.
  if (config.metrics.enabled || config.tracing.enabled) plugins.unshift(observabilityPlugin());
  if (config.nodeEnv === 'production') plugins.push(blockFieldSuggestionsPlugin());
  if (!limits.introspection) plugins.push(validationRule(NoSchemaIntrospectionCustomRule));
  const viewerOf = requestViewers(authenticator);
  if (config.responseCache.enabled && options.events) {
    const cache = createResponseCache({
      config: config.responseCache,
      viewerOf,
      events: options.events,
      publishChange: (fields) =>
        publishEvent(options.pool, { type: 'changed', task: 'mutation', message: fields.join(',').slice(0, 500) }),
      logger,
      onOutcome: (outcome) => {
        responseCacheRequests.inc({ result: outcome });
        options.onCacheOutcome?.(outcome);
      },
    });
    plugins.push(...cache.plugins);
  }

  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: limits.graphiql
      ? {
          title: SERVICE_NAME,
          headers: JSON.stringify({ Authorization: 'Bearer <token: npm run token -- --admin>' }, null, 2),
          defaultQuery: DEFAULT_QUERY,
        }
      : false,
    // GraphiQL from this package, not from unpkg.com: the page works offline and behind egress-restricted networks.
    // Loaded on the first page view: the module is 9 MB, and loading it at start doubles the cold start.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    landingPage: false,
    cors: corsOptions(config.http.corsOrigins),
    logging: false,
    batching: false,
    // The body limit is ours (handleGraphQL answers 413 past GRAPHQL_MAX_BODY_BYTES, at most 10 MB, before Yoga
    // sees the request); Yoga's own 25 MB check would only re-stream the body we already hold through a counter.
    maxRequestBodySize: false,
    maskedErrors: {
      // Our own GraphQLErrors (auth, input, limits) and domain errors reach the client; anything else is logged and masked.
      maskError: (error, message) => {
        const visible = fromDomainError(error);
        const original = visible instanceof GraphQLError ? visible.originalError : visible;
        if (original && !(original instanceof GraphQLError))
          logger.error({ err: original }, 'internal error while executing GraphQL');
        return maskError(visible, message, false);
      },
    },
    context: async (initial): Promise<GraphQLContext> => {
      const viewer =
        'socketViewer' in initial
          ? socketViewer(initial as unknown as SocketContext, config)
          : await viewerOf(initial.request);
      return {
        config,
        prisma: options.prisma,
        pool: options.pool,
        viewer,
        events: options.hub,
        loaders: createLoaders({ prisma: options.prisma, pool: options.pool, viewer }),
      };
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

/**
 * Cross-origin callers: only the configured origins (or any origin when configured so), and never with
 * credentials: the API reads a bearer token, no cookie, so a browser has nothing to send on a caller's behalf.
 * An origin not allowed gets no CORS headers at all, and the browser withholds the answer from its page.
 */
function corsOptions(origins: Config['http']['corsOrigins']) {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || (origins !== 'any' && !origins.includes(origin))) return false as const;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'accept', 'x-graphql-yoga-csrf'],
      maxAge: 600,
    };
  };
}

/**
 * Refuses a crafted `after`/`before` (every such argument of the schema is a connection cursor) as BAD_USER_INPUT
 * before execution, literal or variable, wherever it appears in the document.
 */
function checkCursors(): Plugin<object> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      let problem: GraphQLError | undefined;
      visit(args.document, {
        Argument(node) {
          if (problem || (node.name.value !== 'after' && node.name.value !== 'before')) return;
          const value =
            node.value.kind === Kind.STRING
              ? node.value.value
              : node.value.kind === Kind.VARIABLE
                ? variables[node.value.name.value]
                : undefined;
          const reason = typeof value === 'string' ? cursorProblem(value) : undefined;
          if (reason) problem = badInput(`${node.name.value} ${reason}`, node.name.value);
        },
      });
      if (problem) setResultAndStopExecution({ errors: [problem] });
    },
  };
}

function validationRule(rule: ValidationRule): Plugin<object> {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
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
