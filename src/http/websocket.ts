// graphql-ws on the HTTP server's port and /graphql path, through Yoga's envelop: the same schema, context,
// limits and masking as HTTP. A connection authenticates once, at connection_init.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { AuthError, type Authenticator, type Viewer } from '../auth.js';
import type { Config } from '../config.js';
import { GRAPHQL_PATH, type GraphQLHandler, type SocketContext } from './graphql.js';

export interface WebSocketBridge {
  /** For the HTTP server's 'upgrade' event: /graphql becomes a graphql-ws connection, anything else a 400. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every connection (clients get 1001) and stops accepting. */
  dispose(): Promise<void>;
}

export function createWebSocketBridge(options: {
  yoga: GraphQLHandler;
  authenticator: Authenticator;
  config: Config;
}): WebSocketBridge {
  const { yoga, authenticator, config } = options;
  // Upgrades are routed by the HTTP server rather than by `ws` itself (its `server` option), which would also
  // re-emit the HTTP server's own errors (a port in use) as WebSocket errors, printed with a stack before our
  // one-line message.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.graphql.maxBodyBytes });
  type RootValue = { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
  const server = useServer<Record<string, unknown>, { viewer: Viewer | null }>(
    {
      isProd: config.nodeEnv === 'production',
      // A socket that never completes its connection_init is closed (4408) instead of being held forever.
      connectionInitWaitTimeout: config.graphql.wsInitTimeoutMs,
      execute: (args) => (args.rootValue as RootValue).execute(args) as never,
      subscribe: (args) => (args.rootValue as RootValue).subscribe(args) as never,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = params.authorization ?? params.Authorization ?? ctx.extra.request.headers.authorization;
        try {
          ctx.extra.viewer = await authenticator.authenticate(typeof header === 'string' ? header : undefined);
          // Everything a socket can carry but serviceVersion needs a viewer: an anonymous socket is not held open.
          if (ctx.extra.viewer) return true;
          ctx.extra.socket.close(4401, 'Unauthorized: authentication required (connectionParams.authorization)');
          return false;
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          // 4401 with the reason, so a client can tell a bad token from other failures (close reasons are ≤ 123 bytes).
          ctx.extra.socket.close(4401, `Unauthorized: ${error.message}`.slice(0, 120));
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const initial: SocketContext & Record<string, unknown> = {
          socketViewer: ctx.extra.viewer ?? null,
          params: payload,
        };
        const enveloped = yoga.getEnveloped(initial);
        const { execute, subscribe, contextFactory, parse, validate } = enveloped;
        // envelop types the schema and the parse/validate results loosely (plugins may swap them); they are graphql-js's.
        const envelopedSchema = enveloped.schema as GraphQLSchema;
        try {
          const document = parse(payload.query) as DocumentNode;
          const errors = validate(envelopedSchema, document) as readonly GraphQLError[];
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

  return {
    upgrade(req, socket, head) {
      if ((req.url ?? '/').split('?')[0] !== GRAPHQL_PATH) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    dispose: () => server.dispose() as Promise<void>,
  };
}
