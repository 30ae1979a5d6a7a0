// The in-process fan-out: filtering, conflation of superseded progress for a subscriber that is behind,
// expiry with the token, and shutdown.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { SyncEvent } from '../src/events.js';
import { EventHub } from '../src/schema/event-hub.js';

const at = new Date(0).toISOString();
const progress = (done: number, runId = 1, task = 'droplet'): SyncEvent => ({
  type: 'progress',
  task,
  runId,
  done,
  total: 100,
  at,
});

async function drain(iterator: AsyncIterator<SyncEvent, unknown>, count: number): Promise<SyncEvent[]> {
  const out: SyncEvent[] = [];
  for (let i = 0; i < count; i += 1) {
    const { value, done } = await iterator.next();
    if (done) break;
    out.push(value);
  }
  return out;
}

describe('EventHub', () => {
  it('delivers what the filter accepts, in order', async () => {
    const source = new EventEmitter();
    const hub = new EventHub(source);
    const droplets = hub.subscribe((e) => e.task === 'droplet');
    source.emit('event', { type: 'started', task: 'volume', at });
    source.emit('event', { type: 'started', task: 'droplet', runId: 1, at });
    source.emit('event', { type: 'finished', task: 'droplet', runId: 1, counts: { listed: 3 }, at });
    expect((await drain(droplets, 2)).map((e) => e.type)).toEqual(['started', 'finished']);
    hub.close();
  });

  it('replaces a waiting progress event by the newer one of the same run, and keeps every other event', async () => {
    const source = new EventEmitter();
    const hub = new EventHub(source);
    const sub = hub.subscribe(() => true);
    source.emit('event', { type: 'started', task: 'droplet', runId: 1, at });
    for (let done = 1; done <= 5; done += 1) source.emit('event', progress(done));
    source.emit('event', progress(7, 2)); // another run: kept
    source.emit('event', progress(1, 1, 'volume')); // another task: kept
    source.emit('event', progress(6));
    source.emit('event', { type: 'finished', task: 'droplet', runId: 1, at });
    const events = await drain(sub, 6);
    expect(events.map((e) => [e.type, e.task, e.runId, e.done])).toEqual([
      ['started', 'droplet', 1, undefined],
      ['progress', 'droplet', 1, 5],
      ['progress', 'droplet', 2, 7],
      ['progress', 'volume', 1, 1],
      ['progress', 'droplet', 1, 6],
      ['finished', 'droplet', 1, undefined],
    ]);
    hub.close();
  });

  it('hands an event straight to a reader that is waiting', async () => {
    const source = new EventEmitter();
    const hub = new EventHub(source);
    const sub = hub.subscribe(() => true);
    const pending = sub.next();
    source.emit('event', progress(1));
    source.emit('event', progress(2));
    expect((await pending).value).toMatchObject({ done: 1 });
    expect((await sub.next()).value).toMatchObject({ done: 2 });
    hub.close();
  });

  it('ends a subscription when its token expires, when the client leaves, and on close', async () => {
    const source = new EventEmitter();
    const hub = new EventHub(source);
    const expiring = hub.subscribe(() => true, Date.now() + 30);
    const leaving = hub.subscribe(() => true);
    const staying = hub.subscribe(() => true, Date.now() + 40 * 86_400_000); // beyond setTimeout's range
    expect(hub.size).toBe(3);
    expect(await expiring.next()).toEqual({ value: undefined, done: true });
    await leaving.return!();
    expect(hub.size).toBe(1);
    const waiting = staying.next();
    hub.close();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(hub.size).toBe(0);
    expect(source.listenerCount('event')).toBe(0);
  });
});
