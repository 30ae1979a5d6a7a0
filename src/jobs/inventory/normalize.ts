/**
 * One pure function per resource kind: a DigitalOcean API item in (unknown JSON), one `cloud_resources` row
 * (minus the bookkeeping columns the sync owns) out. No database, no HTTP.
 *
 * Every reader here checks what it reads: the spec's `required` lists are not promises, so a missing or mistyped
 * field (or an item that is not an object at all) becomes null / [] rather than an exception. Decisions worth knowing:
 *
 * - `attrs` holds only what is useful AND reasonably stable: anything that changes without the resource changing
 *   (a droplet's next_backup_window, a domain's zone_file with its SOA serial, k8s node states) would make the
 *   fingerprint churn and every sync report "updated". Those fields are left out on purpose.
 * - Storage sizes (volume, snapshot) are written `${size_gigabytes}GB` ("100GB", "2.34GB"), the same spelling the
 *   invoice CSV uses in volume lines (`volume-sfo2-01 (sfo2) 100GB`); the number is also in attrs.size_gigabytes.
 * - Load balancer size: `size_unit` (the current way, number of nodes) wins and is written "<n> node(s)"; the
 *   deprecated slug (`lb-small`) is used when there is no size_unit. Both raw values are in attrs.
 * - Reserved IPs (v4, kind `floating_ip`) and reserved IPv6 (kind `reserved_ipv6`, its own kind: different
 *   endpoint, list key and shape) use the address as providerId AND as name, so invoice lines
 *   ("Unused Floating IP - 1.2.3.4") can match by (kind, name).
 * - dns_zone keeps ttl and drops zone_file (large, and it changes whenever any record changes).
 * - managed_db never stores a credential: attrs are built from an allow-list, then deep-scrubbed of any key that
 *   looks like a secret and any string that looks like a credentialed URI (`scheme://user:pass@host`).
 * - Tags are de-duplicated and sorted (a set, so ordering must not change the fingerprint).
 * - Dates: unparseable, or Go's zero time (`0001-01-01T00:00:00Z`, seen in DO payloads), become null.
 * - Text: every string of a row, attrs keys included, is stored without NUL characters and unpaired surrogates
 *   (which PostgreSQL refuses in text and jsonb), and the row counts the values cleaned (`cleanedValues`).
 */
import { createHash } from 'node:crypto';

import { TextCleaner } from '../clean-text.js';

import type { ParsedUrn } from '../../digitalocean/urn.js';
import { urnKindToLocalKind } from './resource-kinds.js';

export interface NormalizedResource {
  /** A ResourceKind, or an unknown URN type kept verbatim (normalizeFromUrn). */
  kind: string;
  providerId: string;
  name: string | null;
  region: string | null;
  status: string | null;
  size: string | null;
  tags: string[];
  attrs: Record<string, unknown>;
  providerCreatedAt: Date | null;
  /** Values cleaned of what PostgreSQL refuses (clean-text.ts); absent when none was. Not part of the fingerprint. */
  cleanedValues?: number;
}

