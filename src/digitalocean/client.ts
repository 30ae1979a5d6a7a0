/**
 * The DigitalOcean API client: typed functions for every endpoint cloud-ops reads.
 *
 * ```ts
 * const client = createDigitalOceanClient({ token, baseUrl: config.digitaloceanApiUrl, logger });
 * const listing = await client.listDroplets({ collect: false, onPage: async (items) => upsert(items) });
 * if (!listing.complete) skipMarkStale(listing.incompleteReason);
 * ```
 *
 * Contracts (details on each type):
 * - Listings (`list*`) resolve with a `Listing` that says whether it is complete and why not, and reject with a
 *   `DigitalOceanError` (carrying `error.listing` progress) when a request fails after its retries. See `Listing`.
 * - Single objects (`get*`) resolve with the object or reject with a `DigitalOceanError`.
 * - The token is in no enumerable field, message, stack or log line; errors are built from plain values.
 * - `stats()` counts API calls (every attempt) for the client's lifetime; `resetStats()` zeroes them. Each listing
 *   reports its own `apiCalls`.
 */
import { DigitalOceanError } from './errors.js';
import * as ep from './endpoints.js';
import { walkList, type ListOptions, type ListSpec, type Listing } from './pagination.js';
import {
  createTransport,
  type CallCounter,
  type StreamResponse,
  type Transport,
  type TransportOptions,
  type TransportStats,
} from './transport.js';
import type {
  Account,
  App,
  Balance,
  BillingDataPoint,
  BillingHistoryEntry,
  DatabaseCluster,
  Domain,
  Droplet,
  Firewall,
  InvoiceItem,
  InvoiceListItem,
  InvoicePreview,
  InvoiceSummary,
  KubernetesCluster,
  LoadBalancer,
  Project,
  ProjectResource,
  ReservedIp,
  ReservedIpv6,
  Snapshot,
  Volume,
} from './types.js';

export type { ListOptions, ListSpec, Listing, PageInfo } from './pagination.js';
export type { CallCounter } from './transport.js';
export { DigitalOceanError } from './errors.js';

export type DigitalOceanClientOptions = TransportOptions;

export interface SourcedListing<T> extends Listing<T> {
  /** The path that answered: the spec's own, or its fallback's when the former is unavailable. */
  path: string;
}

export interface ReservedIpListing extends Listing<ReservedIp> {
  /** Which endpoint answered: `reserved_ips`, or the legacy `floating_ips` when the former is unavailable. */
  source: 'reserved_ips' | 'floating_ips';
}

export interface InvoiceListing extends Listing<InvoiceListItem> {
  /** The month-to-date invoice (`invoice_preview`), from the first page. */
  preview?: InvoicePreview;
}

export interface InvoiceCsv {
  /** The CSV bytes as they arrive; never buffered whole. Read errors are DigitalOceanError. */
  stream: StreamResponse['stream'];
  contentType?: string;
  /** From `content-disposition`, e.g. `DigitalOcean Invoice 2020 Jul (6173678-418071234).csv`. */
  filename?: string;
  requestId?: string;
}

export interface GetOptions {
  signal?: AbortSignal;
  /** Counts the request's attempts into it, also when it fails. */
  counter?: CallCounter;
}

