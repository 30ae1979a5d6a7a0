// Invoice lines → cloud_resources rows. Pure: the caller loads candidates once, builds the index once,
// then every line is a couple of Map lookups (100,000 lines stay O(n)).
//
// Order for one line:
//   1. tax            → unmatched 'tax'     (never attributed to a resource)
//   2. credit         → unmatched 'credit'  (negative or credit/promo/discount lines are account-level
//                                            adjustments; the invoice keeps their total)
//   3. resource id    → 'id'     the JSON items' resource_uuid / resource_id against provider_id: first
//                                within the line's kind (a backup's parent kind, droplet), then across
//                                all kinds if exactly one resource has that id (numeric ids can repeat
//                                across kinds: droplet 123 vs droplet snapshot 123)
//   4. account level  → unmatched 'account_level' (the Spaces subscription: billed to the account, no resource)
//   4b. no kind       → unmatched 'unknown_product'
//   5. kind not synced→ unmatched 'kind_not_synced'
//   6. (kind, name)   → 'name', case-insensitive; a droplet_backup looks up its droplet → 'parent'
//   7. nothing found  → unmatched 'historic' (a resource deleted before it was ever synced, or a line
//                       with no name); several found and no rule below picks one → 'ambiguous'
//
// Same-name candidates (names are not unique in DigitalOcean, and stale rows are candidates because
// deleted resources still bill):
//   a. Lifetime filter: drop a candidate created after the line's period ended, or marked stale before
//      the period began (stale_at comes after the deletion, so this never drops the real one).
//   b. One left → it. None left → 'historic'.
//   c. Several left: exactly one LIVE and every stale one kept only for LACK of evidence (no stale_at,
//      or the line has no period) → the live one (the usual story: a resource was deleted and
//      recreated under the same name, and the invoice bills the current one). When the timestamps
//      prove a stale one also existed during the period, or two live ones share the name → 'ambiguous';
//      the matcher never guesses between resources that could both have produced the line.

import { decimalToMicros, microsToDecimal, ratio } from '../../domain/decimal.js';
import { classifyLine, type LineKind } from './derive-kind.js';
import { extractResourceName } from './extract-name.js';
import { UNMATCHED_REASONS, type UnmatchedReason } from '../../domain/billing.js';
import { RESOURCE_KINDS } from '../inventory/resource-kinds.js';

export type MatchMethod = 'id' | 'name' | 'parent';

/** A cloud_resources row as the matcher needs it. */
export interface MatchCandidate {
  id: number;
  kind: string;
  providerId: string;
  name: string | null;
  stale: boolean;
  attrs?: unknown;
  /** provider_created_at, for the lifetime filter (optional). */
  createdAt?: Date | null;
  /** stale_at, for the lifetime filter (optional). */
  staleAt?: Date | null;
}

/** What the matcher reads from a line (see prepareLine). */
export interface MatchableLine {
  /** A LineKind, or whatever else a line's kind column holds. */
  kind: string | null;
  /** Extracted resource name (extractResourceName). */
  name: string | null;
  isTax: boolean;
  isCredit: boolean;
  /** A charge of the whole account (classifyLine), never attributed to a resource. */
  isAccountLevel?: boolean;
  /** resource_uuid from the JSON items. */
  resourceUuid?: string | null;
  /** resource_id from the JSON items (a droplet's numeric id), i.e. cloud_cost_lines.resource_provider_id. */
  resourceProviderId?: string | null;
  startAt?: Date | null;
  endAt?: Date | null;
}

export interface LineMatch {
  resourceId: number | null;
  matchMethod: MatchMethod | null;
  unmatchedReason: UnmatchedReason | null;
}

/** Kinds the inventory sync mirrors. spaces_bucket is left out on purpose: buckets are known only through project
 *  membership, so they count as synced only when the index actually holds some. */
export const DEFAULT_SYNCED_KINDS: readonly string[] = RESOURCE_KINDS.filter((kind) => kind !== 'spaces_bucket');

/** Billing kinds that are matched to another kind's resource. */
const PARENT_KIND: Readonly<Record<string, string>> = { droplet_backup: 'droplet' };

/** Kinds whose provider id is what the description names (an IP, a zone, a bucket). */
const NAMED_BY_PROVIDER_ID = new Set(['floating_ip', 'reserved_ipv6', 'dns_zone', 'spaces_bucket']);

const SEP = '\u0000';
const key = (kind: string, value: string): string => `${kind}${SEP}${value.trim().toLowerCase()}`;

