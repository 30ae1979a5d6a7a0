/**
 * How fast the simulator serves a large account: start-up, a full walk of 10,000 droplets and 20,000 snapshots
 * at per_page=200 (following `links.pages.next`, with its host replaced by the simulator's), a second (cached)
 * walk, and a streamed 100,000-line invoice CSV.   Run: npx tsx bench/simulator-walk.ts
 */
import { startSimulator } from '../tools/simulator/index.js';

const headers = { authorization: 'Bearer bench' };

async function walk(base: string, path: string, key: string): Promise<{ items: number; requests: number; ms: number }> {
  const t0 = performance.now();
  let next: string | undefined = `${base}${path}?per_page=200`;
  let items = 0;
  let requests = 0;
  while (next) {
    const res = await fetch(next, { headers });
    const body = (await res.json()) as Record<string, unknown> & { links?: { pages?: { next?: string } } };
    requests += 1;
    items += (body[key] as unknown[]).length;
    const n = body.links?.pages?.next;
    next = n ? base + new URL(n).pathname + new URL(n).search : undefined;
  }
  return { items, requests, ms: performance.now() - t0 };
}

const t0 = performance.now();
const sim = await startSimulator({
  seed: 1,
  scale: { droplets: 10_000, snapshots: 20_000 },
  largeInvoiceLines: 100_000,
});
const startMs = performance.now() - t0;
console.log(
  `start (seed + prewarm): ${startMs.toFixed(0)} ms, ${sim.account.count('droplet')} droplets, ${sim.account.count('snapshot')} snapshots`,
);

for (const round of [1, 2]) {
  const d = await walk(sim.url, '/v2/droplets', 'droplets');
  const s = await walk(sim.url, '/v2/snapshots', 'snapshots');
  console.log(
    `walk ${round}: droplets ${d.items} in ${d.requests} requests ${d.ms.toFixed(0)} ms; snapshots ${s.items} in ${s.requests} requests ${s.ms.toFixed(0)} ms`,
  );
}

sim.account.updateDroplet(sim.account.list('droplet')[5]!.id, { name: 'renamed-after-churn' });
const afterChurn = await walk(sim.url, '/v2/droplets', 'droplets');
console.log(`walk after one rename (page cache invalidated): ${afterChurn.ms.toFixed(0)} ms`);

const big = sim.billing.invoices.at(-1)!;
const t1 = performance.now();
const res = await fetch(`${sim.url}/v2/customers/my/invoices/${big.uuid}/csv`, { headers });
let bytes = 0;
let lines = 0;
for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
  bytes += chunk.length;
  for (const b of chunk) if (b === 10) lines += 1;
}
console.log(
  `large invoice CSV: ${lines - 1} lines, ${(bytes / 1e6).toFixed(1)} MB in ${(performance.now() - t1).toFixed(0)} ms`,
);
const mem = process.memoryUsage();
console.log(`rss ${(mem.rss / 1e6).toFixed(0)} MB, heap ${(mem.heapUsed / 1e6).toFixed(0)} MB`);
await sim.close();
