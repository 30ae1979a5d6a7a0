// Billing-insight points → rows: the product a SKU stands for, the kind and name (the invoice lines' own rules),
// the occurrence number that makes identical points of a day distinct, and the line the invoice matcher reads.
// Pure: the job (insights.ts) feeds it what the API returned.
import type { BillingDataPoint } from '../../digitalocean/types.js';
import { decimalToMicros, microsToDecimal } from '../../domain/decimal.js';
import type { LineKind } from './derive-kind.js';
import { prepareLine, type MatchableLine } from './match.js';

/**
 * The invoice product a SKU family bills, so that classifyLine (derive-kind.ts) decides the kind with the same
 * specific-before-generic rules as an invoice line. A SKU reads `<n>-<service>-<family>-<code>` ("1-DO-DROP-0109",
 * "1-KS-K8SWN-00109"): the family is looked up first, then the service alone. An unknown SKU gets no product, so the
 * point is classified from its description only (taxes, credits) and is otherwise an unknown product: a wrong kind
 * would attribute money to the wrong resource.
 */
const SKU_FAMILIES: Readonly<Record<string, string>> = {
  'DO-DROP': 'Droplets',
  'DO-GPU': 'GPU Droplets',
  'DO-BKUP': 'Droplet Backups',
  'DO-SNAP': 'Droplet Snapshots',
  'BS-VOL': 'Volumes',
  'BS-SNAP': 'Volume Snapshots',
  'NW-FIP': 'Floating IPs',
  'NW-FIP6': 'Reserved IPv6',
  'NW-LB': 'Load Balancers',
  'NW-BW': 'Bandwidth',
};
const SKU_SERVICES: Readonly<Record<string, string>> = {
  KS: 'Kubernetes Clusters',
  DB: 'Managed Databases',
  AP: 'App Platform',
  SP: 'Spaces Subscription',
  CR: 'Container Registry',
};
const SKU_SHAPE = /^\d+-([A-Z0-9]+)-([A-Z0-9]+)/;

/** The invoice product name a SKU bills, or null for a SKU this table does not know. */
export function skuProduct(sku: string): string | null {
  const match = SKU_SHAPE.exec(sku.trim().toUpperCase());
  if (!match) return null;
  return SKU_FAMILIES[`${match[1]}-${match[2]}`] ?? SKU_SERVICES[match[1]!] ?? null;
}

/** A point as stored: the API's fields with blanks as '' (they are part of the natural key), amount canonical. */
export interface InsightPoint {
  /** YYYY-MM-DD */
  day: string;
  usageTeamUrn: string;
  sku: string;
  region: string;
  description: string;
  groupDescription: string;
  /** Decimal string, canonical (normalizeDecimal). */
  amount: string;
  /** The amount in micros (decimal.ts). */
  micros: bigint;
  /** 1, 2, … among the day's points with the same natural key (OccurrenceCounter). */
  occurrence: number;
  /** One object per natural key (all but the day), shared by the points of every day: what occurrences count by. */
  item: object;
  kind: LineKind | null;
  resourceName: string | null;
  isTax: boolean;
  isCredit: boolean;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const SEP = '\u0000';

/** Thrown for a point that cannot be stored as it is (a bad day or amount): the run fails, the old rows stay. */
export class InsightPointError extends Error {
  override readonly name = 'InsightPointError';
}

/** What is read once per item (a resource's point repeats every day with the same text). */
interface Classification {
  usageTeamUrn: string;
  sku: string;
  region: string;
  description: string;
  groupDescription: string;
  kind: LineKind | null;
  resourceName: string | null;
  isTax: boolean;
  isCredit: boolean;
}

/**
 * Reads points and classifies them. A resource's point repeats every day of the month with the same text, so the
 * cleaned text and the classification (a dozen regular expressions) are kept per item (the natural key).
 */
export class PointReader {
  private readonly cache = new Map<string, Classification>();
  private readonly days = new Set<string>();

  /** `text` cleans what PostgreSQL refuses (clean-text.ts). Throws InsightPointError for a bad day or amount. */
  constructor(private readonly text: (value: string) => string = (value) => value) {}