function pushUnique(map: Map<string, MatchCandidate[]>, mapKey: string, candidate: MatchCandidate): void {
  const list = map.get(mapKey);
  if (!list) map.set(mapKey, [candidate]);
  else if (!list.includes(candidate)) list.push(candidate);
}

export interface CandidateIndexOptions {
  /** Kinds that are synced even when no candidate of that kind exists (default DEFAULT_SYNCED_KINDS). */
  syncedKinds?: Iterable<string>;
}

/** Candidates indexed by (kind, lowercased name), (kind, provider id) and provider id alone. */
export class CandidateIndex {
  private readonly byKindName = new Map<string, MatchCandidate[]>();
  private readonly byKindProviderId = new Map<string, MatchCandidate[]>();
  private readonly byProviderId = new Map<string, MatchCandidate[]>();
  private readonly syncedKinds: Set<string>;
  readonly size: number;

  constructor(candidates: Iterable<MatchCandidate>, options: CandidateIndexOptions = {}) {
    this.syncedKinds = new Set(options.syncedKinds ?? DEFAULT_SYNCED_KINDS);
    let size = 0;
    for (const candidate of candidates) {
      size++;
      // A kind with at least one row is evidently synced (this is how spaces_bucket becomes synced).
      this.syncedKinds.add(candidate.kind);
      if (candidate.name?.trim()) pushUnique(this.byKindName, key(candidate.kind, candidate.name), candidate);
      if (NAMED_BY_PROVIDER_ID.has(candidate.kind))
        pushUnique(this.byKindName, key(candidate.kind, candidate.providerId), candidate);
      pushUnique(this.byKindProviderId, key(candidate.kind, candidate.providerId), candidate);
      pushUnique(this.byProviderId, key('', candidate.providerId), candidate);
    }
    this.size = size;
  }

  /** Whether lines of this kind can be expected to find a resource (a backup: if droplets are synced). */
  isSynced(kind: string): boolean {
    return this.syncedKinds.has(PARENT_KIND[kind] ?? kind);
  }

  byId(kind: string | null, providerId: string): MatchCandidate | null {
    const target = kind === null ? null : (PARENT_KIND[kind] ?? kind);
    if (target !== null) {
      const sameKind = this.byKindProviderId.get(key(target, providerId));
      if (sameKind?.length === 1) return sameKind[0]!;
    }
    const anyKind = this.byProviderId.get(key('', providerId));
    return anyKind?.length === 1 ? anyKind[0]! : null;
  }

  byName(kind: string, name: string): readonly MatchCandidate[] {
    return this.byKindName.get(key(kind, name)) ?? [];
  }
}

export function buildCandidateIndex(
  candidates: Iterable<MatchCandidate>,
  options?: CandidateIndexOptions,
): CandidateIndex {
  return new CandidateIndex(candidates, options);
}

const unmatched = (unmatchedReason: UnmatchedReason): LineMatch => ({
  resourceId: null,
  matchMethod: null,
  unmatchedReason,
});
const matched = (candidate: MatchCandidate, matchMethod: MatchMethod): LineMatch => ({
  resourceId: candidate.id,
  matchMethod,
  unmatchedReason: null,
});

/** Picks one of several same-name candidates, following rules a–c in the header comment. */
export function disambiguate(
  candidates: readonly MatchCandidate[],
  line: Pick<MatchableLine, 'startAt' | 'endAt'>,
): MatchCandidate | 'none' | 'ambiguous' {
  if (candidates.length === 1) return candidates[0]!;
  const start = line.startAt ?? null;
  const end = line.endAt ?? null;
  const overlapping = candidates.filter((c) => {
    if (end && c.createdAt && c.createdAt.getTime() > end.getTime()) return false;
    if (start && c.stale && c.staleAt && c.staleAt.getTime() < start.getTime()) return false;
    return true;
  });
  if (overlapping.length === 0) return 'none';
  if (overlapping.length === 1) return overlapping[0]!;
  const live = overlapping.filter((c) => !c.stale);
  if (live.length !== 1) return 'ambiguous';
  // Stale ones still here: proven to overlap the period (ambiguous), or kept for lack of evidence?
  const provenOverlap = overlapping.some((c) => c.stale && start !== null && c.staleAt != null);
  return provenOverlap ? 'ambiguous' : live[0]!;
}

