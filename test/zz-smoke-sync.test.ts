import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, rowsPerKind, simulatorCounts, type SyncHarness } from './helpers/sync.js';
describe('smoke', () => {
  let h: SyncHarness;
  beforeAll(async () => { h = await startSyncHarness(); });
  afterAll(async () => { await h?.close(); });
  it('runs', async () => {
    for (const t of ['droplet','volume','snapshot','floating_ip','reserved_ipv6','firewall','load_balancer','dns_zone','managed_db','kubernetes_cluster','app','projects']) {
      const r = await h.engine.run(t, { trigger: 'manual' });
      console.log(t, r.status, r.error, JSON.stringify({...r, details: undefined}), JSON.stringify(r.details).slice(0, 600));
    }
    console.log(await rowsPerKind(h.pool), simulatorCounts(h.sim));
    expect(1).toBe(1);
  });
});
