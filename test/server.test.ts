// The service as its users see it: a real process, on a real database, over real HTTP.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminDatabaseUrl, createTestDatabase, type TestDatabase } from './helpers/database.js';
import { freePort, spawnEntry, waitForHealthy, type ServiceProcess } from './helpers/process.js';
import { anyString, stringMatching } from './helpers/matchers.js';

/**
 * A login role with a password of its own, a member of the admin role (so it may use everything the admin owns), and
 * a URL to `database` as that role: the service then holds a password to leak whatever URL the tests were given.
 */
async function createPasswordRole(
  database: TestDatabase,
): Promise<{ url: string; password: string; drop(): Promise<void> }> {
  const role = `cloudops_pw_${randomBytes(5).toString('hex')}`;
  const password = randomBytes(18).toString('hex');
  const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ name: string }>('SELECT current_user AS name');
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await admin.query(`GRANT "${rows[0]!.name}" TO ${role}`);
  } finally {
    await admin.end();
  }
  const url = new URL(database.url);
  url.username = role;
  url.password = password;
  return {
    url: url.toString(),
    password,
    drop: async () => {
      const client = new pg.Client({ connectionString: adminDatabaseUrl() });
      await client.connect();
      await client.query(`DROP ROLE IF EXISTS ${role}`).finally(() => client.end());
    },
  };
}

describe('server', () => {
  let db: TestDatabase;
  let login: Awaited<ReturnType<typeof createPasswordRole>>;
  let service: ServiceProcess;
  let port: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    login = await createPasswordRole(db);
    port = await freePort();
    service = spawnEntry('src/server.ts', { DATABASE_URL: login.url, PORT: String(port), HOST: '127.0.0.1' });
    await waitForHealthy(port);
  });

  afterAll(async () => {
    await service?.stop();
    await db?.drop();
    await login?.drop();
  });

  it('answers /api/health with service, version, database and worker state', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      service: 'cloud-ops',
      version: stringMatching(/^\d+\.\d+\.\d+/),
      status: 'ok',
      database: { reachable: true },
      worker: { enabled: true, running: true },
    });
  });

  it('serves GraphiQL to a browser and GraphQL to a client', async () => {
    const page = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).toContain('<title>cloud-ops</title>');
    // Served whole from this process (scripts and styles inline), so it works with no route to a CDN.
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    expect(html).not.toContain('unpkg.com');

    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ serviceVersion }' }),
    });
    expect(await response.json()).toEqual({ data: { serviceVersion: anyString() } });
  });

  it('logs JSON lines without secrets', () => {
    const lines = service.output().trim().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    // The service connected with this password (it is healthy), so it had the chance to log it.
    expect(new URL(login.url).password).toBe(login.password);
    expect(login.password.length).toBeGreaterThan(0);
    expect(service.output()).not.toContain(login.password);
  });

  it('reports 503 when the database goes away, and stops cleanly on SIGTERM', async () => {
    await db.drop();
    const response = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'degraded', database: { reachable: false } });
    expect(await service.stop('SIGTERM')).toBe(0);
  });
});

describe('a .env file', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('is read from the working directory before anything logs (LOG_LEVEL included); the environment wins', async () => {
    const parent = path.resolve(import.meta.dirname, '../.data');
    mkdirSync(parent, { recursive: true });
    const dir = mkdtempSync(path.join(parent, 'env-file-test-'));
    try {
      const envPort = await freePort();
      writeFileSync(
        path.join(dir, '.env'),
        `PORT=${envPort}\nHOST=127.0.0.1\nLOG_LEVEL=warn\nDATABASE_URL=${db.url}\nRUN_WORKER=false\n`,
      );
      const fromFile = spawnEntry('src/server.ts', { LOG_LEVEL: undefined }, { cwd: dir });
      await waitForHealthy(envPort);
      await fromFile.stop();
      // No info line (level 30) at all: not even the first ones, written while the modules load.
      expect(fromFile.output()).not.toMatch(/"level":30/);

      const overridden = spawnEntry('src/server.ts', { LOG_LEVEL: 'info' }, { cwd: dir });
      await waitForHealthy(envPort);
      await overridden.stop();
      expect(overridden.output()).toMatch(/"level":30/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a port in use', () => {
  it('stops with one line naming the port, and no stack', async () => {
    const db = await createTestDatabase();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const service = spawnEntry('src/server.ts', {
        DATABASE_URL: db.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        RUN_WORKER: 'false',
      });
      expect(await service.exited).toBe(1);
      expect(service.output()).toContain(
        `cloud-ops: Port ${port} is already in use: set PORT to a free port or stop the other process.`,
      );
      expect(service.output()).not.toMatch(/\n\s+at /);
      expect(service.output()).not.toContain('WebSocket');
    } finally {
      blocker.close();
      await db.drop();
    }
  });
});