export interface NormalizedProject {
  providerId: string;
  name: string;
  description: string | null;
  purpose: string | null;
  environment: string | null;
  isDefault: boolean;
  providerCreatedAt: Date | null;
  providerUpdatedAt: Date | null;
  /** As NormalizedResource.cleanedValues. */
  cleanedValues?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Small defensive readers

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An API item as an object to read fields from; anything else reads as an object without fields. */
function objectOf(item: unknown): Obj {
  return isObj(item) ? item : {};
}

/** A non-empty string, or null. */
function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/** A finite number, or null. */
function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

/** An id that may arrive as a number or a string, as a string; null when absent. */
function idString(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return str(v);
}

/** The array's elements that pass `keep`; [] for anything that is not an array. */
function arrayOf<T>(v: unknown, keep: (x: unknown) => x is T): T[] {
  return Array.isArray(v) ? v.filter(keep) : [];
}

const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isIdLike = (x: unknown): x is string | number => isString(x) || isNumber(x);

/** Tags as a sorted set of non-empty strings; [] when absent or null. */
export function normalizeTags(v: unknown): string[] {
  return [...new Set(arrayOf(v, isString).filter((t) => t.length > 0))].sort();
}

/**
 * Parses an RFC 3339 date. Invalid input, or a year before 1970 (Go's zero time `0001-01-01T00:00:00Z` is how
 * DO spells "never"), gives null.
 */
export function parseDate(v: unknown): Date | null {
  if (typeof v !== 'string' || v.trim() === '') return null;
  const d = new Date(v);
  const t = d.getTime();
  if (Number.isNaN(t) || d.getUTCFullYear() < 1970) return null;
  return d;
}

function formatGb(v: unknown): string | null {
  const n = num(v);
  return n === null ? null : `${n}GB`;
}

function regionSlug(v: unknown): string | null {
  if (typeof v === 'string') return str(v);
  return isObj(v) ? str(v.slug) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets

/** Keys that are never stored, at any depth, for any kind. */
const SECRET_KEY_RE = /password|passwd|secret|token|uri|credential|private_key|access_key|access_cert|api_key/i;
/** The whole-object fields of a database cluster that carry credentials. */
const SECRET_OBJECT_KEY_RE =
  /^(connection|private_connection|standby_connection|standby_private_connection|ui_connection|schema_registry_connection|metrics_endpoints|users)$/;
/** `scheme://user:password@host` anywhere in a string. */
const CREDENTIAL_URI_RE = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:[^\s/@]*@/i;

/**
 * A deep copy of `value` without secret-looking keys (any key matching password|secret|token|uri|credential|...,
 * and every database connection/user field) and without strings that embed credentials (`x://user:pass@...`).
 */
export function scrubSecrets<T>(value: T): T {
  return scrub(value) as T;
}

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.filter((x) => !(typeof x === 'string' && CREDENTIAL_URI_RE.test(x))).map(scrub);
  }
  if (isObj(value)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY_RE.test(k) || SECRET_OBJECT_KEY_RE.test(k)) continue;
      if (typeof v === 'string' && CREDENTIAL_URI_RE.test(v)) continue;
      out[k] = scrub(v);
    }
    return out;
  }
  return value;
}

/** The fields most kinds read the same way: id, name, region slug, creation time. */
function commonFields(
  kind: string,
  o: Obj,
): Pick<NormalizedResource, 'kind' | 'providerId' | 'name' | 'region' | 'providerCreatedAt'> {
  return {
    kind,
    providerId: idString(o.id) ?? '',
    name: str(o.name),
    region: regionSlug(o.region),
    providerCreatedAt: parseDate(o.created_at),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Per-kind normalizers

function dropletRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  const networks = isObj(o.networks) ? o.networks : {};
  const v4 = Array.isArray(networks.v4) ? networks.v4.filter(isObj) : [];
  const v6 = Array.isArray(networks.v6) ? networks.v6.filter(isObj) : [];
  const firstIp = (list: Obj[], type: string): string | null =>
    str(list.find((n) => n.type === type && str(n.ip_address))?.ip_address);
  const image = isObj(o.image) ? o.image : {};
  const size = isObj(o.size) ? o.size : {};
  const gpu = isObj(o.gpu_info) ? o.gpu_info : null;
  return {
    ...commonFields('droplet', o),
    status: str(o.status),
    size: str(o.size_slug) ?? str(size.slug),
    tags: normalizeTags(o.tags),
    attrs: {
      vcpus: num(o.vcpus),
      memory: num(o.memory),
      disk: num(o.disk),
      image_id: num(image.id),
      image_slug: str(image.slug),
      image_name: str(image.name),
      image_distribution: str(image.distribution),
      public_ipv4: firstIp(v4, 'public'),
      private_ipv4: firstIp(v4, 'private'),
      ipv6: firstIp(v6, 'public') ?? str(v6[0]?.ip_address),
      vpc_uuid: str(o.vpc_uuid),
      volume_ids: arrayOf(o.volume_ids, isString),
      backup_ids: arrayOf(o.backup_ids, isIdLike),
      snapshot_ids: arrayOf(o.snapshot_ids, isIdLike),
      features: arrayOf(o.features, isString),
      locked: bool(o.locked),
      price_monthly: num(size.price_monthly),
      price_hourly: num(size.price_hourly),
      // GPU droplets only (listed with type=gpus).
      gpu_model: gpu ? str(gpu.model) : null,
      gpu_count: gpu ? num(gpu.count) : null,
    },
  };
}

function volumeRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  return {
    ...commonFields('volume', o),
    // Volumes report no status in the list; attachment is in attrs.droplet_ids.
    status: null,
    size: formatGb(o.size_gigabytes),
    tags: normalizeTags(o.tags),
    attrs: {
      size_gigabytes: num(o.size_gigabytes),
      droplet_ids: arrayOf(o.droplet_ids, isIdLike),
      filesystem_type: str(o.filesystem_type),
      filesystem_label: str(o.filesystem_label),
      description: str(o.description),
    },
  };
}