  read(raw: BillingDataPoint): InsightPoint {
    const { text } = this;
    const day = String(raw.start_date ?? '').slice(0, 10);
    if (!this.days.has(day)) {
      if (!DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)))
        throw new InsightPointError(`billing insight point has no valid start_date ("${String(raw.start_date)}")`);
      this.days.add(day);
    }
    let micros: bigint;
    try {
      micros = decimalToMicros(String(raw.total_amount ?? ''));
    } catch {
      throw new InsightPointError(`billing insight point of ${day} has no decimal total_amount`);
    }
    const sku = String(raw.sku ?? '').trim();
    const description = String(raw.description ?? '');
    const groupDescription = String(raw.group_description ?? '');
    const region = String(raw.region ?? '');
    const usageTeamUrn = String(raw.usage_team_urn ?? '');
    const key = usageTeamUrn + SEP + sku + SEP + region + SEP + description + SEP + groupDescription;
    let item = this.cache.get(key);
    if (!item) {
      // Classified as a charge; a negative amount makes a credit below, as it does for an invoice line.
      const clean = { sku: text(sku), description: text(description), groupDescription: text(groupDescription) };
      const prepared = prepareLine({
        product: skuProduct(clean.sku) ?? '',
        description: clean.description,
        groupDescription: clean.groupDescription,
        amount: '1',
      });
      item = {
        ...clean,
        region: text(region),
        usageTeamUrn: text(usageTeamUrn),
        kind: prepared.kind,
        resourceName: prepared.name,
        isTax: prepared.isTax,
        isCredit: prepared.isCredit,
      };
      this.cache.set(key, item);
    }
    return {
      day,
      usageTeamUrn: item.usageTeamUrn,
      sku: item.sku,
      region: item.region,
      description: item.description,
      groupDescription: item.groupDescription,
      amount: microsToDecimal(micros),
      micros,
      occurrence: 0,
      item,
      kind: item.kind,
      resourceName: item.resourceName,
      isTax: item.isTax,
      isCredit: item.isCredit || micros < 0n,
    };
  }
}

/**
 * Numbers the points that share a day and a natural key 1, 2, … in the order they arrive (two droplets with the same
 * name and size in one region give two such points, and both are money; they differ in nothing but the amount).
 * So the same answer always gives the same rows, and the unique key (account, day, natural key, occurrence) holds.
 */
export class OccurrenceCounter {
  private readonly seen = new Map<string, Map<object, number>>();

  next(point: Pick<InsightPoint, 'day' | 'item'>): number {
    let day = this.seen.get(point.day);
    if (!day) {
      day = new Map();
      this.seen.set(point.day, day);
    }
    const n = (day.get(point.item) ?? 0) + 1;
    day.set(point.item, n);
    return n;
  }
}

const dayBounds = new Map<string, { startAt: Date; endAt: Date }>();

/** The point as the invoice matcher reads a line: no ids (insights carry none), the day as its period. */
export function matchableLine(point: InsightPoint): MatchableLine {
  let bounds = dayBounds.get(point.day);
  if (!bounds) {
    const startAt = new Date(`${point.day}T00:00:00Z`);
    bounds = { startAt, endAt: new Date(startAt.getTime() + 86_400_000 - 1) };
    if (dayBounds.size > 1000) dayBounds.clear();
    dayBounds.set(point.day, bounds);
  }
  return { kind: point.kind, name: point.resourceName, isTax: point.isTax, isCredit: point.isCredit, ...bounds };
}

// ---------------------------------------------------------------------------------------------------------------
// Days and months

/** YYYY-MM-DD of a UTC instant. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export interface DayRange {
  /** YYYY-MM */
  month: string;
  /** YYYY-MM-DD, inclusive. */
  start: string;
  end: string;
}

/**
 * What a run fetches on `today` (UTC): the previous month whole (late corrections land there), and the current month
 * from its first day to today. Each range is one month, so within the API's 31-day limit.
 */
export function insightRanges(today: Date): DayRange[] {
  const y = today.getUTCFullYear();
  const m = today.getUTCMonth();
  const first = (year: number, month: number): Date => new Date(Date.UTC(year, month, 1));
  const previousStart = first(y, m - 1);
  const previousEnd = new Date(first(y, m).getTime() - 86_400_000);
  return [
    { month: isoDay(previousStart).slice(0, 7), start: isoDay(previousStart), end: isoDay(previousEnd) },
    { month: isoDay(first(y, m)).slice(0, 7), start: isoDay(first(y, m)), end: isoDay(today) },
  ];
}
