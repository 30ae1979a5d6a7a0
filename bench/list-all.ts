// Lists every resource kind from the simulator at scale with the DigitalOcean client and compares against a floor:
// the same pages fetched with plain fetch + JSON.parse and no client logic (no pacing, retries, guards, counting).
//
//   npx tsx bench/list-all.ts            (BENCH_RUNS=N timed runs; default 5, best run reported)
//
// Checks: every listing is complete, returns exactly the simulator's item count, and took exactly ceil(N/200) calls
// (1 for the unpaginated /v2/databases). Exits non-zero if any check fails.
import { createDigitalOceanClient, type Listing, type ListOptions } from '../src/digitalocean/client.js';
import { startSimulator } from '../tools/simulator/index.js';

const SCALE = {
  projects: 40,
  droplets: 10_000,
  snapshots: 20_000,
  volumes: 3_000,
  reservedIps: 600,
  reservedIpv6s: 250,
  firewalls: 300,
  loadBalancers: 150,
  domains: 450,
  databases: 60,
  kubernetesClusters: 25,
  apps: 120,
  spaces: 30,
  vpcs: 10,
  months: 24,
};
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TOKEN = 'bench-token-not-secret';
const PER_PAGE = 200;

type AnyListing = Listing<unknown>;
interface Kind {
  name: string;
  /** The API path the floor fetches (paged) and its list key. */
  path: string;
  key: string;
  paginated: boolean;
  list: (options: ListOptions<unknown>) => Promise<AnyListing>;
}

const t0 = performance.now();
// The simulator's hourly quota is raised so that repeated runs (client + floor) never reach it; no other faults.
const sim = await startSimulator({ port: 0, seed: 7, scale: SCALE, faults: { rateLimit: { perHour: 1_000_000 } } });
console.log(`simulator up at ${sim.url} in ${(performance.now() - t0).toFixed(0)} ms, scale ${JSON.stringify(SCALE)}`);

const client = createDigitalOceanClient({
  token: TOKEN,
  baseUrl: sim.url,
  // Local simulator: the client-side pacing (normally 200/min, 4,800/h) is switched off, and the server-quota gate
  // only reacts at 0 remaining. Against the real API these defaults must stay.
  maxRequestsPerMinute: Infinity,
  maxRequestsPerHour: Infinity,
  rateLimitReserve: 0,
  logger: { debug() {}, info() {}, warn: (o, m) => console.warn(m, o), error: (o, m) => console.error(m, o) },
});
console.log(
  'NOTE: client pacing disabled for this benchmark (maxRequestsPerMinute=Infinity, maxRequestsPerHour=Infinity): local simulator.',
);
console.log('      simulator hourly quota raised to 1,000,000 so repeated runs never hit it.');

