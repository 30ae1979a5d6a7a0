import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';

// Keys of the official spec's example response objects, which every simulated
// object must carry.
const SPEC_KEYS = {
  account: [
    'droplet_limit',
    'floating_ip_limit',
    'email',
    'uuid',
    'email_verified',
    'status',
    'status_message',
    'team',
  ],
  droplet: [
    'id',
    'name',
    'memory',
    'vcpus',
    'disk',
    'disk_info',
    'locked',
    'status',
    'kernel',
    'created_at',
    'features',
    'backup_ids',
    'next_backup_window',
    'snapshot_ids',
    'image',
    'volume_ids',
    'size',
    'size_slug',
    'networks',
    'region',
    'tags',
    'vpc_uuid',
  ],
  volume: [
    'id',
    'region',
    'droplet_ids',
    'name',
    'description',
    'size_gigabytes',
    'created_at',
    'filesystem_type',
    'filesystem_label',
    'tags',
  ],
  snapshot: [
    'id',
    'name',
    'created_at',
    'regions',
    'resource_id',
    'resource_type',
    'min_disk_size',
    'size_gigabytes',
    'tags',
  ],
  reservedIp: ['ip', 'droplet', 'region', 'locked', 'project_id'],
  reservedIpv6: ['ip', 'region_slug', 'reserved_at'],
  firewall: [
    'id',
    'name',
    'status',
    'inbound_rules',
    'outbound_rules',
    'created_at',
    'droplet_ids',
    'tags',
    'pending_changes',
  ],
  loadBalancer: [
    'id',
    'name',
    'ip',
    'size',
    'algorithm',
    'status',
    'created_at',
    'forwarding_rules',
    'health_check',
    'sticky_sessions',
    'region',
    'tag',
    'droplet_ids',
    'redirect_http_to_https',
    'enable_proxy_protocol',
    'enable_backend_keepalive',
    'vpc_uuid',
    'disable_lets_encrypt_dns_records',
    'firewall',
    'project_id',
  ],
  domain: ['name', 'ttl', 'zone_file'],
  project: [
    'id',
    'owner_uuid',
    'owner_id',
    'name',
    'description',
    'purpose',
    'environment',
    'is_default',
    'created_at',
    'updated_at',
  ],
  resource: ['urn', 'assigned_at', 'links', 'status'],
  database: [
    'id',
    'name',
    'engine',
    'version',
    'connection',
    'private_connection',
    'users',
    'db_names',
    'num_nodes',
    'region',
    'status',
    'created_at',
    'maintenance_window',
    'size',
    'tags',
    'private_network_uuid',
    'storage_size_mib',
  ],
  kubernetes: [
    'id',
    'name',
    'region',
    'version',
    'cluster_subnet',
    'service_subnet',
    'vpc_uuid',
    'ipv4',
    'endpoint',
    'tags',
    'node_pools',
    'maintenance_policy',
    'auto_upgrade',
    'status',
    'created_at',
    'updated_at',
    'surge_upgrade',
    'registry_enabled',
    'ha',
  ],
  nodePool: [
    'id',
    'name',
    'size',
    'count',
    'tags',
    'labels',
    'taints',
    'auto_scale',
    'min_nodes',
    'max_nodes',
    'nodes',
  ],
  node: ['id', 'name', 'status', 'droplet_id', 'created_at', 'updated_at'],
  app: [
    'id',
    'owner_uuid',
    'spec',
    'default_ingress',
    'created_at',
    'updated_at',
    'active_deployment',
    'last_deployment_created_at',
    'live_url',
    'region',
    'tier_slug',
    'live_url_base',
    'live_domain',
  ],
  balance: ['month_to_date_balance', 'account_balance', 'month_to_date_usage', 'generated_at'],
  billingHistoryInvoice: ['description', 'amount', 'invoice_id', 'invoice_uuid', 'date', 'type'],
  invoice: ['invoice_uuid', 'invoice_id', 'amount', 'invoice_period'],
  invoicePreview: ['invoice_uuid', 'invoice_id', 'amount', 'invoice_period', 'updated_at'],
  invoiceItem: [
    'product',
    'group_description',
    'description',
    'amount',
    'duration',
    'duration_unit',
    'start_time',
    'end_time',
    'project_name',
  ],
  summary: [
    'invoice_uuid',
    'invoice_id',
    'billing_period',
    'amount',
    'user_name',
    'user_billing_address',
    'user_company',
    'user_email',
    'product_charges',
    'overages',
    'taxes',
    'credits_and_adjustments',
  ],
};

const CSV_HEADER = 'product,group_description,description,hours,start,end,USD,project_name,category';
const AUTH = { authorization: 'Bearer test-token' };

/** A JSON object as the simulator sends it; the types below name the fields the tests read. */
type Body = Record<string, unknown>;

interface Pages {
  first?: string;
  prev?: string;
  next?: string;
  last?: string;
}
/** The envelope of a DO listing: `links.pages` only when there is more than one page. */
interface Listing extends Body {
  links: { pages?: Pages };
  meta: { total: number };
}
/** A listing's page whose pages the test reads (a page that has neighbours). */
interface PagedListing extends Listing {
  links: { pages: Pages };
}

