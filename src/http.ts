// The HTTP surface: GraphQL (Yoga, GraphiQL) at /graphql and the public health route.
import http from 'node:http';
import { createYoga } from 'graphql-yoga';
import type pg from 'pg';
import type { Config } from './config.js';
import type { PrismaClient } from './db/client.js';
import { isReachable } from './db/client.js';
import { schema } from './schema/index.js';
import type { GraphQLContext } from './schema/context.js';
import { SERVICE_NAME, SERVICE_VERSION } from './version.js';

export interface HttpDependencies {
  config: Config;
  pool: pg.Pool;
  prisma: PrismaClient;
  workerRunning: () => boolean;
}

export function createHttpServer(deps: HttpDependencies): http.Server {
  const yoga = createYoga<{ req: http.IncomingMessage; res: http.ServerResponse }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: { title: 'cloud-ops' },
    landingPage: false,
    logging: false,
    context: () => ({ config: deps.config, prisma: deps.prisma, pool: deps.pool }),
  });

  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      void health(deps).then(({ status, body }) => sendJson(res, status, body));
      return;
    }
    if (path === '/graphql' || path?.startsWith('/graphql/')) {
      void yoga.handle(req, res);
      return;
    }
    sendJson(res, 404, { error: 'not_found', message: `No route for ${req.method} ${path}` });
  });
}

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

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
