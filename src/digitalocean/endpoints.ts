/**
 * Every DigitalOcean endpoint cloud-ops reads, declared once: path, list key, pagination, fallback, item identity,
 * item transform. The client (client.ts) turns these into typed functions and walks any of them with `list`; the
 * inventory's kind table points at these specs rather than restating them.
 */
import {
  DATABASE_SECRET_FIELDS,
  type App,
  type BillingDataPoint,
  type BillingHistoryEntry,
  type DatabaseCluster,
  type Domain,
  type Droplet,
  type Firewall,
  type InvoiceItem,
  type InvoiceListItem,
  type KubernetesCluster,
  type LoadBalancer,
  type Project,
  type ProjectResource,
  type ReservedIp,
  type ReservedIpv6,
  type Snapshot,
  type Volume,
} from './types.js';

/** Query parameters of a request; undefined values are left out. */
export type QueryParams = Record<string, string | number | boolean | undefined>;

/** How one list endpoint is walked. */
export interface ListSpec<T> {
  /** API path, e.g. `/v2/droplets`. */
  path: string;
  /** Key of the array in the body, e.g. `droplets`. */
  key: string;
  /** Extra query parameters (filters). */
  query?: QueryParams;
  /**
   * Identity of an item, for repeated-page and duplicate detection. Lists without an id (invoice items, billing
   * history: two identical lines can both be real money) leave it out: their items are never de-duplicated, and a
   * repeated page is recognised by the page's whole content instead.
   */
  idOf?: (item: T) => string;
  /** False for endpoints that return everything at once and take no page params (`/v2/databases`). */
  paginated?: boolean;
  /** How the body says what comes next: `links` (`links.pages.next`, `meta.total`; the default) or `total_pages`
   *  (`current_page`, `total_pages`, `total_items`: billing insights). */
  pagination?: 'links' | 'total_pages';
  /** Applied to every raw item before anything else sees it (e.g. stripping database credentials). */
  map?: (raw: unknown) => T;
  /** Sees each raw body (e.g. to pick up `invoice_preview` from the invoices list). */
  inspectBody?: (body: Record<string, unknown>, page: number) => void;
  /**
   * Listed instead when this endpoint does not exist here (404/405/410/501 on its first page): same items, other
   * path and key. The client's `list` follows it; `walkList` itself walks only `path`.
   */
  fallback?: ListSpec<T>;
}

const byId = (item: { id: string | number }): string => String(item.id);

/** Statuses that mean "this endpoint does not exist here": what sends a listing to its `fallback`. */
export const ENDPOINT_UNAVAILABLE: ReadonlySet<number> = new Set([404, 405, 410, 501]);

/** Only non-GPU droplets: `/v2/droplets` leaves GPU droplets out unless asked for them (`gpuDroplets`). */
export const droplets: ListSpec<Droplet> = { path: '/v2/droplets', key: 'droplets', idOf: byId };
export const gpuDroplets: ListSpec<Droplet> = { ...droplets, query: { type: 'gpus' } };
export const volumes: ListSpec<Volume> = { path: '/v2/volumes', key: 'volumes', idOf: byId };

export function snapshots(resourceType?: 'droplet' | 'volume'): ListSpec<Snapshot> {
  return {
    path: '/v2/snapshots',
    key: 'snapshots',
    idOf: byId,
    ...(resourceType && { query: { resource_type: resourceType } }),
  };
}

/** The legacy name of the reserved-IP list, used only when /v2/reserved_ips is unavailable. */
export const floatingIps: ListSpec<ReservedIp> = { path: '/v2/floating_ips', key: 'floating_ips', idOf: (ip) => ip.ip };
export const reservedIps: ListSpec<ReservedIp> = {
  path: '/v2/reserved_ips',
  key: 'reserved_ips',
  idOf: (ip) => ip.ip,
  fallback: floatingIps,
};
export const reservedIpv6s: ListSpec<ReservedIpv6> = {
  path: '/v2/reserved_ipv6',
  key: 'reserved_ipv6s',
  idOf: (ip) => ip.ip,
};
export const firewalls: ListSpec<Firewall> = { path: '/v2/firewalls', key: 'firewalls', idOf: byId };
export const loadBalancers: ListSpec<LoadBalancer> = { path: '/v2/load_balancers', key: 'load_balancers', idOf: byId };
export const domains: ListSpec<Domain> = { path: '/v2/domains', key: 'domains', idOf: (d) => d.name };
export const projects: ListSpec<Project> = { path: '/v2/projects', key: 'projects', idOf: byId };
export const defaultProjectPath = '/v2/projects/default';

/** Members of a project; `'default'` gives `/v2/projects/default/resources`. */
export function projectResources(projectId: string): ListSpec<ProjectResource> {
  return { path: `/v2/projects/${encodeURIComponent(projectId)}/resources`, key: 'resources', idOf: (r) => r.urn };
}

/** Unpaginated; every cluster goes through `stripDatabaseSecrets` before anyone sees it. */
export const databases: ListSpec<DatabaseCluster> = {
  path: '/v2/databases',
  key: 'databases',
  idOf: byId,
  paginated: false,
  map: stripDatabaseSecrets,
};
export const kubernetesClusters: ListSpec<KubernetesCluster> = {
  path: '/v2/kubernetes/clusters',
  key: 'kubernetes_clusters',
  idOf: byId,
};
export const apps: ListSpec<App> = { path: '/v2/apps', key: 'apps', idOf: byId, query: { with_projects: 'true' } };