export interface DigitalOceanClient {
  /** `/v2/account` */
  getAccount(options?: GetOptions): Promise<Account>;
  /** `/v2/droplets` */
  listDroplets(options?: ListOptions<Droplet>): Promise<Listing<Droplet>>;
  /** `/v2/volumes` */
  listVolumes(options?: ListOptions<Volume>): Promise<Listing<Volume>>;
  /** `/v2/snapshots`, all or only `droplet` / `volume` snapshots. */
  listSnapshots(options?: ListOptions<Snapshot> & { resourceType?: 'droplet' | 'volume' }): Promise<Listing<Snapshot>>;
  /** `/v2/reserved_ips`; `/v2/floating_ips` only when the former answers 404/405/410/501 on its first page. */
  listReservedIps(options?: ListOptions<ReservedIp>): Promise<ReservedIpListing>;
  /** `/v2/reserved_ipv6` (key `reserved_ipv6s`) */
  listReservedIpv6s(options?: ListOptions<ReservedIpv6>): Promise<Listing<ReservedIpv6>>;
  /** `/v2/firewalls` */
  listFirewalls(options?: ListOptions<Firewall>): Promise<Listing<Firewall>>;
  /** `/v2/load_balancers` */
  listLoadBalancers(options?: ListOptions<LoadBalancer>): Promise<Listing<LoadBalancer>>;
  /** `/v2/domains` */
  listDomains(options?: ListOptions<Domain>): Promise<Listing<Domain>>;
  /** `/v2/projects` */
  listProjects(options?: ListOptions<Project>): Promise<Listing<Project>>;
  /** `/v2/projects/default` */
  getDefaultProject(options?: GetOptions): Promise<Project>;
  /** `/v2/projects/{id}/resources`; pass `'default'` for `/v2/projects/default/resources`. */
  listProjectResources(projectId: string, options?: ListOptions<ProjectResource>): Promise<Listing<ProjectResource>>;
  /** `/v2/databases` (one unpaginated call), credentials stripped before the items leave the client. */
  listDatabases(options?: ListOptions<DatabaseCluster>): Promise<Listing<DatabaseCluster>>;
  /** `/v2/kubernetes/clusters` */
  listKubernetesClusters(options?: ListOptions<KubernetesCluster>): Promise<Listing<KubernetesCluster>>;
  /** `/v2/apps?with_projects=true` */
  listApps(options?: ListOptions<App>): Promise<Listing<App>>;
  /** `/v2/customers/my/balance` */
  getBalance(options?: GetOptions): Promise<Balance>;
  /** `/v2/customers/my/billing_history` (paged like the others; `meta.total` is optional here). */
  listBillingHistory(options?: ListOptions<BillingHistoryEntry>): Promise<Listing<BillingHistoryEntry>>;
  /** `/v2/customers/my/invoices`, with the month-to-date `invoice_preview`. */
  listInvoices(options?: ListOptions<InvoiceListItem>): Promise<InvoiceListing>;
  /** `/v2/customers/my/invoices/{uuid}` line items (JSON, paged); `'preview'` for the month to date. */
  listInvoiceItems(invoiceUuid: string, options?: ListOptions<InvoiceItem>): Promise<Listing<InvoiceItem>>;
  /** `/v2/billing/{account_urn}/insights/{start}/{end}` (days YYYY-MM-DD, ≤ 31 apart; paged by total_pages). */
  listBillingInsights(
    accountUrn: string,
    start: string,
    end: string,
    options?: ListOptions<BillingDataPoint>,
  ): Promise<Listing<BillingDataPoint>>;
  /** `/v2/customers/my/invoices/{uuid}/summary` */
  getInvoiceSummary(invoiceUuid: string, options?: GetOptions): Promise<InvoiceSummary>;
  /**
   * `/v2/customers/my/invoices/{uuid}/csv`, streamed: resolves once the headers of a 2xx answer arrived (retries
   * happen before that point only), with a Node Readable of the body.
   */
  getInvoiceCsv(invoiceUuid: string, options?: GetOptions): Promise<InvoiceCsv>;
  /**
   * Walks any declared list endpoint (see endpoints.ts), for code that drives kinds from a table. Same contract as
   * the typed `list*` functions (which are this with a fixed spec). A spec with a `fallback` is listed from the
   * fallback when its own endpoint answers 404/405/410/501 on the first page; `path` says which one answered.
   */
  list<T>(spec: ListSpec<T>, options?: ListOptions<T>): Promise<SourcedListing<T>>;
  /** Counters since creation or the last `resetStats()` (a copy). */
  stats(): TransportStats;
  resetStats(): void;
  /** The API base URL requests go to (no secrets: the token travels only in the Authorization header). */
  readonly baseUrl: string;
}

function filenameOf(contentDisposition: string | undefined): string | undefined {
  if (!contentDisposition) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(contentDisposition);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain parameter
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(contentDisposition);
  return plain ? (plain[2] ?? plain[1])?.trim() : undefined;
}

export function createDigitalOceanClient(options: DigitalOceanClientOptions): DigitalOceanClient {
  return digitalOceanClientOn(createTransport(options));
}

/**
 * The typed client over an existing transport. A process keeps one transport per token (one rate limiter,
 * one set of counters) and every part of it — inventory sync, billing — talks through that one.
 */
