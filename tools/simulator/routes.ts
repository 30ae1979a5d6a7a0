/**
 * Routes of the simulator: GET endpoints of the DigitalOcean API v2 that cloud-ops reads, with DO's
 * pagination (page/per_page, `links.pages`, `meta.total`) and the listing faults applied per page.
 */
import { Billing, type Invoice } from './billing.js';
import type { CorruptCsvFault, FaultEngine, FaultName } from './faults.js';
import { Renderer, projectMembers, type Variant } from './shapes.js';
import type { Kind, KindRecords, SimAccount } from './state.js';

/** A JSON answer (body already serialized), or a streamed CSV/PDF. */
export type Reply =
  | { status: number; body: Buffer; contentType: string; headers?: Record<string, string>; fault?: FaultName }
  | {
      status: number;
      stream: Iterable<string | Buffer>;
      contentType: string;
      headers?: Record<string, string>;
      fault?: FaultName;
    };

export interface RouteContext {
  method: string;
  path: string;
  query: URLSearchParams;
  account: SimAccount;
  billing: Billing;
  renderer: Renderer;
  faults: FaultEngine;
}

export const NOT_FOUND_BODY = '{"id":"not_found","message":"The resource you were accessing could not be found."}';

export function jsonReply(status: number, body: string | Buffer, fault?: FaultName): Reply {
  return {
    status,
    body: typeof body === 'string' ? Buffer.from(body) : body,
    contentType: 'application/json; charset=utf-8',
    ...(fault ? { fault } : {}),
  };
}

export function errorReply(status: number, id: string, message: string, fault?: FaultName): Reply {
  return jsonReply(status, JSON.stringify({ id, message }), fault);
}

const notFound = (): Reply => jsonReply(404, NOT_FOUND_BODY);

// ---------------------------------------------------------------------------------------------------------------
// Pagination

export const DEFAULT_PER_PAGE = 20;
export const MAX_PER_PAGE = 200;

/** A list to page through: its size and a way to render a range of it to JSON texts. */
export interface ListSource {
  total: number;
  render(start: number, end: number): string[];
}

function arraySource<T>(items: readonly T[], render: (item: T) => string): ListSource {
  return { total: items.length, render: (s, e) => items.slice(s, e).map(render) };
}

export function parsePaging(query: URLSearchParams): { page: number; perPage: number } {
  const rawPer = Number.parseInt(query.get('per_page') ?? '', 10);
  const rawPage = Number.parseInt(query.get('page') ?? '', 10);
  const perPage = Number.isNaN(rawPer) ? DEFAULT_PER_PAGE : Math.min(MAX_PER_PAGE, Math.max(1, rawPer));
  const page = Number.isNaN(rawPage) ? 1 : Math.max(1, rawPage);
  return { page, perPage };
}

/** Absolute page URL on the public host: `https://api.digitalocean.com/v2/droplets?page=2&per_page=200`. */
function pageUrl(ctx: RouteContext, page: number, perPage: number): string {
  const extra = new URLSearchParams(ctx.query);
  extra.delete('page');
  extra.delete('per_page');
  const rest = extra.toString();
  return `${ctx.renderer.linkBase}${ctx.path}?page=${page}&per_page=${perPage}${rest ? `&${rest}` : ''}`;
}

/** Rendered pages, per state version (invalidated by any churn). */
class PageCache {
  private readonly entries = new Map<string, Buffer>();
  private version = -1;

  get(version: number, key: string): Buffer | undefined {
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
    }
    return this.entries.get(key);
  }

  set(key: string, body: Buffer): void {
    if (this.entries.size > 4000) this.entries.clear();
    this.entries.set(key, body);
  }
}

const pageCaches = new WeakMap<SimAccount, PageCache>();

/**
 * One page of a list as DO serves it: `{"<key>":[…],"links":{…},"meta":{"total":N}}` (+ `extra` fields),
 * with the listing faults of the fault engine applied.
 */
