/**
 * DigitalOcean URNs, as returned by the Projects API (`/v2/projects/{id}/resources`): `do:<type>:<id>`.
 *
 * The spec's pattern is `^do:(dbaas|domain|droplet|floatingip|loadbalancer|space|volume|kubernetes|vpc):.*`, but
 * real responses and the docs also show `app`, `task`, `reservedip` (Terraform's spelling), `floatingipv6`
 * (doctl) and `database` (doctl takes `do:database:<uuid>` and `do:dbaas:<uuid>` for the same cluster). Reserved IPs keep the `floatingip` spelling in the Projects API. So the parser accepts any well-formed
 * type and leaves its meaning to the caller (the inventory maps types to its own kinds).
 */
export interface ParsedUrn {
  provider: 'do';
  /** The URN's type segment exactly as given (e.g. `floatingip`, `dbaas`, `task`). */
  type: string;
  /** Everything after the second colon (may itself contain ':'). */
  id: string;
}

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
