/**
 * The process's lease: what other processes use to tell that this one is alive, and that dies with it. One
 * dedicated connection (not the pool's) holds session advisory locks:
 * - one per id the process answers for: its owner id (written into the sync_runs rows it opens) and the id of its
 *   graphile-worker pool (written into the jobs and queues it locks). Postgres drops them the moment the connection
 *   ends, so after SIGKILL, a crash or a lost machine's connection timing out, `ownerAliveSql` says false and the
 *   sweeper (sweeper.ts) frees what the process held;
 * - one per task running here (`tryLockRun`): a run of a task never starts while another process runs it, from
 *   whichever entry point (a queued job, `npm run sync`).
 * When the connection drops while the process lives (a database restart), it reconnects and takes its locks again.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger.js';

// The first key of every advisory lock taken here (the two-key form), so they never meet another module's.
const OWNER_LOCK_CLASS = 0x0c1d_0001;
const RUN_LOCK_CLASS = 0x0c1d_0002;
const RECONNECT_MS = 2000;

/** The error of a run closed because its owner's lease is gone. */
export const ABANDONED_ERROR = 'abandoned: the process running it stopped before it finished';

/** A SQL condition: the id that the text expression `id` evaluates to is held by a live lease on this database. */
export function ownerAliveSql(id: string): string {
  return `EXISTS (SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = ${OWNER_LOCK_CLASS}
      AND l.objid = hashtext(${id})::oid
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;
}

/** A fresh owner id for a process: what it is, and a random part (ids are never reused). */
export function newOwnerId(kind: 'worker' | 'cli'): string {
  return `${kind}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

export interface Lease {
  /** The id this process writes into sync_runs.owner. */
  readonly owner: string;
  /** Answers for `id` too (a graphile-worker pool id), until the lease ends. */
  hold(id: string): Promise<void>;
  /**
   * Takes the run lock named `key` for this process; false when another process (or this one) already holds it.
   * Throws while the lease's connection is down.
   */
  tryLockRun(key: string): Promise<boolean>;
  unlockRun(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens a lease on a connection of its own, configured as `pool`'s connections are. */
export async function openLease(pool: pg.Pool, options: { owner: string; logger: Logger }): Promise<Lease> {
  const { owner, logger } = options;
  const log = logger.child({ component: 'lease', owner });
  const ids = new Set([owner]);
  const runs = new Set<string>();
  const holding = new Map<string, Promise<void>>();
  let client: pg.Client | undefined;
  let closed = false;
  let reconnecting: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ ...pool.options, application_name: 'cloud-ops lease', keepAlive: true });
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next, new Error('connection ended')));
    await next.connect();
    try {
      for (const id of ids) await next.query('SELECT pg_advisory_lock($1, hashtext($2))', [OWNER_LOCK_CLASS, id]);
      for (const key of runs) {
        const { rows } = await next.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [
          RUN_LOCK_CLASS,
          key,
        ]);
        if (!rows[0]?.ok) log.warn({ run: key }, 'a run lock was taken by another process while the lease was down');
      }
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    client = next;
  };

  const lost = (which: pg.Client, error: Error): void => {
    if (client !== which || closed) return;
    client = undefined;
    log.warn({ err: error.message }, 'the lease connection was lost; reconnecting');
    scheduleReconnect();
  };

  const scheduleReconnect = (): void => {
    if (closed || reconnecting) return;
    reconnecting = setTimeout(() => {
      reconnecting = undefined;
      connect().then(
        () => log.info('the lease connection is back'),
        () => scheduleReconnect(),
      );
    }, RECONNECT_MS);
  };

  const connected = (): pg.Client => {
    if (!client) throw new Error('the lease connection is down (the database is unreachable)');
    return client;
  };

  await connect();
  return {
    owner,
    hold(id) {
      // Every worker of a pool asks for the pool's id: they all wait for the one lock.
      let held = holding.get(id);
      if (!held) {
        ids.add(id);
        held = (async () => {
          await connected().query('SELECT pg_advisory_lock($1, hashtext($2))', [OWNER_LOCK_CLASS, id]);
        })();
        holding.set(id, held);
      }
      return held;
    },
    async tryLockRun(key) {
      // Session locks are re-entrant: without this, a second run in this process would be let through.
      if (runs.has(key)) return false;
      const { rows } = await connected().query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [
        RUN_LOCK_CLASS,
        key,
      ]);
      if (!rows[0]?.ok) return false;
      runs.add(key);
      return true;
    },
    async unlockRun(key) {
      if (!runs.delete(key)) return;
      await client?.query('SELECT pg_advisory_unlock($1, hashtext($2))', [RUN_LOCK_CLASS, key]);
    },
    async close() {
      closed = true;
      clearTimeout(reconnecting);
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    },
  };
}

const WAIT_POLL_MS = 1000;

/**
 * Runs `body` holding the run lock `key`. Busy (another process runs it): `{ ran: false }` at once, or, with
 * `wait`, once the lock is free (polled, so that `wait.signal` can stop the wait; then `{ ran: false }`).
 */
export async function withRunLock<T>(
  lease: Lease,
  key: string,
  options: { wait?: { signal?: AbortSignal | undefined; onWait?: () => void } },
  body: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  const { wait } = options;
  let waited = false;
  while (!(await lease.tryLockRun(key))) {
    if (!wait || wait.signal?.aborted) return { ran: false };
    if (!waited) wait.onWait?.();
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    if (wait.signal?.aborted) return { ran: false };
  }
  try {
    return { ran: true, value: await body() };
  } finally {
    await lease.unlockRun(key).catch(() => undefined);
  }
}