/**
 * Billing history entries have no id. Two identical entries (same date, type, amount, description) can both be real,
 * so the walk does not de-duplicate them; the billing ingest keys them.
 */
export const billingHistory: ListSpec<BillingHistoryEntry> = {
  path: '/v2/customers/my/billing_history',
  key: 'billing_history',
};
export const invoices: ListSpec<InvoiceListItem> = {
  path: '/v2/customers/my/invoices',
  key: 'invoices',
  idOf: (i) => i.invoice_uuid,
};

/** Line items of one invoice (`'preview'` = month to date). No id, and identical lines can both be real: no de-duplication. */
export function invoiceItems(invoiceUuid: string): ListSpec<InvoiceItem> {
  return { path: `/v2/customers/my/invoices/${encodeURIComponent(invoiceUuid)}`, key: 'invoice_items' };
}

export const accountPath = '/v2/account';
export const balancePath = '/v2/customers/my/balance';

export const invoiceSummaryPath = (invoiceUuid: string): string =>
  `/v2/customers/my/invoices/${encodeURIComponent(invoiceUuid)}/summary`;
export const invoiceCsvPath = (invoiceUuid: string): string =>
  `/v2/customers/my/invoices/${encodeURIComponent(invoiceUuid)}/csv`;

/**
 * Billing insights of a team (`do:team:<uuid>`) or organization (`do:teamgroup:<uuid>`) for days `start`..`end`
 * (YYYY-MM-DD, at most 31 days apart). Paged by `total_pages`/`current_page`; points have no id, and two identical
 * points can both be real (two same-name, same-size droplets): no de-duplication.
 */
export function billingInsights(accountUrn: string, start: string, end: string): ListSpec<BillingDataPoint> {
  const urn = encodeURIComponent(accountUrn).replace(/%3A/gi, ':');
  return { path: `/v2/billing/${urn}/insights/${start}/${end}`, key: 'data_points', pagination: 'total_pages' };
}

// ---------------------------------------------------------------------------------------------------------------
// Database credentials

const SECRET_FIELDS = new Set<string>(DATABASE_SECRET_FIELDS);
const SECRET_SEGMENTS = new Set(['password', 'passwd', 'pwd', 'uri', 'secret', 'token', 'key', 'cert', 'credentials']);
const URI_WITH_USERINFO = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]*@/i;

function isSecretKey(key: string): boolean {
  const lower = key.toLowerCase();
  if (
    SECRET_FIELDS.has(lower) ||
    lower.endsWith('connection') ||
    lower.includes('password') ||
    lower.includes('passwd')
  ) {
    return true;
  }
  return lower.split(/[_\-.]/).some((segment) => SECRET_SEGMENTS.has(segment));
}

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (isSecretKey(key)) continue;
    if (typeof child === 'string' && URI_WITH_USERINFO.test(child)) continue;
    out[key] = scrub(child);
  }
  return out;
}

/**
 * A database cluster without credentials: drops `connection`, `private_connection`, `standby_connection`,
 * `standby_private_connection`, every other `*connection`, `users` (they carry passwords and access keys),
 * `metrics_endpoints`, and, at any depth, every field named like a password/uri/secret/token/key/cert or holding a
 * URI with user info. Returns a new object; the raw one is left for the garbage collector.
 */
export function stripDatabaseSecrets(raw: unknown): DatabaseCluster {
  return scrub(raw) as DatabaseCluster;
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoint classes: the bounded name of the endpoint a path belongs to, for metrics and span names (a path carries
// ids: a project's uuid, an invoice's). Derived from the declarations above, with a placeholder for each argument.

const ARGUMENT = 'ARGUMENT';
const ENDPOINT_PATHS: ReadonlyArray<readonly [string, string]> = [
  ['droplets', droplets.path],
  ['volumes', volumes.path],
  ['snapshots', snapshots().path],
  ['reserved_ips', reservedIps.path],
  ['floating_ips', floatingIps.path],
  ['reserved_ipv6', reservedIpv6s.path],
  ['firewalls', firewalls.path],
  ['load_balancers', loadBalancers.path],
  ['domains', domains.path],
  ['projects', projects.path],
  ['default_project', defaultProjectPath],
  ['project_resources', projectResources(ARGUMENT).path],
  ['databases', databases.path],
  ['kubernetes_clusters', kubernetesClusters.path],
  ['apps', apps.path],
  ['billing_history', billingHistory.path],
  ['invoices', invoices.path],
  ['invoice_items', invoiceItems(ARGUMENT).path],
  ['invoice_summary', invoiceSummaryPath(ARGUMENT)],
  ['invoice_csv', invoiceCsvPath(ARGUMENT)],
  ['balance', balancePath],
  ['account', accountPath],
];
const ENDPOINT_PATTERNS = ENDPOINT_PATHS.map(
  ([name, path]) => [name, new RegExp(`^${path.split(ARGUMENT).map(escapeRegExp).join('[^/]+')}$`)] as const,
);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The endpoint class of a request path (without its query): one of the names above, or `other`. */
export function endpointClass(path: string): string {
  for (const [name, pattern] of ENDPOINT_PATTERNS) if (pattern.test(path)) return name;
  return 'other';
}
