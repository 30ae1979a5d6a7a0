import type pg from 'pg';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/client.js';

/** What every task needs; built once per process and closed over by the task list. */
export interface JobContext {
  config: Config;
  pool: pg.Pool;
  prisma: PrismaClient;
}
