// Progress events travel through Postgres NOTIFY on one channel, so a subscriber in any process
// (the API server) sees what a job in any other process (a scaled-out worker) publishes.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { silentLogger, type Logger } from './logger.js';

export const EVENTS_CHANNEL = 'cloud_ops_events';

/**
 * A run's lifecycle (started, progress, finished, failed: each follows a commit of the run's writes), `ping` (a
 * diagnostic, changes nothing), and `changed`: a GraphQL mutation committed (task: `mutation`, message: its
 * fields), so that every process drops what it cached from before.
 */
export type SyncEventType = 'started' | 'progress' | 'finished' | 'failed' | 'ping' | 'changed';

export interface SyncEvent {
  type: SyncEventType;
  task: string;
  runId?: number | null;
  /** progress: items done and the total when the API told it */
  done?: number;
  total?: number | null;
  page?: number;
  /** finished: the run's counts */
  counts?: Record<string, number>;
  /** failed: a message safe to show (no secrets) */
  message?: string;
  at: string;
}

/** Whether an event follows a commit that may have changed what the API reads (everything but `ping`). */
export function changesData(event: Pick<SyncEvent, 'type'>): boolean {
  return event.type !== 'ping';
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** NOTIFY payloads are capped at 8000 bytes; events are small by construction. */
export async function publishEvent(db: Queryable, event: Omit<SyncEvent, 'at'> & { at?: string }): Promise<void> {
  const payload = JSON.stringify({ ...event, at: event.at ?? new Date().toISOString() });
  await db.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, payload]);
}

/**
 * A dedicated LISTEN connection (a pooled one would lose the LISTEN) that reconnects after a drop,
 * with a bounded backoff, and re-emits every event to in-process subscribers.
 */
export class EventListener extends EventEmitter<{ event: [SyncEvent]; connected: []; disconnected: [] }> {
  private client: pg.Client | undefined;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;

  /** `logger`: where malformed payloads and reconnects are reported (tests and benches may leave it out). */
  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger = silentLogger,
  ) {
    super();
    this.setMaxListeners(0);
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    // A bounded connect and TCP keepalive: without them an attempt into a partitioned network, or a connection whose
    // peer vanished, hangs for good and the listener never comes back.
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: 'cloud-ops-events',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('notification', (message) => {
      if (message.channel !== EVENTS_CHANNEL || !message.payload) return;
      try {
        this.emit('event', JSON.parse(message.payload) as SyncEvent);
      } catch {
        this.logger.warn('ignored a malformed event payload');
      }
    });
    const onDrop = (): void => {
      if (this.client !== client) return;
      this.client = undefined;
      this.emit('disconnected');
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', onDrop);
    client.on('end', onDrop);
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      if (this.attempts === 0 && !this.reconnectTimer) throw error;
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempts = 0;
    this.emit('connected');
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.attempts += 1;
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.attempts, 6));
    this.logger.warn({ attempt: this.attempts, delayMs: delay }, 'event listener disconnected; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect().catch(() => this.scheduleReconnect());
    }, delay);
  }
}
