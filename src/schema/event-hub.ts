// Fans the process's one LISTEN connection (src/events.ts) out to every live subscription in this process.
import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { SyncEvent } from '../events.js';

/** Where events come from: the EventListener (or anything emitting 'event'). */
export interface EventSource {
  on(event: 'event', listener: (event: SyncEvent) => void): unknown;
  off(event: 'event', listener: (event: SyncEvent) => void): unknown;
}

interface Subscriber {
  accept: (event: SyncEvent) => boolean;
  push: (event: SyncEvent) => void;
  stop: () => void;
}

/** Events a client has not read yet are kept up to this many per subscription; the oldest are dropped after. */
const BUFFER_PER_SUBSCRIPTION = 1000;

/** setTimeout's ceiling (about 24.8 days); a later expiry needs no timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly onEvent = (event: SyncEvent): void => {
    for (const subscriber of this.subscribers) if (subscriber.accept(event)) subscriber.push(event);
  };

  constructor(private readonly source: EventSource) {
    source.on('event', this.onEvent);
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Events that pass `accept`, until the client leaves, `until` (ms since epoch) passes, or the hub closes. */
  subscribe(accept: (event: SyncEvent) => boolean, until: number | null = null): AsyncIterableIterator<SyncEvent> {
    return new Repeater<SyncEvent>(async (push, stop) => {
      const subscriber: Subscriber = { accept, push: (event) => void push(event), stop: () => stop() };
      this.subscribers.add(subscriber);
      // A subscription ends when the token that opened it expires; the client reconnects with a fresh one.
      const remaining = until === null ? Infinity : Math.max(0, until - Date.now());
      const timer = remaining <= MAX_TIMER_MS ? setTimeout(() => stop(), remaining) : undefined;
      await stop;
      clearTimeout(timer);
      this.subscribers.delete(subscriber);
    }, new SlidingBuffer(BUFFER_PER_SUBSCRIPTION));
  }

  /** Ends every subscription (shutdown): SSE responses finish and WebSocket subscriptions complete. */
  close(): void {
    this.source.off('event', this.onEvent);
    for (const subscriber of this.subscribers) subscriber.stop();
    this.subscribers.clear();
  }
}
