// The fresh-machine path: no DATABASE_URL, so the service starts its own PostgreSQL, reuses the data
// directory on the next start, and leaves no postgres process behind when stopped.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, isProcessAlive, spawnEntry, waitForHealthy } from './helpers/process.js';

// Under the repository (not a mode-700 temp dir): as root, Postgres runs as the `postgres` user,
// which must be able to traverse every parent directory.
const dataDir = path.resolve('.data', `test-embedded-${process.pid}`);

function postmasterPid(): number | undefined {
  const file = path.join(dataDir, 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

describe('embedded PostgreSQL default', () => {
  afterAll(() => rmSync(path.dirname(dataDir) + `/${path.basename(dataDir)}`, { recursive: true, force: true }));
  afterAll(() => rmSync(`${dataDir}.password`, { force: true }));
  afterAll(() => rmSync(`${dataDir}.owner`, { force: true }));

  const env = async () => ({
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    EMBEDDED_PG_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
  });

  it('starts with no DATABASE_URL, serves a healthy /api/health, and leaves no postgres behind on SIGINT', async () => {
    const settings = await env();
    const service = spawnEntry('src/server.ts', settings);
    try {
      const health = await waitForHealthy(Number(settings.PORT), 90_000);
      expect(await health.json()).toMatchObject({ database: { reachable: true } });
      const pid = postmasterPid();
      expect(pid).toBeGreaterThan(0);
      expect(isProcessAlive(pid!)).toBe(true);

      expect(await service.stop('SIGINT')).toBe(0);
      expect(isProcessAlive(pid!)).toBe(false);
      expect(postmasterPid()).toBeUndefined();
      // The generated database password never reaches the output.
      const password = readFileSync(`${dataDir}.password`, 'utf8').trim();
      expect(password.length).toBeGreaterThan(10);
      expect(service.output()).not.toContain(password);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('reuses the data directory on the next start (no initdb, migrations already applied)', async () => {
    const settings = await env();
    const service = spawnEntry('src/server.ts', settings);
    try {
      await waitForHealthy(Number(settings.PORT), 60_000);
      expect(service.output()).not.toMatch(/initialising the embedded PostgreSQL/);
      expect(service.output()).not.toMatch(/applied database migrations/);
      const pid = postmasterPid()!;
      expect(await service.stop('SIGTERM')).toBe(0);
      expect(isProcessAlive(pid)).toBe(false);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('Ctrl-C (SIGINT to the whole process group) reaches only the service, which stops PostgreSQL itself', async () => {
    const settings = await env();
    const service = spawnEntry('src/server.ts', settings, { detached: true });
    try {
      await waitForHealthy(Number(settings.PORT), 60_000);
      const pid = postmasterPid()!;
      process.kill(-service.child.pid!, 'SIGINT');
      expect(await service.exited).toBe(0);
      expect(isProcessAlive(pid)).toBe(false);
      // Had the group signal reached PostgreSQL, it would have cut the service's connections mid-shutdown.
      expect(service.output()).not.toMatch(/terminating connection due to administrator command/);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('stops the PostgreSQL a killed run left behind, and refuses a data directory another live run holds', async () => {
    const settings = await env();
    const killed = spawnEntry('src/server.ts', settings);
    await waitForHealthy(Number(settings.PORT), 60_000);
    const orphan = postmasterPid()!;
    await killed.stop('SIGKILL');
    expect(isProcessAlive(orphan)).toBe(true);

    const next = spawnEntry('src/server.ts', { ...settings, PORT: String(await freePort()) });
    try {
      await next.waitForOutput(/cloud-ops listening/);
      expect(next.output()).toMatch(/orphaned embedded PostgreSQL/);
      expect(isProcessAlive(orphan)).toBe(false);

      const rival = spawnEntry('src/server.ts', {
        ...settings,
        PORT: String(await freePort()),
        EMBEDDED_PG_PORT: String(await freePort()),
      });
      expect(await rival.exited).toBe(1);
      expect(rival.output()).toMatch(/in use by a running process \(pid \d+\)/);
      expect(await next.stop('SIGTERM')).toBe(0);
    } finally {
      await next.stop('SIGKILL');
    }
  });

  it('says in one line which port to change when the embedded port is taken', async () => {
    const settings = await env();
    const blocker = net.createServer().listen(Number(settings.EMBEDDED_PG_PORT), '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const service = spawnEntry('src/server.ts', settings);
      expect(await service.exited).toBe(1);
      const errorLine = service
        .output()
        .split('\n')
        .find((line) => line.startsWith('cloud-ops:'));
      expect(errorLine).toMatch(/Port \d+ for the embedded PostgreSQL is in use.*EMBEDDED_PG_PORT/);
      expect(service.output()).not.toMatch(/\n\s+at /); // no stack trace
      expect(postmasterPid()).toBeUndefined();
    } finally {
      blocker.close();
    }
  });
});

describe('database URL problems', () => {
  it.each([
    ['a malformed URL', 'not a url at all', /DATABASE_URL is not a valid URL/],
    [
      'an unreachable server',
      'postgresql://app:hunter2secret@127.0.0.1:1/cloudops',
      /Cannot reach PostgreSQL at app@127\.0\.0\.1:1\/cloudops: connection refused/,
    ],
    [
      'a database that does not exist',
      'postgresql://postgres:hunter2secret@127.0.0.1:5432/no_such_db_here',
      /does not exist/,
    ],
  ])('gives one clear line for %s, without the password', async (_label, url, pattern) => {
    if (url.includes(':5432/')) {
      const reachable = await new Promise<boolean>((resolve) => {
        const socket = net.connect(5432, '127.0.0.1', () => (socket.end(), resolve(true)));
        socket.on('error', () => resolve(false));
      });
      if (!reachable) return;
    }
    const service = spawnEntry('src/server.ts', { DATABASE_URL: url, PORT: String(await freePort()) });
    expect(await service.exited).toBe(1);
    const output = service.output();
    expect(output).toMatch(pattern);
    expect(output).not.toContain('hunter2secret');
    expect(output).not.toMatch(/\n\s+at /);
  });
});