interface Droplet extends Body {
  id: number;
  name: string;
  volume_ids: string[];
}
interface Project extends Body {
  id: string;
  is_default: boolean;
}
interface ProjectResource extends Body {
  urn: string;
  status: string;
}
interface ReservedIp extends Body {
  droplet: { id: number } | null;
}
interface Database extends Body {
  connection: { password: string; uri: string };
  private_connection: { user: string };
  project_id: string;
}
interface NodePool extends Body {
  nodes: Array<Body & { droplet_id: string }>;
}
interface Snapshot extends Body {
  id: string;
  resource_type: string;
}
interface Volume extends Body {
  droplet_ids: number[];
}
interface App extends Body {
  project_id?: string;
}
interface Amount extends Body {
  amount: string;
}
interface BillingHistoryEntry extends Amount {
  type: string;
  invoice_uuid?: string;
}
interface Invoice extends Amount {
  invoice_uuid: string;
}
interface InvoiceItem extends Amount {
  product: string;
  resource_id?: string;
  resource_uuid?: string;
}
interface Balance extends Body {
  month_to_date_balance: string;
  account_balance: string;
  month_to_date_usage: string;
  generated_at: string;
}
interface InvoiceSummary extends Amount {
  billing_period: string;
  product_charges: Amount;
  overages: Amount;
  taxes: Amount;
  credits_and_adjustments: Amount;
}

