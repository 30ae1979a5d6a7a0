// Fans the process's one LISTEN connection (src/events.ts) out to every live subscription in this process,
// at most maxPerViewer live subscriptions per viewer (token subject).
import { GraphQLError } from 'graphql';
import type { SyncEvent } from '../events.js';
import { subscriptionEvents } from '../metrics.js';

/** Where events come from: the EventListener (or anything emitting 'event'). */
export interface EventSource {
  on(event: 'event', listener: (event: SyncEvent) => void): unknown;
  off(event: 'event', listener: (event: SyncEvent) => void): unknown;
}

/** Events a client has not read yet are kept up to this many per subscription; the oldest are dropped after. */
const MAX_QUEUED = 1000;
/** setTimeout's ceiling (about 24.8 days); a later expiry needs no timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One subscription's queue, read by GraphQL execution as an async iterator. A progress event that supersedes
 * the one still waiting in the queue (same task, same run) replaces it: a client that falls behind (a burst of
 * pages, a slow connection) gets the latest done/total rather than a backlog; started, finished and failed
 * events are never dropped. This is what keeps a burst cheap with a thousand subscribers: each delivery costs
 * an execution and a write per subscriber.
 */
class Subscription implements AsyncIterableIterator<SyncEvent> {
  private readonly queue: SyncEvent[] = [];
  private waiting: ((result: IteratorResult<SyncEvent>) => void) | undefined;
  private finished = false;

  constructor(
    readonly accept: (event: SyncEvent) => boolean,
    private readonly onEnd: (subscription: Subscription) => void,
  ) {}

  push(event: SyncEvent): void {
    if (this.finished) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      subscriptionEvents.inc({ result: 'delivered' });
      resolve({ value: event, done: false });
      return;
    }
    const last = this.queue[this.queue.length - 1];
    if (
      last &&
      event.type === 'progress' &&
      last.type === 'progress' &&
      last.task === event.task &&
      last.runId === event.runId
    ) {
      this.queue[this.queue.length - 1] = event;
      subscriptionEvents.inc({ result: 'coalesced' });
      return;
    }
    this.queue.push(event);
    if (this.queue.length > MAX_QUEUED) {
      this.queue.shift();
      subscriptionEvents.inc({ result: 'dropped' });
    }
  }

  next(): Promise<IteratorResult<SyncEvent>> {
    const value = this.queue.shift();
    if (value) {
      subscriptionEvents.inc({ result: 'delivered' });
      return Promise.resolve({ value, done: false });
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<SyncEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Ends the stream (after what is queued has been read). */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.onEnd(this);
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SyncEvent> {
    return this;
  }
}

export class EventHub {
  private readonly subscriptions = new Set<Subscription>();
  private readonly perViewer = new Map<string, number>();
  private readonly onEvent = (event: SyncEvent): void => {
    for (const subscription of this.subscriptions) if (subscription.accept(event)) subscription.push(event);
  };

  constructor(
    private readonly source: EventSource,
    private readonly maxPerViewer = Infinity,
  ) {
    source.on('event', this.onEvent);
  }

  get size(): number {
    return this.subscriptions.size;
  }

  /**
   * Events that pass `accept`, until the client leaves, `until` (ms since epoch) passes, or the hub closes.
   * `viewer` (the token subject) may hold maxPerViewer subscriptions at once; one more is refused.
   */
  subscribe(
    accept: (event: SyncEvent) => boolean,
    until: number | null = null,
    viewer?: string,
  ): AsyncIterableIterator<SyncEvent> {
    const held = viewer === undefined ? 0 : (this.perViewer.get(viewer) ?? 0);
    if (viewer !== undefined && held >= this.maxPerViewer) {
      throw new GraphQLError(
        `Too many subscriptions: at most ${this.maxPerViewer} at once per viewer (end one before opening another)`,
        { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', maxSubscriptions: this.maxPerViewer } },
      );
    }
    if (viewer !== undefined) this.perViewer.set(viewer, held + 1);
    // A subscription ends when the token that opened it expires; the client reconnects with a fresh one.
    const remaining = until === null ? Infinity : Math.max(0, until - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const subscription = new Subscription(accept, (ended) => {
      clearTimeout(timer);
      this.subscriptions.delete(ended);
      if (viewer === undefined) return;
      const left = (this.perViewer.get(viewer) ?? 1) - 1;
      if (left > 0) this.perViewer.set(viewer, left);
      else this.perViewer.delete(viewer);
    });
    this.subscriptions.add(subscription);
    if (remaining <= MAX_TIMER_MS) timer = setTimeout(() => subscription.end(), remaining);
    return subscription;
  }

  /** Ends every subscription (shutdown): SSE responses finish and WebSocket subscriptions complete. */
  close(): void {
    this.source.off('event', this.onEvent);
    for (const subscription of [...this.subscriptions]) subscription.end();
  }
}
