// The resource name an invoice line talks about, taken from its description (or group description).
//
// Known description shapes:
//   Droplets      "eth (s-4vcpu-8gb)"                → "eth"
//   Volumes       "volume-sfo2-01 (sfo2) 100GB"      → "volume-sfo2-01"
//   Backups       "blog (s-1vcpu-2gb)"               → "blog" (the droplet's name)
//   Snapshots     "web-1-1690000000 (nyc3) 25GB"     → "web-1-1690000000"
//   Floating IPs  "Unused Floating IP - 1.1.1.1"     → "1.1.1.1"
//   Kubernetes / Managed Databases: the group description is the cluster name.
// Only the LAST parenthesized group is removed (with a size before or after it), so a name that
// itself contains parentheses, "web (old) (s-1vcpu-1gb)" → "web (old)", survives.

import { isIP } from 'node:net';

const TRAILING_SIZE = /\s+\d+(?:\.\d+)?\s*(?:[KMGTP]i?B)$/i;

/** Removes one trailing "(…)" group (balanced, so "(a (b))" goes as a whole) if something precedes it. */
function stripTrailingGroup(text: string): string {
  if (!text.endsWith(')')) return text;
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const char = text[i];
    if (char === ')') depth++;
    else if (char === '(') {
      depth--;
      if (depth === 0) {
        const before = text.slice(0, i).trimEnd();
        return before === '' ? text : before;
      }
    }
  }
  return text; // unbalanced: leave it alone
}

/** "name (suffix) 100GB" → "name": a trailing size, then one trailing group, then a size before it. */
export function stripDescriptionSuffix(description: string): string {
  let text = description.trim();
  text = text.replace(TRAILING_SIZE, '');
  text = stripTrailingGroup(text);
  text = text.replace(TRAILING_SIZE, '');
  return text.trim();
}

/** The last token of the text that is an IPv4 or IPv6 address ("Unused Floating IP - 1.2.3.4"). */
export function findIpAddress(text: string): string | null {
  const tokens = text.split(/[\s,;()[\]]+/);
  for (let i = tokens.length - 1; i >= 0; i--) {
    const token = tokens[i]!.replace(/\.$/, '');
    if (token && isIP(token) !== 0) return token;
  }
  return null;
}

function orNull(text: string | null | undefined): string | null {
  const trimmed = text?.trim();
  return trimmed ? trimmed : null;
}

/**
 * The name of the resource a line bills, or null when the line names none (taxes, unknown products,
 * the account-wide Spaces subscription). `product` is accepted for future product-specific shapes.
 */
export function extractResourceName(
  kind: string | null,
  _product: string,
  description: string | null,
  groupDescription: string | null,
): string | null {
  if (kind === null) return null;
  const text = description?.trim() ?? '';
  const group = orNull(groupDescription);
  const fromDescription = (): string | null => orNull(stripDescriptionSuffix(text));

  switch (kind) {
    case 'kubernetes_cluster':
    case 'managed_db':
      // Grouped usage: the group is the cluster; the description is a node pool, a hash or a size.
      return group ?? fromDescription();
    case 'floating_ip':
    case 'reserved_ipv6':
      return findIpAddress(text) ?? fromDescription();
    case 'spaces_bucket':
      // "Spaces ($5/mo 250GB storage & 1TB bandwidth)" is the account's subscription, not a bucket.
      if (group) return group;
      return /^spaces\b/i.test(text) ? null : fromDescription();
    case 'app':
    case 'bandwidth':
    case 'container_registry':
      return group ?? fromDescription();
    default:
      // droplet, droplet_backup (the droplet's name), snapshot, volume, load_balancer, …
      return fromDescription();
  }
}