export function listPage(
  ctx: RouteContext,
  key: string,
  source: () => ListSource,
  extra?: () => Record<string, unknown>,
): Reply {
  const { page, perPage } = parsePaging(ctx.query);
  const req = { path: ctx.path, query: ctx.query };
  const truncate = ctx.faults.take('truncateListing', req);
  const endless = ctx.faults.take('endlessNext', req);
  const repeat = ctx.faults.take('repeatPage', req);
  const faulty = truncate ?? endless ?? repeat;

  let cache = pageCaches.get(ctx.account);
  if (!cache) {
    cache = new PageCache();
    pageCaches.set(ctx.account, cache);
  }
  const cacheKey = `${ctx.account.now.getTime()} ${ctx.path}?${ctx.query.toString()}`;
  if (!faulty) {
    const hit = cache.get(ctx.account.version, cacheKey);
    if (hit) return jsonReply(200, hit);
  }

  const src = source();
  const total = src.total;
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  let itemsPage = page;
  let fault: FaultName | undefined;
  if (repeat && page === (repeat.page ?? 1) + 1) {
    itemsPage = page - 1;
    fault = 'repeatPage';
  }
  if (endless && page > lastPage) {
    itemsPage = ((page - 1) % lastPage) + 1;
    fault = 'endlessNext';
  }
  let items = src.render((itemsPage - 1) * perPage, itemsPage * perPage);
  const pages: Record<string, string> = {};
  if (page > 1) {
    pages.first = pageUrl(ctx, 1, perPage);
    pages.prev = pageUrl(ctx, page - 1, perPage);
  }
  let hasNext = page < lastPage;
  if (endless) {
    hasNext = true;
    fault = 'endlessNext';
  }
  if (truncate && page === (truncate.atPage ?? 1)) {
    const keep = truncate.keepItems ?? Math.min(Math.floor(items.length / 2), Math.max(0, items.length - 1));
    items = items.slice(0, Math.max(0, keep));
    hasNext = false;
    fault = 'truncateListing';
  }
  if (hasNext) {
    pages.next = pageUrl(ctx, page + 1, perPage);
    if (!endless) pages.last = pageUrl(ctx, lastPage, perPage);
  }
  const links = Object.keys(pages).length > 0 ? JSON.stringify({ pages }) : '{}';
  let body = `{"${key}":[${items.join(',')}],"links":${links},"meta":{"total":${total}}`;
  if (extra) {
    for (const [k, v] of Object.entries(extra())) body += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  body += '}';
  const buf = Buffer.from(body);
  if (!faulty) cache.set(cacheKey, buf);
  return jsonReply(200, buf, fault);
}

// ---------------------------------------------------------------------------------------------------------------
// Routes

interface Collection {
  kind: Kind;
  listKey: string;
  singleKey: string;
  /** Optional filter from query parameters. */
  filter?: (rec: KindRecords[Kind], query: URLSearchParams) => boolean;
  variant?: (query: URLSearchParams) => Variant;
}

const tagFilter = (rec: KindRecords[Kind], q: URLSearchParams): boolean => {
  const tag = q.get('tag_name');
  return !tag || ((rec as { tags?: string[] }).tags ?? []).includes(tag);
};

/** Like DigitalOcean: `/v2/droplets` lists regular droplets, `?type=gpus` only GPU droplets (gpu-* sizes). */
const dropletFilter = (rec: KindRecords[Kind], q: URLSearchParams): boolean => {
  const isGpu = ((rec as KindRecords['droplet']).size_slug ?? '').startsWith('gpu-');
  return tagFilter(rec, q) && (q.get('type') === 'gpus' ? isGpu : !isGpu);
};

/** Paginated collections by path (`/v2/<path>` and `/v2/<path>/<id>`). */
const COLLECTIONS: Record<string, Collection> = {
  droplets: { kind: 'droplet', listKey: 'droplets', singleKey: 'droplet', filter: dropletFilter },
  volumes: {
    kind: 'volume',
    listKey: 'volumes',
    singleKey: 'volume',
    filter: (rec, q) => {
      const v = rec as KindRecords['volume'];
      return (!q.get('name') || v.name === q.get('name')) && (!q.get('region') || v.region === q.get('region'));
    },
  },
  snapshots: {
    kind: 'snapshot',
    listKey: 'snapshots',
    singleKey: 'snapshot',
    filter: (rec, q) =>
      !q.get('resource_type') || (rec as KindRecords['snapshot']).resource_type === q.get('resource_type'),
  },
  reserved_ips: { kind: 'reserved_ip', listKey: 'reserved_ips', singleKey: 'reserved_ip' },
  floating_ips: { kind: 'reserved_ip', listKey: 'floating_ips', singleKey: 'floating_ip' },
  reserved_ipv6: { kind: 'reserved_ipv6', listKey: 'reserved_ipv6s', singleKey: 'reserved_ipv6' },
  firewalls: { kind: 'firewall', listKey: 'firewalls', singleKey: 'firewall' },
  load_balancers: { kind: 'load_balancer', listKey: 'load_balancers', singleKey: 'load_balancer' },
  domains: { kind: 'domain', listKey: 'domains', singleKey: 'domain' },
  'kubernetes/clusters': { kind: 'kubernetes', listKey: 'kubernetes_clusters', singleKey: 'kubernetes_cluster' },
  apps: {
    kind: 'app',
    listKey: 'apps',
    singleKey: 'app',
    variant: (q) => (q.get('with_projects') === 'true' ? 'with_projects' : ''),
  },
};

function filteredList(ctx: RouteContext, c: Collection): readonly KindRecords[Kind][] {
  const all = ctx.account.list(c.kind);
  if (!c.filter) return all;
  return all.filter((r) => c.filter!(r, ctx.query));
}

function collectionRoute(ctx: RouteContext, c: Collection, id: string | undefined): Reply {
  const variant = c.variant?.(ctx.query) ?? '';
  if (id === undefined) {
    return listPage(ctx, c.listKey, () =>
      arraySource(filteredList(ctx, c), (r) => ctx.renderer.json(c.kind, r, variant)),
    );
  }
  const rec = ctx.account.get(c.kind, id);
  if (!rec) return notFound();
  return jsonReply(200, `{"${c.singleKey}":${ctx.renderer.json(c.kind, rec, variant)}}`);
}

function projectsRoute(ctx: RouteContext, rest: string[]): Reply {
  const { account, renderer } = ctx;
  if (rest.length === 0) {
    return listPage(ctx, 'projects', () => arraySource(account.list('project'), (p) => renderer.json('project', p)));
  }
  const project = rest[0] === 'default' ? account.defaultProject : account.get('project', rest[0]!);
  if (!project) return notFound();
  if (rest.length === 1) return jsonReply(200, `{"project":${renderer.json('project', project)}}`);
  if (rest.length === 2 && rest[1] === 'resources') {
    return listPage(ctx, 'resources', () =>
      arraySource(projectMembers(account, project.id), (m) => {
        const self = renderer.selfLink(m.urn);
        return JSON.stringify({
          urn: m.urn,
          assigned_at: m.assigned_at,
          links: self ? { self } : {},
          status: m.status,
        });
      }),
    );
  }
  return notFound();
}

function databasesRoute(ctx: RouteContext, id: string | undefined): Reply {
  const { account, renderer } = ctx;
  if (id === undefined) {
    // Unpaginated: no page/per_page, no links, no meta.
    const tag = ctx.query.get('tag_name');
    const list = account.list('database').filter((d) => !tag || d.tags.includes(tag));
    return jsonReply(200, `{"databases":[${list.map((d) => renderer.json('database', d)).join(',')}]}`);
  }
  const db = account.get('database', id);
  return db ? jsonReply(200, `{"database":${renderer.json('database', db)}}`) : notFound();
}

function invoiceSource(inv: Invoice): ListSource {
  return {
    total: inv.lineCount,
    render: (s, e) => {
      const out: string[] = [];
      for (let i = s; i < Math.min(e, inv.lineCount); i++) out.push(JSON.stringify(Billing.jsonItem(inv.lineAt(i))));
      return out;
    },
  };
}

/** The invoice's CSV with the fault applied (faults.ts, CorruptCsvFault); built in memory (small invoices). */
function corruptedCsv(inv: Invoice, fault: CorruptCsvFault): Array<string | Buffer> {
  const header = Billing.CSV_HEADER.split(',');
  if (fault.mode === 'headerOnly') return [`${header.join(',')}\n`];
  if (fault.mode === 'nulInHeader') {
    const at = (fault.column ?? 7) - 1;
    header[at] = `${header[at]!.slice(0, 1)}\u0000${header[at]!.slice(1)}`;
    const rows = Array.from({ length: inv.lineCount }, (_, i) => `${Billing.csvRow(inv.lineAt(i), inv)}\n`);
    return [`${header.join(',')}\n`, ...rows];
  }
  const target = (fault.line ?? 1) - 1;
  const column = (fault.column ?? 3) - 1;
  const out: Array<string | Buffer> = [`${header.join(',')}\n`];
  for (let i = 0; i < inv.lineCount; i++) {
    const cells = Billing.csvCells(inv.lineAt(i), inv);
    if (i !== target) {
      out.push(`${cells.join(',')}\n`);
      continue;
    }
    // Inside the cell: after its opening quote when it is quoted, so the row stays well-formed CSV.
    const before = [...cells.slice(0, column), cells[column]!.slice(0, 1)].join(',');
    const after = `${cells[column]!.slice(1)}${[...cells.slice(column + 1)].map((c) => `,${c}`).join('')}\n`;
    const inject = fault.mode === 'nulInCell' ? Buffer.from([0]) : Buffer.from([0xff, 0xfe]);
    out.push(Buffer.concat([Buffer.from(before), inject, Buffer.from(after)]));
  }
  return out;
}

const MINIMAL_PDF =
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n';

function billingRoute(ctx: RouteContext, rest: string[]): Reply {
  const { billing } = ctx;
  const [what, uuid, sub, ...more] = rest;
  if (what === 'balance' && rest.length === 1) return jsonReply(200, JSON.stringify(billing.balance()));
  if (what === 'billing_history' && rest.length === 1) {
    return listPage(ctx, 'billing_history', () =>
      arraySource(billing.history, (h) => JSON.stringify(billing.historyItem(h))),
    );
  }
  if (what !== 'invoices' || more.length > 0) return notFound();
  if (uuid === undefined) {
    return listPage(
      ctx,
      'invoices',
      () => arraySource(billing.invoices, (i) => JSON.stringify(billing.listItem(i))),
      () => ({ invoice_preview: billing.listItem(billing.preview()) }),
    );
  }
  const inv = billing.find(uuid);
  if (!inv) return notFound();
  if (sub === undefined) return listPage(ctx, 'invoice_items', () => invoiceSource(inv));
  if (sub === 'summary') return jsonReply(200, JSON.stringify(billing.summary(inv)));
  if (sub === 'csv') {
    const corrupt = ctx.faults.take('corruptCsv', { path: ctx.path, query: ctx.query });
    return {
      status: 200,
      stream: corrupt ? corruptedCsv(inv, corrupt) : Billing.csvChunks(inv),
      contentType: 'text/csv',
      headers: { 'content-disposition': `attachment; filename="${billing.csvFilename(inv)}"` },
      ...(corrupt ? { fault: 'corruptCsv' as const } : {}),
    };
  }
  if (sub === 'pdf') {
    return {
      status: 200,
      body: Buffer.from(MINIMAL_PDF),
      contentType: 'application/pdf',
      headers: {
        'content-disposition': `attachment; filename="${billing.csvFilename(inv).replace(/\.csv$/, '.pdf')}"`,
      },
    };
  }
  return notFound();
}

const DAY_TEXT = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `/v2/billing/{account_urn}/insights/{start}/{end}`: the team's points (billing.ts, insights), paged by
 * `total_items`/`total_pages`/`current_page` (no links, no meta), with `truncateListing` (a short page that claims to
 * be the last) and `repeatPage` applied; `serverError` on a `page` query fails a walk in the middle.
 */
function insightsRoute(ctx: RouteContext, rest: string[]): Reply {
  const [urn, what, start, end, ...more] = rest;
  if (what !== 'insights' || more.length > 0 || !urn || !start || !end) return notFound();
  if (urn !== `do:team:${ctx.account.teamUuid}`) return notFound();
  const startMs = Date.parse(`${start}T00:00:00Z`);
  const endMs = Date.parse(`${end}T00:00:00Z`);
  if (!DAY_TEXT.test(start) || !DAY_TEXT.test(end) || Number.isNaN(startMs) || Number.isNaN(endMs))
    return errorReply(400, 'bad_request', 'start_date and end_date must be dates in YYYY-MM-DD format');
  if (endMs < startMs || endMs - startMs > 31 * 86_400_000)
    return errorReply(400, 'bad_request', 'end_date must be on or after start_date and within 31 days of it');
  const { page, perPage } = parsePaging(ctx.query);
  const req = { path: ctx.path, query: ctx.query };
  const truncate = ctx.faults.take('truncateListing', req);
  const repeat = ctx.faults.take('repeatPage', req);
  const points = ctx.billing.insights(start, end);
  const totalItems = points.length;
  let totalPages = Math.ceil(totalItems / perPage);
  let itemsPage = page;
  let fault: FaultName | undefined;
  if (repeat && page === (repeat.page ?? 1) + 1) {
    itemsPage = page - 1;
    fault = 'repeatPage';
  }
  let items = points.slice((itemsPage - 1) * perPage, itemsPage * perPage);
  if (truncate && page === (truncate.atPage ?? 1)) {
    items = items.slice(0, truncate.keepItems ?? Math.floor(items.length / 2));
    totalPages = page;
    fault = 'truncateListing';
  }
  const body =
    `{"data_points":[${items.map((p) => JSON.stringify(ctx.billing.insightItem(p))).join(',')}],` +
    `"total_items":${totalItems},"total_pages":${totalPages},"current_page":${page}}`;
  return jsonReply(200, body, fault);
}

/** Dispatch one GET request. */
export function route(ctx: RouteContext): Reply {
  const segments = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
  if (segments[0] !== 'v2') return notFound();
  const [, head, ...rest] = segments;
  if (head === undefined) return notFound();
  if (head === 'account' && rest.length === 0)
    return jsonReply(200, JSON.stringify({ account: ctx.renderer.account_() }));
  if (head === 'projects') return projectsRoute(ctx, rest);
  if (head === 'databases' && rest.length <= 1) return databasesRoute(ctx, rest[0]);
  if (head === 'customers' && rest[0] === 'my') return billingRoute(ctx, rest.slice(1));
  if (head === 'billing') return insightsRoute(ctx, rest);
  if (head === 'kubernetes' && rest[0] === 'clusters' && rest.length <= 2) {
    return collectionRoute(ctx, COLLECTIONS['kubernetes/clusters']!, rest[1]);
  }
  const c = COLLECTIONS[head];
  if (c && rest.length <= 1) return collectionRoute(ctx, c, rest[0]);
  return notFound();
}
