/**
 * The local resource kinds (cloud_resources.kind), and how DigitalOcean's URN types map onto them. A URN type this
 * table does not know is kept verbatim as the kind, so nothing a project lists is dropped.
 */

/** Every local resource kind, in display order. */
export const RESOURCE_KINDS = [
  'droplet',
  'volume',
  'snapshot',
  'floating_ip',
  'reserved_ipv6',
  'firewall',
  'load_balancer',
  'dns_zone',
  'managed_db',
  'kubernetes_cluster',
  'app',
  'spaces_bucket',
  'vpc',
] as const;

export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** A local kind, or an unknown URN type kept verbatim. */
export type LocalKind = ResourceKind | (string & {});

/** Kinds that exist only through project URNs (`do:space:<bucket>`, `do:vpc:<uuid>`): never listed. */
export const URN_ONLY_KINDS = ['spaces_bucket', 'vpc'] as const satisfies readonly ResourceKind[];

/**
 * URN type → local kind. Keys are lower-case; lookups lower-case the type first.
 * Both IPv4 spellings map to `floating_ip` (the kind the reserved-IP listing produces), every IPv6 spelling to
 * `reserved_ipv6` (its own kind: a different endpoint, list key and object shape).
 */
export const URN_TYPE_TO_KIND: Readonly<Record<string, ResourceKind>> = Object.freeze({
  droplet: 'droplet',
  volume: 'volume',
  floatingip: 'floating_ip',
  reservedip: 'floating_ip',
  reserved_ip: 'floating_ip',
  floatingipv6: 'reserved_ipv6',
  reservedipv6: 'reserved_ipv6',
  reserved_ipv6: 'reserved_ipv6',
  loadbalancer: 'load_balancer',
  dbaas: 'managed_db',
  // doctl accepts `do:database:<uuid>` as the same cluster; a row of kind "database" would leave the real one
  // unattributed.
  database: 'managed_db',
  domain: 'dns_zone',
  space: 'spaces_bucket',
  kubernetes: 'kubernetes_cluster',
  app: 'app',
  vpc: 'vpc',
});

/** Maps a URN type to the local kind; an unknown type is returned unchanged (verbatim, not lower-cased). */
export function urnKindToLocalKind(type: string): LocalKind {
  const key = type.toLowerCase();
  // hasOwn, so that `constructor`, `__proto__` and friends stay unknown kinds instead of resolving on the prototype.
  return Object.hasOwn(URN_TYPE_TO_KIND, key) ? (URN_TYPE_TO_KIND[key] as ResourceKind) : type;
}

/** Whether the URN type maps to one of the known local kinds. */
export function isKnownUrnType(type: string): boolean {
  return Object.hasOwn(URN_TYPE_TO_KIND, type.toLowerCase());
}
