/**
 * The inventory sync engine: one run of an inventory task (a kind, sync-kind.ts; or projects, projects.ts) inside
 * the run lifecycle (run.ts), through the DigitalOcean client on the process's transport (one rate limiter per
 * token). It talks to the database only through `db.query` (a pg Pool or anything shaped like it, so a caller can
 * count its statements), retrying statements that lost a deadlock. It never throws for a failed sync: the failure
 * is recorded in the run row and returned.
 */
import { digitalOceanClientOn } from '../../digitalocean/client.js';
import type { Transport } from '../../digitalocean/transport.js';
import { INVENTORY_TASKS, type InventoryTaskName, type RunTrigger } from '../../domain/tasks.js';
import type { SyncEvent } from '../../events.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import { withRun, type RunEnvironment, type RunResult } from '../run.js';
import { kindSpec } from './kinds.js';
import { syncProjects, type FallbackOptions } from './projects.js';
import { retryingDeadlocks } from './retry.js';
import type { SqlClient } from './sql.js';
import { syncKind } from './sync-kind.js';

export type { SqlClient };
export type SyncRunResult = RunResult;

export interface SyncEngineOptions {
  db: SqlClient;
  /** cloud_accounts.id of the mirrored account. */
  accountId: string;
  /** The DigitalOcean transport; undefined when no token is configured (every run then fails, saying so). */
  transport: Transport | undefined;
  /** Where resources in no project go. */
  fallback?: FallbackOptions;
  logger?: Logger;
  /** Sees every event the engine publishes, in process (the CLI's progress display). */
  onEvent?: (event: SyncEvent) => void;
  /** The lease id of this process, written into each run's row (lease.ts). */
  owner?: string;
  /** Fetch the next page while the current one is written. Default true. */
  pipeline?: boolean;
}

export interface SyncRunOptions {
  trigger: RunTrigger;
  jobId?: string;
  signal?: AbortSignal;
}

export interface SyncEngine {
  /** Runs one inventory task. Records and returns failures. */
  run(task: InventoryTaskName, options: SyncRunOptions): Promise<SyncRunResult>;
}

export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { accountId, transport } = options;
  const log = options.logger ?? silentLogger;
  const db = retryingDeadlocks(options.db, log);
  const client = transport && digitalOceanClientOn(transport);
  const redact = (text: string): string => (transport ? transport.redact(text) : text);
  const env: RunEnvironment = { db, accountId, logger: log, redact, onEvent: options.onEvent, owner: options.owner };
  const pipeline = options.pipeline ?? true;

  return {
    run: async (task, runOptions) => {
      // The type says it, but a job payload or a script may not: refuse before anything is written.
      if (!(INVENTORY_TASKS as readonly string[]).includes(task)) {
        throw new Error(`unknown sync task "${task}" (known: ${INVENTORY_TASKS.join(', ')})`);
      }
      return withRun(env, { task, ...runOptions }, async (run) => {
        if (!client) throw new Error('DIGITALOCEAN_TOKEN is not set: nothing can be synced');
        const scope = { db, accountId, client, log, run, redact };
        if (task === 'projects') await syncProjects(scope, options.fallback);
        else await syncKind(scope, kindSpec(task), { pipeline });
      });
    },
  };
}
