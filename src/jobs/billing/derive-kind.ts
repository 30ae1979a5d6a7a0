// Invoice line → local resource kind.
//
// The product column decides. Rules are tried in order and the FIRST match wins, so specific phrases
// come before the generic product words they contain: "Droplet Snapshots" and "Droplet Backups" must
// never fall into `droplet` (the seed matched /droplet/ first and billed snapshot and backup charges
// to droplets), "Volume Snapshots" never into `volume`, "Droplet Bandwidth" never into `droplet`.
//
// The description is consulted only to recognize taxes and credits when the product is not a known
// resource product: a droplet called "vat-calculator" or "credit-api" stays a droplet.

import { decimalToMicros } from '../../domain/decimal.js';

/** Kinds an invoice line can carry. Inventory kinds (cloud_resources.kind) plus billing-only ones:
 *  `droplet_backup` (matched to its droplet), and products the inventory does not mirror (their lines are
 *  unmatched `kind_not_synced` unless a JSON item's resource id finds the resource). */
export type LineKind =
  | 'droplet'
  | 'droplet_backup'
  | 'snapshot'
  | 'volume'
  | 'floating_ip'
  | 'reserved_ipv6'
  | 'load_balancer'
  | 'kubernetes_cluster'
  | 'managed_db'
  | 'spaces_bucket'
  | 'app'
  | 'firewall'
  | 'dns_zone'
  | 'vpc'
  | 'bandwidth'
  | 'container_registry'
  | 'functions'
  | 'monitoring'
  | 'uptime'
  | 'nfs'
  | 'genai'
  | 'serverless_inference'
  | 'bare_metal_gpu'
  | 'partner_network_connect'
  | 'vpc_nat_gateway'
  | 'vpc_peering'
  | 'dedicated_egress_ip';

const WORD_TAX = /\btax(es)?\b/;
// Tax words that are safe to read in a description: acronyms as whole words, and "sales tax" etc.
const DESCRIPTION_TAX =
  /\b(gst|hst|pst|qst|vat|iva|tva|mwst|ust|sales tax|use tax|consumption tax|withholding tax|tax(es)?)\b/;
const CREDIT_WORDS = /\b(credits?|promo(tion|tional|tions)?s?|promo codes?|discounts?|coupons?)\b/;

/** Ordered: the first matching rule wins. `null` marks a product that is known but has no kind. */
const PRODUCT_RULES: ReadonlyArray<readonly [RegExp, LineKind | null]> = [
  // Snapshots of droplets and volumes ("Snapshots", "Droplet Snapshots", "Volume Snapshots",
  // "Block Storage Snapshots") are all listed by /v2/snapshots.
  [/\bsnapshots?\b/, 'snapshot'],
  // Backups of something other than a droplet are not droplet backups; keep them as unknown products
  // rather than bucket them under the wrong parent.
  [
    /^(?=.*\bbackups?\b).*\b(volumes?|block storage|databases?|db|kubernetes|doks|app platform|apps?|nfs|network file storage)\b/,
    null,
  ],
  // "Backups", "Droplet Backups": not in /v2/snapshots; matched to the droplet they back up.
  [/\bbackups?\b/, 'droplet_backup'],
  // App Platform's dedicated egress IPs are a flat charge per IP, not transfer: before the `egress` of bandwidth.
  [/\bdedicated egress ips?\b|\begress ips?\b/, 'dedicated_egress_ip'],
  [/\bbandwidth\b|\bdata transfer\b|\begress\b/, 'bandwidth'],
  [/\bcontainer registr(y|ies)\b|\bregistr(y|ies)\b|\bdocr\b/, 'container_registry'],
  // Products of their own that contain a generic word of a later rule: a NAT gateway or a peering is not a VPC
  // (matching it by name to a VPC would bill the wrong resource), NFS is not Block Storage.
  [/\bnat gateways?\b/, 'vpc_nat_gateway'],
  [/\bvpc peerings?\b|\bpeerings?\b/, 'vpc_peering'],
  [/\bnetwork file storage\b|\bnfs\b/, 'nfs'],
  [/\bpartner network connect\b|\bpartner attachments?\b/, 'partner_network_connect'],
  [/\bbare ?metal\b/, 'bare_metal_gpu'],
  [/\bserverless inference\b/, 'serverless_inference'],
  [/\bgen ?ai\b/, 'genai'],
  [/\bfunctions?\b/, 'functions'],
  [/\buptime\b/, 'uptime'],
  [/\bmonitoring\b/, 'monitoring'],
  [/\b(reserved|floating) ?ipv6s?\b|\bipv6\b/, 'reserved_ipv6'],
  [/\b(reserved|floating) ?ips?\b|\b(reserved|floating) ip addresses\b/, 'floating_ip'],
  [/\bload ?balancers?\b/, 'load_balancer'],
  [/\bkubernetes\b|\bdoks\b|\bk8s\b/, 'kubernetes_cluster'],
  [
    /\bdatabases?\b|\bdatabase clusters?\b|\bdbaas\b|\b(postgres(ql)?|mysql|redis|valkey|mongodb|kafka|opensearch)\b/,
    'managed_db',
  ],
  [/\bspaces\b/, 'spaces_bucket'],
  [/\bapp platform\b|\bapps?\b/, 'app'],
  [/\bdroplets?\b/, 'droplet'],
  [/\bvolumes?\b|\bblock storage\b/, 'volume'],
  [/\bfirewalls?\b/, 'firewall'],
  [/\bdomains?\b|\bdns\b/, 'dns_zone'],
  [/\bvpcs?\b/, 'vpc'],
];