const projects = (await client.listProjects()).items;
const kinds: Kind[] = [
  { name: 'droplets', path: '/v2/droplets', key: 'droplets', paginated: true, list: (o) => client.listDroplets(o) },
  { name: 'snapshots', path: '/v2/snapshots', key: 'snapshots', paginated: true, list: (o) => client.listSnapshots(o) },
  { name: 'volumes', path: '/v2/volumes', key: 'volumes', paginated: true, list: (o) => client.listVolumes(o) },
  {
    name: 'reserved_ips',
    path: '/v2/reserved_ips',
    key: 'reserved_ips',
    paginated: true,
    list: (o) => client.listReservedIps(o),
  },
  {
    name: 'reserved_ipv6',
    path: '/v2/reserved_ipv6',
    key: 'reserved_ipv6s',
    paginated: true,
    list: (o) => client.listReservedIpv6s(o),
  },
  { name: 'firewalls', path: '/v2/firewalls', key: 'firewalls', paginated: true, list: (o) => client.listFirewalls(o) },
  {
    name: 'load_balancers',
    path: '/v2/load_balancers',
    key: 'load_balancers',
    paginated: true,
    list: (o) => client.listLoadBalancers(o),
  },
  { name: 'domains', path: '/v2/domains', key: 'domains', paginated: true, list: (o) => client.listDomains(o) },
  { name: 'projects', path: '/v2/projects', key: 'projects', paginated: true, list: (o) => client.listProjects(o) },
  {
    name: 'databases',
    path: '/v2/databases',
    key: 'databases',
    paginated: false,
    list: (o) => client.listDatabases(o),
  },
  {
    name: 'kubernetes',
    path: '/v2/kubernetes/clusters',
    key: 'kubernetes_clusters',
    paginated: true,
    list: (o) => client.listKubernetesClusters(o),
  },
  { name: 'apps', path: '/v2/apps', key: 'apps', paginated: true, list: (o) => client.listApps(o) },
  {
    name: 'billing_history',
    path: '/v2/customers/my/billing_history',
    key: 'billing_history',
    paginated: true,
    list: (o) => client.listBillingHistory(o),
  },
  {
    name: 'invoices',
    path: '/v2/customers/my/invoices',
    key: 'invoices',
    paginated: true,
    list: (o) => client.listInvoices(o),
  },
  {
    name: 'invoice_items(preview)',
    path: '/v2/customers/my/invoices/preview',
    key: 'invoice_items',
    paginated: true,
    list: (o) => client.listInvoiceItems('preview', o),
  },
  ...projects.map((p, i) => ({
    name: `project_resources#${i}${p.is_default ? '(default)' : ''}`,
    path: `/v2/projects/${p.id}/resources`,
    key: 'resources',
    paginated: true,
    list: (o: ListOptions<unknown>) => client.listProjectResources(p.id, o),
  })),
];

