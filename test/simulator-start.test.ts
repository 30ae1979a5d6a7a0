// `DIGITALOCEAN_API_URL=http://127.0.0.1:PORT npm start` with the simulator running is a complete demonstration:
// no token needed for a local simulator, and an empty mirror is synced at once rather than at the next cron tick.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { freePort, spawnEntry, waitForHealthy, type ServiceProcess } from './helpers/process.js';

describe('npm start against a local simulator', () => {
  let sim: Simulator;
  let db: TestDatabase;
  let service: ServiceProcess;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, seed: 3 });
    db = await createTestDatabase();
    const port = await freePort();
    service = spawnEntry('src/server.ts', {
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      DIGITALOCEAN_API_URL: sim.url,
    });
    await waitForHealthy(port);
  });

  afterAll(async () => {
    await service?.stop();
    await sim?.close();
    await db?.drop();
  });

  it('mirrors the simulated account, its balance and its invoices without being asked', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const deadline = Date.now() + 60_000;
      let state = { droplets: 0, projects: 0, ingested: 0, balances: 0 };
      while (Date.now() < deadline) {
        const { rows } = await client.query<{
          droplets: number;
          projects: number;
          ingested: number;
          balances: number;
        }>(`
          SELECT (SELECT count(*)::int FROM cloud_resources WHERE kind = 'droplet') AS droplets,
                 (SELECT count(*)::int FROM sync_runs WHERE task = 'projects' AND status = 'succeeded') AS projects,
                 (SELECT count(*)::int FROM cloud_invoices WHERE ingest_status = 'ingested') AS ingested,
                 (SELECT count(*)::int FROM cloud_balance_snapshots) AS balances`);
        state = rows[0]!;
        if (state.projects > 0 && state.ingested > 0 && state.balances > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(state.droplets).toBe(sim.account.count('droplet'));
      expect(state.projects).toBe(1);
      expect(state.ingested).toBeGreaterThan(0);
      const { rows: triggers } = await client.query<{ trigger: string }>('SELECT DISTINCT trigger FROM sync_runs');
      expect(triggers.map((row) => row.trigger)).toContain('startup');
      // Every scheduled task was queued at startup, the balance poll too (not left to its hourly tick).
      const { rows: startup } = await client.query<{ task: string }>(
        `SELECT DISTINCT task FROM sync_runs WHERE trigger = 'startup' ORDER BY task`,
      );
      expect(startup.map((row) => row.task)).toEqual(
        expect.arrayContaining(['balance', 'billing_history', 'droplet', 'projects']),
      );
      expect(state.balances).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
    expect(service.output()).toMatch(/mirroring it without a token/);
    expect(service.output()).toMatch(/never been synced: syncing everything now/);
  });
});