interface Got<T extends object = Body> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** GET a path (or a link); the body is typed as the caller expects, `{}` when the response is not JSON. */
async function get<T extends object = Body>(
  sim: Simulator,
  pathOrUrl: string,
  headers: Record<string, string> = AUTH,
): Promise<Got<T>> {
  // Links name the public host: follow only their path and query, as a real client must.
  const url = pathOrUrl.startsWith('http') ? new URL(pathOrUrl) : new URL(pathOrUrl, sim.url);
  const res = await fetch(`${sim.url}${url.pathname}${url.search}`, { headers });
  const text = await res.text();
  let body = {} as T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    /* CSV, PDF, HTML */
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Follow `links.pages.next` to the end; returns every item and the number of requests. */
async function walk<T extends object = Body>(
  sim: Simulator,
  path: string,
  key: string,
): Promise<{ items: T[]; requests: number; total: number }> {
  let next: string | undefined = path;
  const items: T[] = [];
  let requests = 0;
  let total = 0;
  while (next) {
    const r: Got<Partial<Listing>> = await get(sim, next);
    expect(r.status).toBe(200);
    requests += 1;
    items.push(...(r.body[key] as T[]));
    total = r.body.meta?.total as number;
    next = r.body.links?.pages?.next;
    if (requests > 1000) throw new Error('runaway walk');
  }
  return { items, requests, total };
}

function cents(decimal: string): number {
  const negative = decimal.startsWith('-');
  const [whole, frac = ''] = decimal.replace(/^-/, '').split('.');
  const value = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
  return negative ? -value : value;
}

function csvCents(usd: string): number {
  return cents(usd.replace('$', ''));
}

/** Minimal RFC 4180 parser for the tests (quotes, doubled quotes, commas in fields). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

describe('simulator: shapes and endpoints', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, seed: 1 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('serves every list endpoint with the spec example keys', async () => {
    const cases: Array<[string, string, readonly string[]]> = [
      ['/v2/droplets', 'droplets', SPEC_KEYS.droplet],
      ['/v2/volumes', 'volumes', SPEC_KEYS.volume],
      ['/v2/snapshots', 'snapshots', SPEC_KEYS.snapshot],
      ['/v2/reserved_ips', 'reserved_ips', SPEC_KEYS.reservedIp],
      ['/v2/floating_ips', 'floating_ips', SPEC_KEYS.reservedIp],
      ['/v2/reserved_ipv6', 'reserved_ipv6s', SPEC_KEYS.reservedIpv6],
      ['/v2/firewalls', 'firewalls', SPEC_KEYS.firewall],
      ['/v2/load_balancers', 'load_balancers', SPEC_KEYS.loadBalancer],
      ['/v2/domains', 'domains', SPEC_KEYS.domain],
      ['/v2/projects', 'projects', SPEC_KEYS.project],
      ['/v2/projects/default/resources', 'resources', SPEC_KEYS.resource],
      ['/v2/kubernetes/clusters', 'kubernetes_clusters', SPEC_KEYS.kubernetes],
      ['/v2/apps', 'apps', SPEC_KEYS.app],
      ['/v2/customers/my/invoices', 'invoices', SPEC_KEYS.invoice],
    ];
    for (const [path, key, keys] of cases) {
      const r = await get(sim, `${path}?per_page=200`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      const items = r.body[key] as Body[];
      expect(items.length, path).toBeGreaterThan(0);
      for (const item of items)
        expect(Object.keys(item), `${path} ${JSON.stringify(item).slice(0, 80)}`).toEqual(
          expect.arrayContaining([...keys]),
        );
      expect(r.body.links, path).toEqual({});
      expect(r.body.meta, path).toEqual({ total: items.length });
    }
  });

  it('serves single objects: account, default project, balance, summary', async () => {
    expect(Object.keys((await get<{ account: Body }>(sim, '/v2/account')).body.account)).toEqual(
      expect.arrayContaining(SPEC_KEYS.account),
    );
    const def = await get<{ project: Project }>(sim, '/v2/projects/default');
    expect(def.body.project.is_default).toBe(true);
    const byId = await get<{ project: Project }>(sim, `/v2/projects/${def.body.project.id}`);
    expect(byId.body.project).toEqual(def.body.project);
    expect(Object.keys((await get(sim, '/v2/customers/my/balance')).body)).toEqual(SPEC_KEYS.balance);
    const droplet = sim.account.list('droplet')[0]!;
    expect((await get<{ droplet: Droplet }>(sim, `/v2/droplets/${droplet.id}`)).body.droplet.name).toBe(droplet.name);
  });

  it("answers unknown paths and ids with DO's not_found body", async () => {
    for (const path of [
      '/v2/nope',
      '/v2/droplets/1',
      '/v2/projects/00000000-0000-0000-0000-000000000000/resources',
      '/v3/droplets',
    ]) {
      const r = await get(sim, path);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ id: 'not_found', message: 'The resource you were accessing could not be found.' });
    }
  });

  it('kubernetes nodes carry droplet ids that exist in /v2/droplets', async () => {
    const clusters = (
      await get<{ kubernetes_clusters: Array<Body & { node_pools: NodePool[] }> }>(sim, '/v2/kubernetes/clusters')
    ).body.kubernetes_clusters;
    const droplets = new Set(
      (await walk<Droplet>(sim, '/v2/droplets?per_page=200', 'droplets')).items.map((d) => String(d.id)),
    );
    let nodes = 0;
    for (const c of clusters) {
      for (const pool of c.node_pools) {
        expect(Object.keys(pool)).toEqual(expect.arrayContaining(SPEC_KEYS.nodePool));
        for (const n of pool.nodes) {
          expect(Object.keys(n)).toEqual(expect.arrayContaining(SPEC_KEYS.node));
          expect(typeof n.droplet_id).toBe('string');
          expect(droplets.has(n.droplet_id)).toBe(true);
          nodes++;
        }
      }
    }
    expect(nodes).toBeGreaterThan(3);
  });

  it('databases are unpaginated and leak connection secrets like the real API', async () => {
    const r = await get<{ databases: Database[] }>(sim, '/v2/databases?per_page=1&page=2');
    expect(Object.keys(r.body)).toEqual(['databases']);
    const dbs = r.body.databases;
    expect(dbs.length).toBe(sim.account.count('database'));
    for (const db of dbs) {
      expect(Object.keys(db)).toEqual(expect.arrayContaining(SPEC_KEYS.database));
      expect(db.connection.password).toMatch(/\S/);
      expect(db.connection.uri).toContain(db.connection.password);
      expect(db.private_connection.user).toBe('doadmin');
      expect(db.project_id).toMatch(/-/);
    }
  });

  it('snapshots: numeric string ids for droplets, uuids for volumes; resource_type filter', async () => {
    const d = await walk<Snapshot>(sim, '/v2/snapshots?resource_type=droplet&per_page=5', 'snapshots');
    const v = await walk<Snapshot>(sim, '/v2/snapshots?resource_type=volume&per_page=5', 'snapshots');
    expect(d.items.length + v.items.length).toBe(sim.account.count('snapshot'));
    expect(d.items.every((s) => s.resource_type === 'droplet' && /^\d+$/.test(s.id))).toBe(true);
    expect(v.items.every((s) => s.resource_type === 'volume' && /^[0-9a-f-]{36}$/.test(s.id))).toBe(true);
  });

  it('droplets: GPU droplets only under ?type=gpus, like DigitalOcean', async () => {
    const before = (await walk(sim, '/v2/droplets?per_page=200', 'droplets')).items.length;
    expect((await walk(sim, '/v2/droplets?type=gpus&per_page=200', 'droplets')).items).toEqual([]);
    const gpu = sim.account.createDroplet({ name: 'trainer', size_slug: 'gpu-h100x1-80gb' });
    try {
      const gpus = (await walk<Droplet>(sim, '/v2/droplets?type=gpus&per_page=200', 'droplets')).items;
      expect(gpus.map((d) => d.id)).toEqual([gpu.id]);
      expect((await walk(sim, '/v2/droplets?per_page=200', 'droplets')).items.length).toBe(before);
    } finally {
      sim.account.deleteDroplet(gpu.id);
    }
  });

  it('reserved IPs: assigned and unassigned, same data under the legacy floating_ips key', async () => {
    const reserved = (await get<{ reserved_ips: ReservedIp[] }>(sim, '/v2/reserved_ips?per_page=200')).body
      .reserved_ips;
    const floating = (await get<{ floating_ips: ReservedIp[] }>(sim, '/v2/floating_ips?per_page=200')).body
      .floating_ips;
    expect(floating).toEqual(reserved);
    expect(reserved.some((ip) => ip.droplet === null)).toBe(true);
    expect(reserved.some((ip) => ip.droplet && typeof ip.droplet.id === 'number')).toBe(true);
    const v6 = (await get<{ reserved_ipv6s: Body[] }>(sim, '/v2/reserved_ipv6')).body.reserved_ipv6s;
    expect(v6.length).toBeGreaterThan(0);
  });

  it('apps carry project_id only with with_projects=true', async () => {
    const plain = (await get<{ apps: App[] }>(sim, '/v2/apps')).body.apps;
    const withProjects = (await get<{ apps: App[] }>(sim, '/v2/apps?with_projects=true')).body.apps;
    expect(plain.every((a) => !('project_id' in a))).toBe(true);
    expect(withProjects.every((a) => typeof a.project_id === 'string')).toBe(true);
  });

  it('inventory: one default project, duplicate names, attached volumes, URN kinds, odd memberships', async () => {
    const projects = (await get<{ projects: Project[] }>(sim, '/v2/projects')).body.projects;
    expect(projects.filter((p) => p.is_default)).toHaveLength(1);
    expect(projects.length).toBeGreaterThanOrEqual(4);

    const droplets = (await walk<Droplet>(sim, '/v2/droplets?per_page=200', 'droplets')).items;
    const names = droplets.map((d) => d.name);
    expect(new Set(names).size).toBeLessThan(names.length);
    const volumes = (await get<{ volumes: Volume[] }>(sim, '/v2/volumes?per_page=200')).body.volumes;
    expect(volumes.some((v) => v.droplet_ids.length > 0)).toBe(true);
    expect(volumes.some((v) => v.droplet_ids.length === 0)).toBe(true);
    const withVolumes = droplets.filter((d) => d.volume_ids.length > 0);
    expect(withVolumes.length).toBeGreaterThan(0);

    const urns: ProjectResource[] = [];
    for (const p of projects)
      urns.push(
        ...(await walk<ProjectResource>(sim, `/v2/projects/${p.id}/resources?per_page=200`, 'resources')).items,
      );
    const kinds = new Set(urns.map((r) => r.urn.split(':')[1]));
    for (const k of [
      'droplet',
      'volume',
      'floatingip',
      'floatingipv6',
      'loadbalancer',
      'dbaas',
      'domain',
      'space',
      'kubernetes',
      'app',
      'vpc',
      'task',
    ]) {
      expect(kinds, k).toContain(k);
    }
    expect(urns.some((r) => r.status !== 'ok')).toBe(true);
    const viaDefault = (await walk<ProjectResource>(sim, '/v2/projects/default/resources', 'resources')).items;
    const defaultId = projects.find((p) => p.is_default)!.id;
    expect(viaDefault).toEqual((await walk(sim, `/v2/projects/${defaultId}/resources`, 'resources')).items);

    // Some droplets are in no project at all (e.g. Kubernetes nodes).
    const inProjects = new Set(urns.map((r) => r.urn));
    expect(droplets.some((d) => !inProjects.has(`do:droplet:${d.id}`))).toBe(true);
    // Spaces buckets exist only as URNs.
    expect(urns.filter((r) => r.urn.startsWith('do:space:')).length).toBe(sim.account.count('space'));
  });
});

describe('simulator: pagination, headers, auth', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, scale: { droplets: 45 } });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('pages with default per_page 20 and DO-style links on the public host', async () => {
    const total = sim.account.count('droplet');
    expect(total).toBeGreaterThan(40);
    const lastPage = Math.ceil(total / 20);
    const p1 = await get<PagedListing>(sim, '/v2/droplets');
    expect(p1.body.droplets).toHaveLength(20);
    expect(p1.body.meta).toEqual({ total });
    expect(p1.body.links.pages).toEqual({
      next: 'https://api.digitalocean.com/v2/droplets?page=2&per_page=20',
      last: `https://api.digitalocean.com/v2/droplets?page=${lastPage}&per_page=20`,
    });
    const p2 = await get<PagedListing>(sim, p1.body.links.pages.next!);
    expect(p2.body.links.pages).toEqual({
      first: 'https://api.digitalocean.com/v2/droplets?page=1&per_page=20',
      prev: 'https://api.digitalocean.com/v2/droplets?page=1&per_page=20',
      next: 'https://api.digitalocean.com/v2/droplets?page=3&per_page=20',
      last: `https://api.digitalocean.com/v2/droplets?page=${lastPage}&per_page=20`,
    });
    const last = await get<PagedListing>(sim, `/v2/droplets?page=${lastPage}`);
    expect(last.body.droplets).toHaveLength(total - 20 * (lastPage - 1));
    expect(Object.keys(last.body.links.pages)).toEqual(['first', 'prev']);
    const all = await walk<Droplet>(sim, '/v2/droplets', 'droplets');
    expect(all.requests).toBe(lastPage);
    expect(new Set(all.items.map((d) => d.id)).size).toBe(total);
  });

  it('clamps per_page to 200 and returns links {} when everything fits', async () => {
    const r = await get(sim, '/v2/droplets?per_page=1000');
    expect(r.body.droplets).toHaveLength(sim.account.count('droplet'));
    expect(r.body.links).toEqual({});
  });

  it('keeps filters in page links', async () => {
    const r = await get<PagedListing>(sim, '/v2/snapshots?resource_type=droplet&per_page=2');
    expect(r.body.links.pages.next).toBe(
      'https://api.digitalocean.com/v2/snapshots?page=2&per_page=2&resource_type=droplet',
    );
  });

  it('sends ratelimit headers and x-request-id on every response', async () => {
    const a = await get(sim, '/v2/account');
    const b = await get(sim, '/v2/nope');
    for (const r of [a, b]) {
      expect(r.headers.get('ratelimit-limit')).toBe('5000');
      expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      expect(Number(r.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(Date.now() / 1000 + 3601);
      expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(Number(b.headers.get('ratelimit-remaining'))).toBe(Number(a.headers.get('ratelimit-remaining')) - 1);
  });

  it('accepts any bearer token but requires one', async () => {
    const r = await get(sim, '/v2/account', {});
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ id: 'unauthorized', message: 'Unable to authenticate you.' });
    expect((await get(sim, '/v2/account', { authorization: 'Bearer anything' })).status).toBe(200);
  });

  it('requires the configured token when one is set', async () => {
    const strict = await startSimulator({ token: 'sekrit' });
    try {
      expect((await get(strict, '/v2/account', { authorization: 'Bearer nope' })).status).toBe(401);
      expect((await get(strict, '/v2/account', { authorization: 'Bearer sekrit' })).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('uses the configured link host', async () => {
    const local = await startSimulator({ linkBase: 'http://example.test:1234', scale: { droplets: 30 } });
    try {
      const r = await get<PagedListing>(local, '/v2/droplets');
      expect(r.body.links.pages.next).toBe('http://example.test:1234/v2/droplets?page=2&per_page=20');
    } finally {
      await local.close();
    }
  });

  it('logs requests for counting per path and per time window', async () => {
    sim.requests.clear();
    const t0 = Date.now();
    await get(sim, '/v2/droplets?page=1');
    await get(sim, '/v2/droplets?page=2');
    await get(sim, '/v2/volumes');
    expect(sim.requests.count({ path: '/v2/droplets' })).toBe(2);
    expect(sim.requests.count({ path: '/v2/droplets', query: { page: '2' } })).toBe(1);
    expect(sim.requests.countsByPath()).toEqual({ '/v2/droplets': 2, '/v2/volumes': 1 });
    expect(sim.requests.count({ since: t0, until: Date.now() + 1 })).toBe(3);
    expect(sim.requests.count({ since: Date.now() + 1000 })).toBe(0);
    expect(sim.requests.entries[0]).toMatchObject({
      method: 'GET',
      path: '/v2/droplets',
      query: 'page=1',
      status: 200,
    });
  });
});

describe('simulator: determinism and churn', () => {
  it('the same seed yields the same account; another seed a different one', async () => {
    const [a, b, c] = await Promise.all([
      startSimulator({ seed: 42 }),
      startSimulator({ seed: 42 }),
      startSimulator({ seed: 43 }),
    ]);
    try {
      for (const path of [
        '/v2/droplets?per_page=200',
        '/v2/projects/default/resources',
        '/v2/snapshots?per_page=200',
        '/v2/customers/my/invoices',
        '/v2/databases',
      ]) {
        expect((await get(a, path)).text, path).toBe((await get(b, path)).text);
      }
      const uuid = a.billing.invoices[0]!.uuid;
      expect((await get(a, `/v2/customers/my/invoices/${uuid}/csv`)).text).toBe(
        (await get(b, `/v2/customers/my/invoices/${uuid}/csv`)).text,
      );
      expect((await get(a, '/v2/droplets')).text).not.toBe((await get(c, '/v2/droplets')).text);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('create, rename, resize, power off and delete show up in the next listing', async () => {
    const sim = await startSimulator({ seed: 3 });
    try {
      const before = await walk<Droplet>(sim, '/v2/droplets?per_page=200', 'droplets');
      const created = sim.account.createDroplet({ name: 'churn-new', size_slug: 's-2vcpu-4gb', region: 'fra1' });
      const victim = sim.account
        .list('droplet')
        .find((d) => sim.account.list('reserved_ip').some((ip) => ip.droplet_id === d.id))!;
      const renamed = sim.account.list('droplet')[3]!;
      sim.account.updateDroplet(renamed.id, { name: 'churn-renamed', size_slug: 'm-2vcpu-16gb', status: 'off' });
      sim.account.deleteDroplet(victim.id);

      const after = await walk<Droplet>(sim, '/v2/droplets?per_page=200', 'droplets');
      expect(after.total).toBe(before.total);
      const byId = new Map(after.items.map((d) => [d.id, d]));
      expect(byId.get(created.id)).toMatchObject({
        name: 'churn-new',
        size_slug: 's-2vcpu-4gb',
        region: { slug: 'fra1' },
      });
      expect(byId.get(renamed.id)).toMatchObject({
        name: 'churn-renamed',
        size_slug: 'm-2vcpu-16gb',
        status: 'off',
        memory: 16384,
      });
      expect(byId.has(victim.id)).toBe(false);
      const ips = (await get<{ reserved_ips: ReservedIp[] }>(sim, '/v2/reserved_ips?per_page=200')).body.reserved_ips;
      expect(ips.some((ip) => ip.droplet?.id === victim.id)).toBe(false);

      // New droplets land in the default project; deleted ones leave it.
      const def = (
        await walk<ProjectResource>(sim, '/v2/projects/default/resources?per_page=200', 'resources')
      ).items.map((r) => r.urn);
      expect(def).toContain(`do:droplet:${created.id}`);
      expect(def).not.toContain(`do:droplet:${victim.id}`);

      // Generic API over kinds.
      const vol = sim.account.create('volume', { name: 'churn-vol', droplet_ids: [created.id], region: 'fra1' });
      expect((await get<{ droplet: Droplet }>(sim, `/v2/droplets/${created.id}`)).body.droplet.volume_ids).toEqual([
        vol.id,
      ]);
      sim.account.assign('volume', vol.id, null);
      expect(
        (await walk<ProjectResource>(sim, '/v2/projects/default/resources?per_page=200', 'resources')).items.map(
          (r) => r.urn,
        ),
      ).not.toContain(`do:volume:${vol.id}`);
      expect(sim.account.delete('volume', vol.id)).toBe(true);
      expect((await get<{ droplet: Droplet }>(sim, `/v2/droplets/${created.id}`)).body.droplet.volume_ids).toEqual([]);

      // The month-to-date invoice still bills the deleted droplet; closed invoices are unchanged.
      const preview = await get(sim, '/v2/customers/my/invoices/preview/csv');
      expect(preview.text).toContain(`${victim.name} (${victim.size_slug})`);
      expect(preview.text).toContain('churn-new (s-2vcpu-4gb)');
    } finally {
      await sim.close();
    }
  });
});

describe('simulator: billing', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 5 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('balance: month_to_date_balance = account_balance + month_to_date_usage, usage = preview amount', async () => {
    const b = (await get<Balance>(sim, '/v2/customers/my/balance')).body;
    expect(cents(b.month_to_date_balance)).toBe(cents(b.account_balance) + cents(b.month_to_date_usage));
    const list = (await get<{ invoice_preview: Amount }>(sim, '/v2/customers/my/invoices')).body;
    expect(Object.keys(list.invoice_preview)).toEqual(SPEC_KEYS.invoicePreview);
    expect(list.invoice_preview.amount).toBe(b.month_to_date_usage);
    expect(b.generated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('billing history: invoices with uuid/id, negative payments, a credit; sums to account_balance', async () => {
    const h = await walk<BillingHistoryEntry>(sim, '/v2/customers/my/billing_history?per_page=5', 'billing_history');
    expect(h.items.length).toBe(h.total);
    const invoices = h.items.filter((e) => e.type === 'Invoice');
    expect(invoices.length).toBe(12);
    for (const e of invoices) expect(Object.keys(e)).toEqual(SPEC_KEYS.billingHistoryInvoice);
    expect(
      h.items.filter((e) => e.type === 'Payment').every((e) => e.amount.startsWith('-') && !('invoice_uuid' in e)),
    ).toBe(true);
    expect(h.items.some((e) => e.type === 'Credit' && e.amount.startsWith('-'))).toBe(true);
    const sum = h.items.reduce((s, e) => s + cents(e.amount), 0);
    expect(sum).toBe(cents((await get<Balance>(sim, '/v2/customers/my/balance')).body.account_balance));
    const list = await walk<Invoice>(sim, '/v2/customers/my/invoices?per_page=5', 'invoices');
    expect(list.items.map((i) => [i.invoice_uuid, i.amount])).toEqual(invoices.map((e) => [e.invoice_uuid, e.amount]));
  });

  it('every invoice: JSON items, CSV and summary agree with the invoice amount', async () => {
    const list = (
      await get<{ invoices: Invoice[]; invoice_preview: Invoice }>(sim, '/v2/customers/my/invoices?per_page=200')
    ).body;
    const all = [...list.invoices, list.invoice_preview];
    let sawCredit = false;
    for (const inv of all) {
      const uuid = inv.invoice_uuid;
      const items = await walk<InvoiceItem>(sim, `/v2/customers/my/invoices/${uuid}?per_page=50`, 'invoice_items');
      for (const item of items.items) expect(Object.keys(item)).toEqual(expect.arrayContaining(SPEC_KEYS.invoiceItem));
      expect(items.items.reduce((s, i) => s + cents(i.amount), 0)).toBe(cents(inv.amount));

      const csv = await get(sim, `/v2/customers/my/invoices/${uuid}/csv`);
      expect(csv.headers.get('content-type')).toBe('text/csv');
      expect(csv.headers.get('content-disposition')).toMatch(
        /^attachment; filename="DigitalOcean Invoice \d{4} [A-Z][a-z]{2} \(\d+-\d+\)\.csv"$/,
      );
      const rows = parseCsv(csv.text);
      expect(csv.text.split('\n')[0]).toBe(CSV_HEADER);
      const body = rows.slice(1);
      expect(body.length).toBe(items.total);
      for (const r of body) {
        expect(r).toHaveLength(9);
        expect(r[4]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
        expect(r[5]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
        expect(r[6]).toMatch(/^-?\$\d+\.\d\d$/);
        if (r[0] === 'Taxes') {
          expect(r[2]).toBe('STATE SALES TAX (6.25%)');
          expect(r[3]).toBe('');
        }
        if (r[6]!.startsWith('-')) sawCredit = true;
      }
      expect(body.reduce((s, r) => s + csvCents(r[6]!), 0)).toBe(cents(inv.amount));

      const summary = (await get<InvoiceSummary>(sim, `/v2/customers/my/invoices/${uuid}/summary`)).body;
      expect(Object.keys(summary)).toEqual(SPEC_KEYS.summary);
      const parts =
        cents(summary.product_charges.amount) +
        cents(summary.overages.amount) +
        cents(summary.taxes.amount) +
        cents(summary.credits_and_adjustments.amount);
      expect(parts).toBe(cents(summary.amount));
      expect(summary.amount).toBe(inv.amount);
    }
    expect(sawCredit).toBe(true);
  });

  it('the preview keyword works for items, summary and csv', async () => {
    const items = await get(sim, '/v2/customers/my/invoices/preview');
    expect(items.status).toBe(200);
    expect((await get(sim, '/v2/customers/my/invoices/preview/summary')).body.billing_period).toBe('2026-11');
    expect((await get(sim, '/v2/customers/my/invoices/preview/csv')).text.startsWith(CSV_HEADER)).toBe(true);
  });

  it("invoice lines cover every product, with DO's description formats", async () => {
    const uuid = sim.billing.invoices[0]!.uuid;
    const rows = parseCsv((await get(sim, `/v2/customers/my/invoices/${uuid}/csv`)).text).slice(1);
    const products = new Set(rows.map((r) => r[0]));
    for (const p of [
      'Droplets',
      'Volumes',
      'Backups',
      'Droplet Snapshots',
      'Volume Snapshots',
      'Floating IPs',
      'Load Balancers',
      'Kubernetes Clusters',
      'Managed Databases',
      'App Platform',
      'Spaces Subscription',
      'Container Registry',
      'Taxes',
    ]) {
      expect(products, p).toContain(p);
    }
    const droplets = sim.account.list('droplet');
    const dropletRows = rows.filter((r) => r[0] === 'Droplets');
    expect(dropletRows.every((r) => /^.+ \([a-z0-9-]+\)$/.test(r[2]!))).toBe(true);
    expect(rows.filter((r) => r[0] === 'Volumes').every((r) => /^.+ \([a-z]+\d\) \d+GB$/.test(r[2]!))).toBe(true);
    expect(
      rows.filter((r) => r[0] === 'Floating IPs').every((r) => /^Unused Floating IP - \d+\.\d+\.\d+\.\d+$/.test(r[2]!)),
    ).toBe(true);
    // Lines of resources deleted since: names never in the current inventory.
    const names = new Set(droplets.map((d) => d.name));
    const gone = dropletRows.filter((r) => !names.has(r[2]!.replace(/ \([^)]*\)$/, '')));
    expect(gone.length).toBeGreaterThan(0);
    // Kubernetes and databases are grouped by cluster / db name.
    const clusters = new Set(sim.account.list('kubernetes').map((k) => k.name));
    expect(rows.filter((r) => r[0] === 'Kubernetes Clusters').every((r) => clusters.has(r[1]!))).toBe(true);
    const dbs = new Set(sim.account.list('database').map((d) => d.name));
    expect(rows.filter((r) => r[0] === 'Managed Databases').some((r) => dbs.has(r[1]!))).toBe(true);
    // Project names with commas are quoted.
    expect(rows.some((r) => r[7] === 'Marketing, Growth')).toBe(true);
  });

  it('JSON items carry resource ids, and the expected matching truth is exposed', async () => {
    const inv = sim.billing.invoices[0]!;
    const items = (await walk<InvoiceItem>(sim, `/v2/customers/my/invoices/${inv.uuid}?per_page=200`, 'invoice_items'))
      .items;
    const dropletIds = new Set(sim.account.list('droplet').map((d) => String(d.id)));
    const dropletItems = items.filter((i) => i.product === 'Droplets');
    expect(dropletItems.every((i) => /^\d+$/.test(i.resource_id as string))).toBe(true);
    expect(dropletItems.some((i) => dropletIds.has(i.resource_id as string))).toBe(true);
    expect(
      items.filter((i) => i.product === 'Volumes').every((i) => /^[0-9a-f-]{36}$/.test(i.resource_uuid as string)),
    ).toBe(true);

    const truth = sim.billing.expectedMatches(inv.uuid);
    expect(truth.lines).toHaveLength(items.length);
    expect(truth.counts.deleted).toBeGreaterThan(0);
    expect(truth.counts.ambiguous).toBeGreaterThan(0); // the two droplets sharing a name
    expect(truth.counts.tax).toBe(1);
    expect(truth.counts.current).toBeGreaterThan(truth.counts.deleted);
    expect(truth.idMatchRate).toBeGreaterThan(truth.nameMatchRate);
    // Truth follows churn: rename a billed droplet and its lines become id-only matches.
    const line = truth.lines.find(
      (l) => l.status === 'current' && l.ref.type === 'resource' && l.ref.kind === 'droplet',
    )!;
    const ref = line.ref as { id: string };
    sim.account.updateDroplet(Number(ref.id), { name: 'renamed-for-truth' });
    expect(sim.billing.expectedMatches(inv.uuid).lines[line.index]!.status).toBe('renamed');
    // Past invoices don't change with churn.
    const csv = (await get(sim, `/v2/customers/my/invoices/${inv.uuid}/csv`)).text;
    expect(csv).not.toContain('renamed-for-truth');
    expect(csv).toContain(line.description);
  });

  it('streams a very large invoice', async () => {
    const big = await startSimulator({ seed: 9, largeInvoiceLines: 100_000 });
    try {
      const inv = big.billing.invoices.at(-1)!;
      expect(inv.lineCount).toBe(100_000);
      const res = await fetch(`${big.url}/v2/customers/my/invoices/${inv.uuid}/csv`, { headers: AUTH });
      expect(res.headers.get('content-length')).toBeNull(); // chunked, not one giant buffer
      const rows = parseCsv(await res.text());
      expect(rows[0]!.join(',')).toBe(CSV_HEADER);
      expect(rows).toHaveLength(100_001);
      expect(rows.slice(1).reduce((sum, r) => sum + csvCents(r[6]!), 0)).toBe(inv.totalCents);
      const page = await get<Listing>(big, `/v2/customers/my/invoices/${inv.uuid}?page=500&per_page=200`);
      expect(page.body.invoice_items).toHaveLength(200);
      expect(page.body.meta.total).toBe(100_000);
    } finally {
      await big.close();
    }
  });
});

describe('simulator: faults', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 11, scale: { droplets: 50 } });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('notFound: reserved_ips 404 while floating_ips still answers', async () => {
    sim.setFaults({ notFound: '/v2/reserved_ips' });
    const r = await get(sim, '/v2/reserved_ips');
    expect(r.status).toBe(404);
    expect(r.body.id).toBe('not_found');
    expect((await get(sim, '/v2/floating_ips')).status).toBe(200);
    sim.setFaults({});
    expect((await get(sim, '/v2/reserved_ips')).status).toBe(200);
  });

  it('burst429 carries retry-after; hourly429 only ratelimit-reset', async () => {
    sim.setFaults({
      burst429: { count: 1, retryAfterSeconds: 3 },
      hourly429: { path: '/v2/volumes', count: 1, resetInSeconds: 5 },
    });
    const burst = await get(sim, '/v2/droplets');
    expect(burst.status).toBe(429);
    expect(burst.body).toEqual({ id: 'too_many_requests', message: 'API rate limit exceeded.' });
    expect(burst.headers.get('retry-after')).toBe('3');
    expect(burst.headers.get('ratelimit-remaining')).toBe('0');
    expect((await get(sim, '/v2/droplets')).status).toBe(200);

    const hourly = await get(sim, '/v2/volumes');
    expect(hourly.status).toBe(429);
    expect(hourly.headers.get('retry-after')).toBeNull();
    const reset = Number(hourly.headers.get('ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 3);
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 6);
    expect((await get(sim, '/v2/volumes')).status).toBe(200);
    expect(sim.requests.count({ fault: 'burst429' })).toBe(1);
  });

  it('rateLimit.perMinute enforces a sliding window with retry-after', async () => {
    sim.setFaults({ rateLimit: { perMinute: 1_000_000 } });
    await get(sim, '/v2/account');
    const used = sim.requests.count({ since: Date.now() - 60_000 });
    sim.setFaults({ rateLimit: { perMinute: used + 2 } });
    expect((await get(sim, '/v2/account')).status).toBe(200);
    expect((await get(sim, '/v2/account')).status).toBe(200);
    const limited = await get(sim, '/v2/account');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    sim.setFaults({ rateLimit: { perHour: 3 } });
    const hourly = await get(sim, '/v2/account');
    expect(hourly.status).toBe(429);
    expect(hourly.headers.get('retry-after')).toBeNull();
    expect(hourly.headers.get('ratelimit-limit')).toBe('3');
    sim.setFaults({});
  });

  it('serverError by count, per path, with skip, status and probability', async () => {
    sim.setFaults({
      serverError: [
        { path: '/v2/droplets', count: 2 },
        { path: '/v2/volumes', skip: 1, count: 1, status: 503 },
      ],
    });
    expect((await get(sim, '/v2/droplets')).status).toBe(500);
    expect((await get(sim, '/v2/droplets')).body).toEqual({
      id: 'server_error',
      message: 'Unexpected server-side error',
    });
    expect((await get(sim, '/v2/droplets')).status).toBe(200);
    expect((await get(sim, '/v2/volumes')).status).toBe(200);
    expect((await get(sim, '/v2/volumes')).status).toBe(503);
    expect((await get(sim, '/v2/volumes')).status).toBe(200);
    expect(sim.faults.fired('serverError')).toEqual([2, 1]);

    sim.setFaults({ serverError: { path: '/v2/projects/*', probability: 0.5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await get(sim, '/v2/projects/default/resources')).status);
    const failures = statuses.filter((s) => s === 500).length;
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(35);
    expect((await get(sim, '/v2/projects')).status).toBe(200);
    sim.setFaults({});
  });

  it('latency delays matching responses', async () => {
    sim.setFaults({ latency: { path: '/v2/domains', ms: 150 } });
    const t0 = performance.now();
    await get(sim, '/v2/domains');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    const t1 = performance.now();
    await get(sim, '/v2/account');
    expect(performance.now() - t1).toBeLessThan(140);
    sim.setFaults({});
  });

  it('dropConnection destroys the socket mid-body or before the headers', async () => {
    sim.setFaults({
      dropConnection: [
        { path: '/v2/droplets', count: 1 },
        { path: '/v2/volumes', count: 1, afterBytes: 0 },
      ],
    });
    await expect(get(sim, '/v2/droplets')).rejects.toThrow();
    await expect(get(sim, '/v2/volumes')).rejects.toThrow();
    expect((await get(sim, '/v2/droplets')).status).toBe(200);
    expect((await get(sim, '/v2/volumes')).status).toBe(200);
    expect(sim.requests.count({ fault: 'dropConnection' })).toBe(2);
    sim.setFaults({ dropConnection: { path: '/v2/customers/my/invoices/*/csv', afterBytes: 500 } });
    await expect(get(sim, `/v2/customers/my/invoices/${sim.billing.invoices[0]!.uuid}/csv`)).rejects.toThrow();
    sim.setFaults({});
  });

  it('truncateListing: a short page without next before meta.total is reached', async () => {
    sim.setFaults({ truncateListing: { path: '/v2/droplets', atPage: 1, keepItems: 7 } });
    const r = await walk(sim, '/v2/droplets', 'droplets');
    expect(r.requests).toBe(1);
    expect(r.items).toHaveLength(7);
    expect(r.total).toBe(sim.account.count('droplet'));
    sim.setFaults({});
  });

  it('endlessNext: every page has a next and items repeat', async () => {
    sim.setFaults({ endlessNext: { path: '/v2/droplets' } });
    const total = sim.account.count('droplet');
    const seen: unknown[] = [];
    let next: string | undefined = '/v2/droplets?per_page=20';
    for (let i = 0; i < 8 && next; i++) {
      const r: Got<PagedListing & { droplets: Droplet[] }> = await get(sim, next);
      seen.push(...r.body.droplets.map((d) => d.id));
      expect(r.body.meta.total).toBe(total);
      next = r.body.links.pages.next;
    }
    expect(next).toBeDefined();
    expect(seen.length).toBeGreaterThan(total);
    expect(new Set(seen).size).toBe(total);
    sim.setFaults({});
  });

  it('repeatPage: page 2 repeats page 1', async () => {
    sim.setFaults({ repeatPage: { path: '/v2/droplets', page: 1 } });
    const p1 = await get(sim, '/v2/droplets?page=1');
    const p2 = await get<PagedListing>(sim, '/v2/droplets?page=2');
    expect(p2.body.droplets).toEqual(p1.body.droplets);
    expect(p2.body.links.pages.prev).toContain('page=1');
    sim.setFaults({});
    expect((await get(sim, '/v2/droplets?page=2')).body.droplets).not.toEqual(p1.body.droplets);
  });

  it('query-scoped rules only hit matching requests', async () => {
    sim.setFaults({ serverError: { path: '/v2/snapshots', query: { resource_type: 'volume' } } });
    expect((await get(sim, '/v2/snapshots?resource_type=droplet')).status).toBe(200);
    expect((await get(sim, '/v2/snapshots?resource_type=volume')).status).toBe(500);
    sim.setFaults({});
  });
});

describe('simulator: scale', () => {
  it('serves 10,000 droplets and 20,000 snapshots in 50 + 100 requests at per_page=200', async () => {
    const sim = await startSimulator({ seed: 1, scale: { droplets: 10_000, snapshots: 20_000 } });
    try {
      expect(sim.account.count('droplet')).toBeGreaterThanOrEqual(10_000);
      const droplets = await walk<Droplet>(sim, '/v2/droplets?per_page=200', 'droplets');
      const snapshots = await walk(sim, '/v2/snapshots?per_page=200', 'snapshots');
      expect(droplets.items).toHaveLength(sim.account.count('droplet'));
      expect(new Set(droplets.items.map((d) => d.id)).size).toBe(droplets.items.length);
      expect(snapshots.items).toHaveLength(20_000);
      expect(sim.requests.count({ path: '/v2/droplets' })).toBe(Math.ceil(sim.account.count('droplet') / 200));
      expect(sim.requests.count({ path: '/v2/snapshots' })).toBe(100);
    } finally {
      await sim.close();
    }
  }, 60_000);
});