/** Droplet and volume snapshots are one kind; attrs.resource_type tells them apart. */
function snapshotRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  const regions = arrayOf(o.regions, isString);
  return {
    kind: 'snapshot',
    providerId: idString(o.id) ?? '',
    name: str(o.name),
    region: regions[0] ?? null,
    status: null,
    size: formatGb(o.size_gigabytes),
    tags: normalizeTags(o.tags),
    attrs: {
      resource_type: str(o.resource_type),
      resource_id: idString(o.resource_id),
      regions,
      size_gigabytes: num(o.size_gigabytes),
      min_disk_size: num(o.min_disk_size),
    },
    providerCreatedAt: parseDate(o.created_at),
  };
}

function normalizeIp(kind: 'floating_ip' | 'reserved_ipv6', o: Obj, region: string | null, createdAt: unknown) {
  const droplet = isObj(o.droplet) ? o.droplet : null;
  const dropletId = droplet ? idString(droplet.id) : null;
  const ip = str(o.ip);
  const normalized: NormalizedResource = {
    kind,
    providerId: ip ?? '',
    name: ip,
    region,
    status: dropletId ? 'assigned' : 'unassigned',
    size: null,
    tags: [],
    attrs: {
      droplet_id: dropletId,
      droplet_name: droplet ? str(droplet.name) : null,
      locked: bool(o.locked),
      project_id: str(o.project_id),
    },
    providerCreatedAt: parseDate(createdAt),
  };
  return normalized;
}

/** A reserved IPv4 (from /v2/reserved_ips or the legacy /v2/floating_ips; same shape). Kind `floating_ip`. */
function reservedIpRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  // Reserved IPv4 objects carry no creation time.
  return normalizeIp('floating_ip', o, regionSlug(o.region), undefined);
}

/** A reserved IPv6 (/v2/reserved_ipv6). `region_slug` is a string; `reserved_at` is the creation time. */
function reservedIpv6Row(item: unknown): NormalizedResource {
  const o = objectOf(item);
  return normalizeIp('reserved_ipv6', o, str(o.region_slug) ?? regionSlug(o.region), o.reserved_at);
}

function firewallRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  return {
    ...commonFields('firewall', o),
    region: null,
    status: str(o.status),
    size: null,
    // A firewall's `tags` select the droplets it applies to; they are not labels on the firewall, so they go to
    // attrs.tags and the tags column stays empty (a tag filter must not return firewalls that merely target it).
    tags: [],
    attrs: {
      inbound_rules: Array.isArray(o.inbound_rules) ? o.inbound_rules : [],
      outbound_rules: Array.isArray(o.outbound_rules) ? o.outbound_rules : [],
      droplet_ids: arrayOf(o.droplet_ids, isIdLike),
      tags: normalizeTags(o.tags),
      pending_changes: Array.isArray(o.pending_changes) ? o.pending_changes : [],
    },
  };
}

function loadBalancerRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  const sizeUnit = num(o.size_unit);
  const attrs: Obj = {
    type: str(o.type),
    network: str(o.network),
    ip: str(o.ip),
    ipv6: str(o.ipv6),
    size_unit: sizeUnit,
    size_slug: str(o.size),
    forwarding_rules: Array.isArray(o.forwarding_rules) ? o.forwarding_rules : [],
    droplet_ids: arrayOf(o.droplet_ids, isIdLike),
    tag: str(o.tag),
    vpc_uuid: str(o.vpc_uuid),
    project_id: str(o.project_id),
  };
  // `algorithm` is deprecated and may be absent; record it only when the API sends it.
  if (str(o.algorithm) !== null) attrs.algorithm = o.algorithm;
  return {
    ...commonFields('load_balancer', o),
    // Global load balancers have no region.
    status: str(o.status),
    size: sizeUnit !== null ? `${sizeUnit} node${sizeUnit === 1 ? '' : 's'}` : str(o.size),
    // DO load balancers have no tags of their own; `tag` selects droplets (attrs.tag).
    tags: [],
    attrs,
  };
}

