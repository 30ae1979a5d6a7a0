// The response cache: answers to GraphQL queries kept in memory per process, keyed by the viewer's scope (admin,
// one tenant, no tenant, anonymous) with the document, operation name and variables, and dropped whole by any
// event that follows a commit (a run's started/progress/finished/failed, a mutation's `changed`), which every
// process receives over its LISTEN connection. Dropping everything is the right grain here: writes are rare
// next to dashboard polls, and a sync changes many entities at once, so tracking which answers one write
// touched would cost more than it saves. Mutations and subscriptions are never cached.
import { getOperationAST, OperationTypeNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { createInMemoryCache, hashSHA256, useResponseCache, type Cache } from '@graphql-yoga/plugin-response-cache';
import type { Authenticator, Viewer } from '../auth.js';
import type { Config } from '../config.js';
import { changesData, type SyncEvent } from '../events.js';
import type { Logger } from '../logger.js';

/** What the cache listens to: the process's EventListener (src/events.ts). */
export interface ChangeEvents {
  readonly connected: boolean;
  on(event: 'event', listener: (event: SyncEvent) => void): unknown;
  on(event: 'connected' | 'disconnected', listener: () => void): unknown;
}

/** hit: answered from the cache; miss: executed (and cached when it can be); bypass: the cache was not consulted. */
export type CacheOutcome = 'hit' | 'miss' | 'bypass';

export interface ResponseCacheOptions {
  config: Config['responseCache'];
  /** The request's viewer, shared with the context factory so a token is verified (and a failure logged) once. */
  viewerOf: (request: Request) => Promise<Viewer | null>;
  events: ChangeEvents;
  /** Tells every process (this one included) that a mutation committed. */
  publishChange: (mutationFields: string[]) => Promise<void>;
  logger: Logger;
  /** Called once per HTTP query (metrics). */
  onOutcome?: ((outcome: CacheOutcome) => void) | undefined;
}

/**
 * The part of a viewer that decides what it may read (src/domain/visibility.ts): admins see everything, anyone
 * else one tenant's rows, or none. JSON, so that no tenant id can spell another scope.
 */
export function viewerScope(viewer: Viewer | null): string {
  if (viewer === null) return JSON.stringify(['anonymous']);
  if (viewer.admin) return JSON.stringify(['admin']);
  return viewer.tenantId ? JSON.stringify(['tenant', viewer.tenantId]) : JSON.stringify(['no-tenant']);
}

/** Memoizes the viewer per request (a failed authentication is a rejected promise, seen by both callers). */
export function requestViewers(authenticator: Authenticator): (request: Request) => Promise<Viewer | null> {
  const viewers = new WeakMap<Request, Promise<Viewer | null>>();
  return (request) => {
    let viewer = viewers.get(request);
    if (!viewer) {
      viewer = authenticator.authenticate(request.headers.get('authorization'));
      viewers.set(request, viewer);
    }
    return viewer;
  };
}

/** What a request established before execution: whether the cache may answer it, and the cache's generation. */
interface RequestState {
  cacheable: boolean;
  generation: number;
}

/**
 * The cache as Yoga plugins, and `clear` (also called by every change event). The cache is consulted only while
 * the LISTEN connection is up: while it is down, change events may be missed, so nothing is served or stored,
 * and the cache is cleared when it drops and again when it comes back. An answer computed across a change (its
 * execution began before the change event) is not stored.
 */
export function createResponseCache(options: ResponseCacheOptions): { plugins: Array<Plugin<object>>; clear(): void } {
  const { config, events, logger } = options;
  let generation = 0;
  let store: Cache = createInMemoryCache({ max: config.maxEntries });
  const requests = new WeakMap<Request, RequestState>();

  const clear = (): void => {
    generation += 1;
    store = createInMemoryCache({ max: config.maxEntries });
  };
  events.on('event', (event) => {
    if (changesData(event)) clear();
  });
  events.on('disconnected', clear);
  events.on('connected', clear);

  // Delegates to the current store, so that clearing is swapping in an empty one.
  const cache: Cache = {
    get: (key) => store.get(key),
    set: (key, value, entities, ttl) => store.set(key, value, entities, ttl),
    invalidate: (entities) => store.invalidate(entities),
  };

  const usable = (request: Request | undefined): boolean => {
    const state = request && requests.get(request);
    return state !== undefined && state.cacheable && events.connected;
  };

  const responseCache = useResponseCache<{ request?: Request }>({
    cache,
    ttl: config.ttlMs,
    // Runs before the context is built (a hit skips execution): the viewer is authenticated here. A request whose
    // token fails is never answered from the cache; execution then refuses it as usual.
    session: async (request) => {
      try {
        const scope = viewerScope(await options.viewerOf(request));
        requests.set(request, { cacheable: true, generation });
        return scope;
      } catch {
        requests.set(request, { cacheable: false, generation });
        return null;
      }
    },
    // Unset (the WebSocket bridge, or before `session` ran: the If-None-Match shortcut): not cached.
    enabled: (request) => usable(request),
    // One unambiguous string of every part (the default joins them with a separator the parts may contain).
    buildResponseCacheKey: ({ documentString, operationName, variableValues, sessionId }) =>
      hashSHA256(JSON.stringify([sessionId ?? null, documentString, operationName ?? null, variableValues ?? {}])),
    onTtl: ({ ttl, context }) => {
      const request = (context as { request?: Request }).request;
      const state = request && requests.get(request);
      return state && state.generation === generation ? ttl : 0;
    },
    includeExtensionMetadata: false,
  });

  const changes: Plugin<object> = {
    onExecute(params) {
      const args = params.args as ExecutionArgs;
      const request = (args.contextValue as { request?: Request }).request;
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      if (operation === OperationTypeNode.QUERY && request && requests.has(request))
        options.onOutcome?.(usable(request) ? 'miss' : 'bypass');
      if (operation !== OperationTypeNode.MUTATION) return;
      return {
        // After the mutation's writes committed: this process drops its answers before the response leaves, and
        // the event tells every other process. A mutation that changed nothing (every field failed) tells no one.
        async onExecuteDone({ result }) {
          const data = (result as ExecutionResult).data;
          const changed = Object.entries(data ?? {})
            .filter(([, value]) => value !== null)
            .map(([field]) => field);
          if (changed.length === 0) return;
          clear();
          await options.publishChange(changed).catch((error: unknown) => {
            logger.warn(
              { err: error },
              'could not publish a change event; other processes serve cached answers up to the TTL',
            );
          });
        },
      };
    },
    onResultProcess({ result }) {
      if (!Array.isArray(result) && (result as Record<symbol, unknown>)[Symbol.for('servedFromResponseCache')])
        options.onOutcome?.('hit');
    },
  };

  return { plugins: [changes, responseCache], clear };
}