/** The floor: the same pages, plain fetch + JSON.parse, following nothing but page numbers. */
async function floor(kind: Kind, pages: number): Promise<number> {
  let items = 0;
  for (let page = 1; page <= pages; page++) {
    const url = kind.paginated ? `${sim.url}${kind.path}?page=${page}&per_page=${PER_PAGE}` : `${sim.url}${kind.path}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = JSON.parse(await res.text()) as Record<string, unknown[] | null>;
    items += body[kind.key]?.length ?? 0;
  }
  return items;
}

interface Row {
  name: string;
  n: number;
  calls: number;
  expectedCalls: number;
  complete: boolean;
  clientMs: number;
  floorMs: number;
}

const rows: Row[] = [];
let failures = 0;
for (const kind of kinds) {
  let best: { ms: number; listing: AnyListing } | undefined;
  let floorBest = Infinity;
  // one warm-up of each, then alternate timed runs so drift hits both sides alike
  const warm = await kind.list({ collect: false, onPage: () => undefined });
  await floor(kind, warm.pages);
  for (let r = 0; r < RUNS; r++) {
    let start = performance.now();
    const listing = await kind.list({ collect: false, onPage: () => undefined });
    const ms = performance.now() - start;
    if (!best || ms < best.ms) best = { ms, listing };
    start = performance.now();
    const floorItems = await floor(kind, listing.pages);
    floorBest = Math.min(floorBest, performance.now() - start);
    if (floorItems !== listing.count) {
      console.error(`${kind.name}: floor saw ${floorItems} items, client ${listing.count}`);
      failures++;
    }
  }
  const listing = (best as { listing: AnyListing }).listing;
  const n = listing.total ?? listing.count;
  const expectedCalls = kind.paginated ? Math.max(1, Math.ceil(n / PER_PAGE)) : 1;
  const ok = listing.complete && listing.apiCalls === expectedCalls && listing.count === n;
  if (!ok) {
    failures++;
    console.error(
      `FAIL ${kind.name}: complete=${listing.complete} (${listing.incompleteReason ?? ''}) calls=${listing.apiCalls} expected=${expectedCalls} count=${listing.count} total=${n}`,
    );
  }
  rows.push({
    name: kind.name,
    n: listing.count,
    calls: listing.apiCalls,
    expectedCalls,
    complete: listing.complete,
    clientMs: (best as { ms: number }).ms,
    floorMs: floorBest,
  });
}

// Expected sizes from the simulator itself, for the kinds the scale names directly.
const account = sim.account as unknown as { list(kind: string): readonly unknown[] };
const fromSim: Record<string, string> = {
  droplets: 'droplet',
  snapshots: 'snapshot',
  volumes: 'volume',
  reserved_ips: 'reserved_ip',
  reserved_ipv6: 'reserved_ipv6',
  firewalls: 'firewall',
  load_balancers: 'load_balancer',
  domains: 'domain',
  projects: 'project',
  databases: 'database',
  kubernetes: 'kubernetes',
  apps: 'app',
};
for (const row of rows) {
  const simKind = fromSim[row.name];
  if (!simKind) continue;
  const expected = account.list(simKind).length;
  if (expected !== row.n) {
    failures++;
    console.error(`FAIL ${row.name}: client listed ${row.n}, simulator holds ${expected}`);
  }
}

const pad = (s: string | number, w: number) => String(s).padStart(w);
console.log(
  `\n${'kind'.padEnd(30)}${pad('items', 8)}${pad('calls', 7)}${pad('=ceil', 7)}${pad('client ms', 11)}${pad('calls/s', 9)}${pad('items/s', 10)}${pad('floor ms', 10)}${pad('ratio', 7)}`,
);
let totals = { n: 0, calls: 0, clientMs: 0, floorMs: 0 };
const projectRows = rows.filter((r) => r.name.startsWith('project_resources'));
const shown = rows.filter((r) => !r.name.startsWith('project_resources'));
if (projectRows.length > 0) {
  shown.push({
    name: `project_resources (${projectRows.length} projects)`,
    n: projectRows.reduce((a, r) => a + r.n, 0),
    calls: projectRows.reduce((a, r) => a + r.calls, 0),
    expectedCalls: projectRows.reduce((a, r) => a + r.expectedCalls, 0),
    complete: projectRows.every((r) => r.complete),
    clientMs: projectRows.reduce((a, r) => a + r.clientMs, 0),
    floorMs: projectRows.reduce((a, r) => a + r.floorMs, 0),
  });
}
for (const r of shown) {
  totals = {
    n: totals.n + r.n,
    calls: totals.calls + r.calls,
    clientMs: totals.clientMs + r.clientMs,
    floorMs: totals.floorMs + r.floorMs,
  };
  const check = r.calls === r.expectedCalls && r.complete ? 'ok' : 'FAIL';
  console.log(
    `${r.name.padEnd(30)}${pad(r.n, 8)}${pad(r.calls, 7)}${pad(`${r.expectedCalls} ${check}`, 7)}${pad(r.clientMs.toFixed(1), 11)}` +
      `${pad(((r.calls / r.clientMs) * 1000).toFixed(0), 9)}${pad(((r.n / r.clientMs) * 1000).toFixed(0), 10)}${pad(r.floorMs.toFixed(1), 10)}${pad((r.clientMs / r.floorMs).toFixed(2), 7)}`,
  );
}
console.log(
  `${'TOTAL'.padEnd(30)}${pad(totals.n, 8)}${pad(totals.calls, 7)}${pad('', 7)}${pad(totals.clientMs.toFixed(1), 11)}` +
    `${pad(((totals.calls / totals.clientMs) * 1000).toFixed(0), 9)}${pad(((totals.n / totals.clientMs) * 1000).toFixed(0), 10)}${pad(totals.floorMs.toFixed(1), 10)}${pad((totals.clientMs / totals.floorMs).toFixed(2), 7)}`,
);
console.log(
  `\nratio = client time / floor time (best of ${RUNS} runs each; floor = plain fetch + JSON.parse of the same pages).`,
);
console.log(`client stats: ${JSON.stringify(client.stats())}`);

await sim.close();
if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exitCode = 1;
}