/** A DNS zone. The domain name is the key; zone_file is dropped (large, and changes with every record edit). */
function domainRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  const name = str(o.name);
  return {
    kind: 'dns_zone',
    providerId: name ?? '',
    name,
    region: null,
    status: null,
    size: null,
    tags: [],
    attrs: { ttl: num(o.ttl) },
    providerCreatedAt: null,
  };
}

/**
 * A managed database cluster. Accepts the raw API object too: attrs come from an allow-list (so connection,
 * private_connection, standby_*, users never get in) and are deep-scrubbed again as a second line of defence.
 */
function databaseRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  const mw = isObj(o.maintenance_window) ? o.maintenance_window : null;
  const attrs: Obj = {
    engine: str(o.engine),
    version: str(o.version),
    semantic_version: str(o.semantic_version),
    num_nodes: num(o.num_nodes),
    storage_size_mib: num(o.storage_size_mib),
    private_network_uuid: str(o.private_network_uuid),
    project_id: str(o.project_id),
    db_names: arrayOf(o.db_names, isString),
    maintenance_window: mw ? { day: str(mw.day), hour: str(mw.hour) } : null,
    version_end_of_life: str(o.version_end_of_life),
  };
  return {
    ...commonFields('managed_db', o),
    status: str(o.status),
    size: str(o.size),
    tags: normalizeTags(o.tags),
    attrs: scrubSecrets(attrs),
  };
}

function kubernetesClusterRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  const status = isObj(o.status) ? o.status : {};
  const pools = Array.isArray(o.node_pools) ? o.node_pools.filter(isObj) : [];
  return {
    ...commonFields('kubernetes_cluster', o),
    status: str(status.state),
    // A cluster has no single size; each pool's is in attrs.node_pools.
    size: null,
    tags: normalizeTags(o.tags),
    attrs: {
      version: str(o.version),
      ha: bool(o.ha),
      auto_upgrade: bool(o.auto_upgrade),
      vpc_uuid: str(o.vpc_uuid),
      node_pools: pools.map((p) => ({
        id: str(p.id),
        name: str(p.name),
        size: str(p.size),
        count: num(p.count),
        auto_scale: bool(p.auto_scale),
        min_nodes: num(p.min_nodes),
        max_nodes: num(p.max_nodes),
        // DOKS workers are droplets; keep their ids to link droplet rows back to the cluster.
        droplet_ids: (Array.isArray(p.nodes) ? p.nodes.filter(isObj) : [])
          .map((n) => idString(n.droplet_id))
          .filter((id): id is string => id !== null),
      })),
    },
  };
}

function appRow(item: unknown): NormalizedResource {
  const o = objectOf(item);
  const spec = isObj(o.spec) ? o.spec : {};
  const active = isObj(o.active_deployment) ? o.active_deployment : null;
  return {
    kind: 'app',
    providerId: idString(o.id) ?? '',
    name: str(spec.name),
    region: regionSlug(o.region) ?? str(spec.region),
    // The phase of the active deployment (ACTIVE, ERROR, ...) when the API says it; otherwise unknown.
    status: active ? str(active.phase) : null,
    size: str(o.tier_slug),
    tags: [],
    attrs: {
      project_id: str(o.project_id),
      live_url: str(o.live_url),
      default_ingress: str(o.default_ingress),
      active_deployment_id: active ? str(active.id) : null,
    },
    providerCreatedAt: parseDate(o.created_at),
  };
}

/** A Spaces bucket, known only from a project's `do:space:<bucket>` URN (buckets are not in the v2 REST API). */
function spacesBucketRow(bucket: string): NormalizedResource {
  return urnOnly('spaces_bucket', bucket, bucket, `do:space:${bucket}`);
}

/** A VPC, known only from a `do:vpc:<uuid>` URN. */
function vpcRow(id: string): NormalizedResource {
  return urnOnly('vpc', id, null, `do:vpc:${id}`);
}

/**
 * A row for a resource known only from a project URN: spaces buckets, VPCs, and kinds this service does not
 * list (`do:task:...`), which keep their URN type verbatim as the kind. Name is the id for kinds whose id is a
 * name (space, domain); otherwise unknown.
 */
function fromUrnRow(urn: ParsedUrn): NormalizedResource {
  const kind = urnKindToLocalKind(urn.type);
  const idIsName = kind === 'spaces_bucket' || kind === 'dns_zone';
  return urnOnly(kind, urn.id, idIsName ? urn.id : null, `do:${urn.type}:${urn.id}`);
}