export function digitalOceanClientOn(transport: Transport): DigitalOceanClient {
  const log = transport.logger;

  /** GET a single object; `key` picks a member (`account`, `project`), or the body itself when omitted. */
  async function getObject<T>(path: string, key: string | undefined, opts: GetOptions = {}): Promise<T> {
    const response = await transport.getJson(path, {
      ...(opts.signal && { signal: opts.signal }),
      ...(opts.counter && { counter: opts.counter }),
    });
    const body = response.body as Record<string, unknown>;
    const value = key === undefined ? body : body[key];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DigitalOceanError({
        kind: 'invalid_response',
        method: 'GET',
        endpoint: path,
        attempts: response.attempts,
        retryable: false,
        status: response.status,
        detail: key === undefined ? 'body is not an object' : `body has no "${key}" object`,
      });
    }
    return value as T;
  }

  async function list<T>(spec: ListSpec<T>, options: ListOptions<T> = {}): Promise<SourcedListing<T>> {
    const counted = { ...options, counter: options.counter ?? { apiCalls: 0 } };
    try {
      return { ...(await walkList(transport, spec, counted)), path: spec.path };
    } catch (error) {
      // Fall back only when the endpoint itself is missing: decided by status, and only before any page arrived.
      const { fallback } = spec;
      if (
        fallback &&
        error instanceof DigitalOceanError &&
        error.kind === 'http' &&
        error.status !== undefined &&
        ep.ENDPOINT_UNAVAILABLE.has(error.status) &&
        (error.listing?.pages ?? 0) === 0
      ) {
        log.info(
          { status: error.status, path: spec.path, fallback: fallback.path },
          'digitalocean: listing unavailable, using its fallback',
        );
        return { ...(await walkList(transport, fallback, counted)), path: fallback.path };
      }
      throw error;
    }
  }

  async function listReservedIps(options: ListOptions<ReservedIp> = {}): Promise<ReservedIpListing> {
    const { path, ...listing } = await list(ep.reservedIps, options);
    return { ...listing, source: path === ep.floatingIps.path ? 'floating_ips' : 'reserved_ips' };
  }

  async function listInvoices(options: ListOptions<InvoiceListItem> = {}): Promise<InvoiceListing> {
    let preview: InvoicePreview | undefined;
    const spec = {
      ...ep.invoices,
      inspectBody: (body: Record<string, unknown>) => {
        const candidate = body.invoice_preview;
        if (preview === undefined && candidate && typeof candidate === 'object') preview = candidate as InvoicePreview;
      },
    };
    const listing = await walkList(transport, spec, options);
    return preview ? { ...listing, preview } : listing;
  }

  async function getInvoiceCsv(invoiceUuid: string, opts: GetOptions = {}): Promise<InvoiceCsv> {
    const response = await transport.getStream(
      ep.invoiceCsvPath(invoiceUuid),
      opts.signal ? { signal: opts.signal } : {},
    );
    const filename = filenameOf(response.contentDisposition);
    return {
      stream: response.stream,
      ...(response.contentType !== undefined && { contentType: response.contentType }),
      ...(filename !== undefined && { filename }),
      ...(response.requestId !== undefined && { requestId: response.requestId }),
    };
  }

  return {
    getAccount: (o) => getObject<Account>(ep.accountPath, 'account', o),
    listDroplets: (o) => walkList(transport, ep.droplets, o),
    listVolumes: (o) => walkList(transport, ep.volumes, o),
    listSnapshots: (o = {}) => {
      const { resourceType, ...rest } = o;
      return walkList(transport, ep.snapshots(resourceType), rest);
    },
    listReservedIps,
    listReservedIpv6s: (o) => walkList(transport, ep.reservedIpv6s, o),
    listFirewalls: (o) => walkList(transport, ep.firewalls, o),
    listLoadBalancers: (o) => walkList(transport, ep.loadBalancers, o),
    listDomains: (o) => walkList(transport, ep.domains, o),
    listProjects: (o) => walkList(transport, ep.projects, o),
    getDefaultProject: (o) => getObject<Project>(ep.defaultProjectPath, 'project', o),
    listProjectResources: (projectId, o) => walkList(transport, ep.projectResources(projectId), o),
    listDatabases: (o) => walkList(transport, ep.databases, o),
    listKubernetesClusters: (o) => walkList(transport, ep.kubernetesClusters, o),
    listApps: (o) => walkList(transport, ep.apps, o),
    getBalance: (o) => getObject<Balance>(ep.balancePath, undefined, o),
    listBillingHistory: (o) => walkList(transport, ep.billingHistory, o),
    listInvoices,
    listInvoiceItems: (invoiceUuid, o) => walkList(transport, ep.invoiceItems(invoiceUuid), o),
    listBillingInsights: (urn, start, end, o) => walkList(transport, ep.billingInsights(urn, start, end), o),
    getInvoiceSummary: (invoiceUuid, o) => getObject<InvoiceSummary>(ep.invoiceSummaryPath(invoiceUuid), undefined, o),
    getInvoiceCsv,
    list,
    stats: () => transport.stats(),
    resetStats: () => transport.resetStats(),
    baseUrl: transport.baseUrl,
  };
}
