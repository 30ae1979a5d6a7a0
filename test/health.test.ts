// Readiness as a pure rule, and the worker's restart backoff.
import { describe, expect, it } from 'vitest';
import { isReady } from '../src/http/health.js';
import { restartDelayMs } from '../src/worker-supervisor.js';

describe('readiness', () => {
  const up = { database: { reachable: true }, events: { connected: true }, worker: { enabled: true, running: true } };

  it('needs the database, the LISTEN connection when the process has one, and the worker when it should run one', () => {
    expect(isReady(up)).toBe(true);
    expect(isReady({ ...up, database: { reachable: false } })).toBe(false);
    expect(isReady({ ...up, events: { connected: false } })).toBe(false);
    expect(isReady({ ...up, worker: { enabled: true, running: false } })).toBe(false);
    expect(isReady({ ...up, worker: { enabled: false, running: false } })).toBe(true);
    expect(isReady({ database: { reachable: true }, worker: { enabled: true, running: true } })).toBe(true);
  });
});

describe('worker restart backoff', () => {
  it('doubles from half a second and stays at 5 s', () => {
    expect([1, 2, 3, 4, 5, 20].map(restartDelayMs)).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });
});