function urnOnly(kind: string, providerId: string, name: string | null, urn: string): NormalizedResource {
  return {
    kind,
    providerId,
    name,
    region: null,
    status: null,
    size: null,
    tags: [],
    attrs: { urn },
    providerCreatedAt: null,
  };
}

function projectRow(item: unknown): NormalizedProject {
  const o = objectOf(item);
  return {
    providerId: idString(o.id) ?? '',
    name: str(o.name) ?? '',
    description: str(o.description),
    purpose: str(o.purpose),
    environment: str(o.environment),
    isDefault: o.is_default === true,
    providerCreatedAt: parseDate(o.created_at),
    providerUpdatedAt: parseDate(o.updated_at),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The normalizers, their rows cleaned of what PostgreSQL refuses

/**
 * A row with every string (attrs keys too) cleaned (clean-text.ts: NUL removed, unpaired surrogates replaced), the
 * number of cleaned values in `cleanedValues`: one droplet named with a NUL would otherwise fail every sync of its
 * kind, since a page is written in one statement.
 */
function cleaned<T extends { cleanedValues?: number }>(row: T): T {
  const cleaner = new TextCleaner();
  const out = cleaner.deep(row); // dates are not plain objects: kept as they are
  if (cleaner.cleanedValues > 0) out.cleanedValues = cleaner.cleanedValues;
  return out;
}

export function normalizeDroplet(item: unknown): NormalizedResource {
  return cleaned(dropletRow(item));
}

export function normalizeVolume(item: unknown): NormalizedResource {
  return cleaned(volumeRow(item));
}

export function normalizeSnapshot(item: unknown): NormalizedResource {
  return cleaned(snapshotRow(item));
}

export function normalizeReservedIp(item: unknown): NormalizedResource {
  return cleaned(reservedIpRow(item));
}

export function normalizeReservedIpv6(item: unknown): NormalizedResource {
  return cleaned(reservedIpv6Row(item));
}

export function normalizeFirewall(item: unknown): NormalizedResource {
  return cleaned(firewallRow(item));
}

export function normalizeLoadBalancer(item: unknown): NormalizedResource {
  return cleaned(loadBalancerRow(item));
}

export function normalizeDomain(item: unknown): NormalizedResource {
  return cleaned(domainRow(item));
}

export function normalizeDatabase(item: unknown): NormalizedResource {
  return cleaned(databaseRow(item));
}

export function normalizeKubernetesCluster(item: unknown): NormalizedResource {
  return cleaned(kubernetesClusterRow(item));
}

export function normalizeApp(item: unknown): NormalizedResource {
  return cleaned(appRow(item));
}

export function normalizeSpacesBucket(bucket: string): NormalizedResource {
  return cleaned(spacesBucketRow(bucket));
}

export function normalizeVpc(id: string): NormalizedResource {
  return cleaned(vpcRow(id));
}

export function normalizeFromUrn(urn: ParsedUrn): NormalizedResource {
  return cleaned(fromUrnRow(urn));
}

export function normalizeProject(item: unknown): NormalizedProject {
  return cleaned(projectRow(item));
}

// ---------------------------------------------------------------------------------------------------------------
// Fingerprint

/**
 * JSON with object keys sorted at every depth; Dates as ISO strings; undefined members dropped (as JSON does).
 * Array order is kept (it is meaningful for rules and pools; tags are already sorted by normalizeTags).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value)) ?? 'null';
}

function canonicalize(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map((x) => (x === undefined ? null : canonicalize(x)));
  if (isObj(value)) {
    const out: Obj = {};
    for (const key of Object.keys(value).sort()) {
      const v = value[key];
      if (v !== undefined) out[key] = canonicalize(v);
    }
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * sha256 (hex) of the canonical JSON of the normalized row. Only the NormalizedResource fields count, so a
 * caller may pass a row that also carries sync bookkeeping (lastSeenAt, missCount, ...) without changing it.
 * providerCreatedAt is the provider's timestamp and does count.
 */
export function fingerprint(n: NormalizedResource): string {
  const subject = {
    kind: n.kind,
    providerId: n.providerId,
    name: n.name,
    region: n.region,
    status: n.status,
    size: n.size,
    tags: n.tags,
    attrs: n.attrs,
    providerCreatedAt: n.providerCreatedAt,
  };
  return createHash('sha256').update(canonicalJson(subject)).digest('hex');
}
