import type pg from 'pg';
import type { Viewer } from '../auth.js';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/client.js';
import type { EventHub } from './event-hub.js';
import type { Loaders } from './loaders.js';

/** Built once per GraphQL request (HTTP) or per subscribe message (WebSocket). */
export interface GraphQLContext {
  config: Config;
  prisma: PrismaClient;
  pool: pg.Pool;
  /** null: no token was sent (only public fields resolve). A bad token never gets this far. */
  viewer: Viewer | null;
  events: EventHub;
  loaders: Loaders;
}