/** Products billed to the account as a whole, never to one resource: the Spaces subscription covers the storage
 *  and transfer of every bucket. Their lines keep their kind (costs per kind still add up) and are unmatched
 *  `account_level`. */
const ACCOUNT_LEVEL_PRODUCTS: readonly RegExp[] = [/^spaces subscriptions?$/];

function normalize(text: string | null | undefined): string {
  return (text ?? '').toLowerCase().replace(/\s+/g, ' ').trim();
}

export interface KindDerivation {
  /** Local kind, or null for taxes and unknown products. */
  kind: LineKind | null;
  isTax: boolean;
  /** True when the product matched a rule (even one that yields no kind). */
  productKnown: boolean;
}

/** deriveKind with the reason behind a null: tax or unknown product. */
export function deriveKindDetailed(
  product: string,
  description: string | null = null,
  groupDescription: string | null = null,
): KindDerivation {
  const productText = normalize(product);
  if (WORD_TAX.test(productText)) return { kind: null, isTax: true, productKnown: true };
  for (const [pattern, kind] of PRODUCT_RULES) {
    if (pattern.test(productText)) return { kind, isTax: false, productKnown: true };
  }
  // Unknown (or empty) product: the description may still say it is a tax ("STATE SALES TAX (6.25%)").
  const isTax = DESCRIPTION_TAX.test(normalize(description)) || DESCRIPTION_TAX.test(normalize(groupDescription));
  return { kind: null, isTax, productKnown: false };
}

/** The local kind of an invoice line, or null (taxes, unknown products: the caller keeps the product text). */
export function deriveKind(
  product: string,
  description: string | null = null,
  groupDescription: string | null = null,
): LineKind | null {
  return deriveKindDetailed(product, description, groupDescription).kind;
}

export interface LineClassification {
  kind: LineKind | null;
  isTax: boolean;
  /** A charge of the account as a whole (ACCOUNT_LEVEL_PRODUCTS): no resource produced it. */
  isAccountLevel: boolean;
  /** A negative amount, or a product (or, for unknown products, a description) naming a credit,
   *  promotion or discount. */
  isCredit: boolean;
}

export interface ClassifiableLine {
  product: string;
  description?: string | null;
  groupDescription?: string | null;
  /** Decimal string. */
  amount: string;
}

export function classifyLine(line: ClassifiableLine): LineClassification {
  const { kind, isTax, productKnown } = deriveKindDetailed(
    line.product,
    line.description ?? null,
    line.groupDescription ?? null,
  );
  const negative = decimalToMicros(line.amount) < 0n;
  const creditWords =
    CREDIT_WORDS.test(normalize(line.product)) ||
    (!productKnown &&
      (CREDIT_WORDS.test(normalize(line.description)) || CREDIT_WORDS.test(normalize(line.groupDescription))));
  const productText = normalize(line.product);
  const isAccountLevel = ACCOUNT_LEVEL_PRODUCTS.some((pattern) => pattern.test(productText));
  return { kind, isTax, isAccountLevel, isCredit: negative || creditWords };
}
