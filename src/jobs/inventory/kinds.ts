/**
 * The inventory kind table: for each kind task of the registry (domain/tasks.ts holds its schedule), the endpoints
 * it lists (declared in digitalocean/endpoints.ts with their paths, keys, pagination and fallbacks), the normalizer
 * that turns an item into a row, and how a resource in no project is attributed. One function (sync-kind.ts) does
 * list → normalize → upsert → mark stale for every entry.
 */
import * as ep from '../../digitalocean/endpoints.js';
import { mapListSpec, type ListSpec } from '../../digitalocean/pagination.js';
import type { KindTaskName } from '../../domain/tasks.js';
import {
  normalizeApp,
  normalizeDatabase,
  normalizeDomain,
  normalizeDroplet,
  normalizeFirewall,
  normalizeKubernetesCluster,
  normalizeLoadBalancer,
  normalizeReservedIp,
  normalizeReservedIpv6,
  normalizeSnapshot,
  normalizeVolume,
  type NormalizedResource,
} from './normalize.js';
import { URN_ONLY_KINDS, type ResourceKind } from './resource-kinds.js';

export interface KindSpec {
  /** cloud_resources.kind of every item: the task's name. */
  kind: KindTaskName & ResourceKind;
  /**
   * Every listing of the kind, each item normalized as it arrives and identified by its provider id. The kind is
   * complete only when all of them were. `/v2/droplets` returns only non-GPU droplets unless `type=gpus` is passed,
   * so droplets need two walks or GPU droplets would never be seen.
   */
  listings: readonly ListSpec<NormalizedResource>[];
  /**
   * false: a resource of this kind in no project is left unattributed (for an operator to classify) instead of
   * going to the configured fallback project/tenant. DNS zones: a zone in no project says nothing about its owner.
   */
  fallbackAttribution: boolean;
}

type KindDeclaration = Omit<KindSpec, 'kind'>;

/** The endpoints' items as rows: the normalizer checks every field it reads (items arrive as unknown JSON). */
function listedAs<T>(normalize: (item: unknown) => NormalizedResource, ...endpoints: ListSpec<T>[]): KindDeclaration {
  return {
    listings: endpoints.map((endpoint) => mapListSpec(endpoint, normalize, (n) => n.providerId)),
    fallbackAttribution: true,
  };
}

const KINDS: { readonly [K in KindTaskName]: KindDeclaration } = {
  droplet: listedAs(normalizeDroplet, ep.droplets, ep.gpuDroplets),
  volume: listedAs(normalizeVolume, ep.volumes),
  // Droplet and volume snapshots in one listing; attrs.resource_type tells them apart.
  snapshot: listedAs(normalizeSnapshot, ep.snapshots()),
  floating_ip: listedAs(normalizeReservedIp, ep.reservedIps),
  reserved_ipv6: listedAs(normalizeReservedIpv6, ep.reservedIpv6s),
  firewall: listedAs(normalizeFirewall, ep.firewalls),
  load_balancer: listedAs(normalizeLoadBalancer, ep.loadBalancers),
  dns_zone: { ...listedAs(normalizeDomain, ep.domains), fallbackAttribution: false },
  // The client strips the credentials of every cluster; normalizeDatabase drops them again.
  managed_db: listedAs(normalizeDatabase, ep.databases),
  kubernetes_cluster: listedAs(normalizeKubernetesCluster, ep.kubernetesClusters),
  app: listedAs(normalizeApp, ep.apps),
};

/** The kind table, in registry order. */
export const INVENTORY_KINDS: readonly KindSpec[] = (Object.keys(KINDS) as KindTaskName[]).map((kind) => ({
  kind,
  ...KINDS[kind],
}));

export function kindSpec(task: KindTaskName): KindSpec {
  return { kind: task, ...KINDS[task] };
}

/** Kinds that listings cover; every other kind in cloud_resources comes from project URNs. */
export const LISTED_KINDS: readonly string[] = INVENTORY_KINDS.map((k) => k.kind);

/** Kinds that stay unattributed rather than going to the fallback (DNS zones). */
export const NO_FALLBACK_KINDS: readonly string[] = INVENTORY_KINDS.filter((k) => !k.fallbackAttribution).map(
  (k) => k.kind,
);

const KNOWN_KINDS: ReadonlySet<string> = new Set([...LISTED_KINDS, ...URN_ONLY_KINDS]);

/** A kind this service lists or knows from URNs (anything else came verbatim from an unknown URN type). */
export function isKnownLocalKind(kind: string): boolean {
  return KNOWN_KINDS.has(kind);
}