export function matchLine(line: MatchableLine, index: CandidateIndex): LineMatch {
  if (line.isTax) return unmatched('tax');
  if (line.isCredit) return unmatched('credit');

  for (const id of [line.resourceUuid, line.resourceProviderId]) {
    if (!id?.trim()) continue;
    const candidate = index.byId(line.kind, id);
    if (candidate) return matched(candidate, 'id');
  }

  if (line.isAccountLevel) return unmatched('account_level');
  if (line.kind === null) return unmatched('unknown_product');
  if (!index.isSynced(line.kind)) return unmatched('kind_not_synced');
  if (!line.name?.trim()) return unmatched('historic');

  const parentKind = PARENT_KIND[line.kind];
  const picked = disambiguate(index.byName(parentKind ?? line.kind, line.name), line);
  if (picked === 'none') return unmatched('historic');
  if (picked === 'ambiguous') return unmatched('ambiguous');
  return matched(picked, parentKind ? 'parent' : 'name');
}

/** Matches lines lazily (works on a stream of 100,000 lines without holding them). */
export function* matchLines<L extends MatchableLine>(
  lines: Iterable<L>,
  index: CandidateIndex,
): Generator<L & LineMatch> {
  for (const line of lines) yield { ...line, ...matchLine(line, index) };
}

export interface PreparableLine {
  product: string;
  description: string;
  groupDescription?: string | null;
  amount: string;
}

/** classifyLine + extractResourceName: everything matchLine needs that comes from the line's text. */
export function prepareLine(line: PreparableLine): {
  kind: LineKind | null;
  name: string | null;
  isTax: boolean;
  isCredit: boolean;
  isAccountLevel: boolean;
} {
  const { kind, isTax, isCredit, isAccountLevel } = classifyLine(line);
  const name = extractResourceName(kind, line.product, line.description, line.groupDescription ?? null);
  return { kind, name, isTax, isCredit, isAccountLevel };
}

// ---------------------------------------------------------------------------------------------------
// Summary

export interface SummarizableLine {
  /** Decimal string. */
  amount: string;
  resourceId: number | null;
  unmatchedReason?: UnmatchedReason | null;
}

export interface MatchSummary {
  lineCount: number;
  matchedCount: number;
  /** Sum of every line (charges, taxes, credits), exact decimal string. */
  linesAmount: string;
  /** Sum of the matched lines. */
  matchedAmount: string;
  /** Sum of the lines that could be attributed at all: everything but taxes, credits and account-level charges. */
  chargesAmount: string;
  /** matchedCount / lineCount, 6 decimals (cloud_invoices.match_rate numeric(7,6)); null for no lines. */
  matchRate: string | null;
  /** matchedAmount / chargesAmount, 6 decimals; null when there are no positive charges. Taxes and
   *  credits (and account-level charges) are left out of the denominator because they can never match. */
  amountMatchRate: string | null;
  byReason: Record<UnmatchedReason, { count: number; amount: string }>;
}

/** Accumulates a summary line by line, so ingest can summarize while it streams. */
export class MatchSummaryBuilder {
  private lineCount = 0;
  private matchedCount = 0;
  private linesMicros = 0n;
  private matchedMicros = 0n;
  private readonly reasonCounts = new Map<UnmatchedReason, { count: number; micros: bigint }>(
    UNMATCHED_REASONS.map((reason) => [reason, { count: 0, micros: 0n }]),
  );

  add(line: SummarizableLine): this {
    const micros = decimalToMicros(line.amount);
    this.lineCount++;
    this.linesMicros += micros;
    if (line.resourceId !== null) {
      this.matchedCount++;
      this.matchedMicros += micros;
    } else if (line.unmatchedReason) {
      const bucket = this.reasonCounts.get(line.unmatchedReason)!;
      bucket.count++;
      bucket.micros += micros;
    }
    return this;
  }

  result(): MatchSummary {
    const excluded =
      this.reasonCounts.get('tax')!.micros +
      this.reasonCounts.get('credit')!.micros +
      this.reasonCounts.get('account_level')!.micros;
    const chargesMicros = this.linesMicros - excluded;
    const byReason = Object.fromEntries(
      [...this.reasonCounts].map(([reason, { count, micros }]) => [reason, { count, amount: microsToDecimal(micros) }]),
    ) as MatchSummary['byReason'];
    return {
      lineCount: this.lineCount,
      matchedCount: this.matchedCount,
      linesAmount: microsToDecimal(this.linesMicros),
      matchedAmount: microsToDecimal(this.matchedMicros),
      chargesAmount: microsToDecimal(chargesMicros),
      matchRate: ratio(BigInt(this.matchedCount), BigInt(this.lineCount)),
      amountMatchRate: chargesMicros > 0n ? ratio(this.matchedMicros, chargesMicros) : null,
      byReason,
    };
  }
}

export function summarizeMatches(lines: Iterable<SummarizableLine>): MatchSummary {
  const builder = new MatchSummaryBuilder();
  for (const line of lines) builder.add(line);
  return builder.result();
}
