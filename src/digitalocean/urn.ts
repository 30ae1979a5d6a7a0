/**
 * DigitalOcean URNs, as returned by the Projects API (`/v2/projects/{id}/resources`): `do:<type>:<id>`.
 *
 * The spec's pattern is `^do:(dbaas|domain|droplet|floatingip|loadbalancer|space|volume|kubernetes|vpc):.*`, but
 * real responses and the docs also show `app`, `task`, `reservedip` (Terraform's spelling) and `floatingipv6`
 * (doctl#1709). Reserved IPs keep the `floatingip` spelling in the Projects API (API-NOTES.md §2, §4). So the
 * parser accepts any well-formed type and the mapping keeps unknown types verbatim instead of dropping them.
 */
import type { ResourceKind } from '../jobs/inventory/normalize.js';

export interface ParsedUrn {
  provider: 'do';
  /** The URN's type segment exactly as given (e.g. `floatingip`, `dbaas`, `task`). */
  type: string;
  /** Everything after the second colon (may itself contain ':'). */
  id: string;
}

/** A local kind, or an unknown URN type kept verbatim. */
export type LocalKind = ResourceKind | (string & {});

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
  domain: 'dns_zone',
  space: 'spaces_bucket',
  kubernetes: 'kubernetes_cluster',
  app: 'app',
  vpc: 'vpc',
});

// A type is a short identifier (letters, digits, '_' and '-'); the id is any non-empty text without whitespace.
const TYPE_RE = /^[A-Za-z0-9_-]+$/;
const ID_RE = /^\S+$/;

/**
 * Parses `do:<type>:<id>`. Returns null (never throws) for anything malformed: not a string, another provider
 * prefix, an empty type or id, whitespace inside. Surrounding whitespace is ignored. The id keeps any further
 * colons (`do:task:a:b` → id `a:b`).
 */
export function parseUrn(urn: unknown): ParsedUrn | null {
  if (typeof urn !== 'string') return null;
  const text = urn.trim();
  const first = text.indexOf(':');
  if (first < 0) return null;
  const second = text.indexOf(':', first + 1);
  if (second < 0) return null;
  const provider = text.slice(0, first);
  const type = text.slice(first + 1, second);
  const id = text.slice(second + 1);
  if (provider.toLowerCase() !== 'do') return null;
  if (!TYPE_RE.test(type) || !ID_RE.test(id)) return null;
  return { provider: 'do', type, id };
}

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
