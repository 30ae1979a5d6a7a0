// Jobs scale out: a job enqueued by one process runs in another (`npm run worker`), against the same database.
import { quickAddJob } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventListener, type SyncEvent } from '../src/events.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { spawnEntry, type ServiceProcess } from './helpers/process.js';

describe('worker process', () => {
  let db: TestDatabase;
  let worker: ServiceProcess;
  let listener: EventListener;

  beforeAll(async () => {
    db = await createTestDatabase();
    listener = new EventListener(db.url);
    await listener.start();
    worker = spawnEntry('src/worker.ts', { DATABASE_URL: db.url });
    await worker.waitForOutput(/Worker connected and looking for jobs|worker.*ready|looking for jobs/i);
  });

  afterAll(async () => {
    await worker?.stop();
    await listener?.stop();
    await db?.drop();
  });

  it('runs a job that this process enqueued', async () => {
    const id = `job-${Date.now()}`;
    const received = new Promise<SyncEvent>((resolve) => {
      listener.on('event', (event) => {
        if (event.type === 'ping' && event.message?.startsWith(id)) resolve(event);
      });
    });
    await quickAddJob({ connectionString: db.url }, 'ping', { id });
    const event = await received;
    const [, pid] = event.message!.split(' ');
    expect(Number(pid)).toBe(worker.child.pid);
    expect(Number(pid)).not.toBe(process.pid);
  });

  it('stops gracefully on SIGTERM', async () => {
    expect(await worker.stop('SIGTERM')).toBe(0);
  });
});
