import type pg from 'pg';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/client.js';

export interface GraphQLContext {
  config: Config;
  prisma: PrismaClient;
  pool: pg.Pool;
}
