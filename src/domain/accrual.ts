// Live accrual: what a month costs so far from the billing-insight points, day by day and per project, tenant, kind
// and resource, where it will end (forecast), what moved day over day (movers), and how it compares with the balance
// and the month's invoice. The forecast and the movers are pure functions; the reads are one SQL statement each,
// over the daily rollups (project, tenant, kind, day) or over an index of the points (a resource, two days).
import type pg from 'pg';
import { decimalToMicros, microsToDecimal } from './decimal.js';

const micros = decimalToMicros;
const decimal = (m: bigint): string => microsToDecimal(m);
/** A numeric column's text ("12.340000") as the API spells money ("12.34"). */
const canonical = (value: string): string => decimal(micros(value));

/** a / b rounded half away from zero, in micros. */
function divide(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const negative = a < 0n !== b < 0n;
  const absA = a < 0n ? -a : a;
  const absB = b < 0n ? -b : b;
  const q = (absA * 2n + absB) / (absB * 2n);
  return negative ? -q : q;
}

// ---------------------------------------------------------------------------------------------------------------
// Months and days

/** The first and last day (YYYY-MM-DD) of a month (YYYY-MM) and how many days it has. */
export function monthDays(month: string): { first: string; last: string; days: number } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { first: `${month}-01`, last: `${month}-${String(days).padStart(2, '0')}`, days };
}

/** The month (YYYY-MM, UTC) of an instant. */
export function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

function dayBefore(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------------------------
// Forecast

/** How a forecast is made, named in the schema. */
export const FORECAST_METHOD = 'run_rate';
export const FORECAST_WINDOW_DAYS = 7;

export interface DayAmount {
  /** YYYY-MM-DD */
  day: string;
  /** Decimal string. */
  amount: string;
}

export interface Forecast {
  method: typeof FORECAST_METHOD;
  /** Sum of every observed day of the month. */
  monthToDate: string;
  /** The last day the account has points for (the forecast's "today"); null: none yet. */
  lastObservedDay: string | null;
  /** Days of the month up to and including lastObservedDay. */
  daysObserved: number;
  /** Complete days the run rate averages: the last min(window, daysObserved) days up to lastObservedDay. */
  windowDays: number;
  /** Mean cost per day over the window (a day without points counts as zero). */
  dailyRate: string;
  /** Days of the month after lastObservedDay. */
  daysRemaining: number;
  /** monthToDate + dailyRate × daysRemaining. */
  forecast: string;
}

/**
 * The month-end forecast of one series (the account, a project, a tenant): month to date plus the mean of the last
 * `window` observed days times the days left. `lastObservedDay` is the account's, so a project whose resources
 * stopped billing days ago is forecast to stay at zero rather than to keep its old rate. Pure.
 */
export function forecastMonth(
  month: string,
  series: readonly DayAmount[],
  lastObservedDay: string | null,
  window = FORECAST_WINDOW_DAYS,
): Forecast {
  const { first, days } = monthDays(month);
  let total = 0n;
  const byDay = new Map<string, bigint>();
  for (const point of series) {
    if (point.day < first || (lastObservedDay !== null && point.day > lastObservedDay)) continue;
    const m = micros(point.amount);
    total += m;
    byDay.set(point.day, (byDay.get(point.day) ?? 0n) + m);
  }
  if (lastObservedDay === null || lastObservedDay < first) {
    return {
      method: FORECAST_METHOD,
      monthToDate: decimal(total),
      lastObservedDay: null,
      daysObserved: 0,
      windowDays: 0,
      dailyRate: '0.00',
      daysRemaining: days,
      forecast: decimal(total),
    };
  }
  const daysObserved = Math.min(days, Number(lastObservedDay.slice(8, 10)));
  const windowDays = Math.max(1, Math.min(window, daysObserved));
  let windowTotal = 0n;
  let day = lastObservedDay;
  for (let i = 0; i < windowDays; i++, day = dayBefore(day)) windowTotal += byDay.get(day) ?? 0n;
  const rate = divide(windowTotal, BigInt(windowDays));
  const daysRemaining = days - daysObserved;
  return {
    method: FORECAST_METHOD,
    monthToDate: decimal(total),
    lastObservedDay,
    daysObserved,
    windowDays,
    dailyRate: decimal(rate),
    daysRemaining,
    forecast: decimal(total + rate * BigInt(daysRemaining)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Movers

/** What one resource (or one unmatched item, by kind and name) and one SKU cost on one day. */
export interface DayCost {
  resourceId: number | null;
  kind: string | null;
  resourceName: string | null;
  sku: string;
  description: string;
  amount: string;
}

export interface ResourceMove {
  resourceId: number | null;
  kind: string | null;
  resourceName: string | null;
  previousAmount: string;
  amount: string;
  change: string;
  /** change / previousAmount; null when the resource cost nothing the day before. */
  ratio: number | null;
}

export interface SkuChange {
  sku: string;
  description: string;
  resourceId: number | null;
  kind: string | null;
  resourceName: string | null;
  /** The day's amount (new SKUs) or the previous day's (vanished ones). */
  amount: string;
}

export interface Movers {
  resources: ResourceMove[];
  newSkus: SkuChange[];
  vanishedSkus: SkuChange[];
}

export const DEFAULT_MOVER_RATIO = 0.2;
export const DEFAULT_MOVER_MIN_CHANGE = '0.05';

function resourceKey(c: Pick<DayCost, 'resourceId' | 'kind' | 'resourceName'>): string {
  return c.resourceId !== null ? `#${c.resourceId}` : `${c.kind ?? ''}\u0000${c.resourceName ?? ''}`;
}

/**
 * Resources whose cost changed day over day by more than `ratio` of the previous day's and by at least `minChange`
 * (a resource that appears or disappears always counts, if it moved by `minChange`), largest change first; and the
 * SKUs billed on one day and not the other (per resource: a resize shows as one SKU vanishing, one appearing). Pure.
 */
export function findMovers(
  previous: readonly DayCost[],
  current: readonly DayCost[],
  options: { ratio?: number; minChange?: string } = {},
): Movers {
  const ratio = options.ratio ?? DEFAULT_MOVER_RATIO;
  const minChange = micros(options.minChange ?? DEFAULT_MOVER_MIN_CHANGE);
  const totals = new Map<string, { ref: DayCost; before: bigint; after: bigint }>();
  const skus = (costs: readonly DayCost[]) => {
    const map = new Map<string, { cost: DayCost; amount: bigint }>();
    for (const c of costs) {
      const key = `${resourceKey(c)}\u0000${c.sku}\u0000${c.description}`;
      const entry = map.get(key);
      if (entry) entry.amount += micros(c.amount);
      else map.set(key, { cost: c, amount: micros(c.amount) });
    }
    return map;
  };
  for (const [list, side] of [
    [previous, 'before'],
    [current, 'after'],
  ] as const) {
    for (const c of list) {
      const key = resourceKey(c);
      const entry = totals.get(key) ?? { ref: c, before: 0n, after: 0n };
      entry[side] += micros(c.amount);
      totals.set(key, entry);
    }
  }
  const resources: Array<ResourceMove & { abs: bigint }> = [];
  for (const { ref, before, after } of totals.values()) {
    const change = after - before;
    const abs = change < 0n ? -change : change;
    if (abs < minChange || abs === 0n) continue;
    const relative = before === 0n ? null : Number(change) / Number(before);
    if (relative !== null && Math.abs(relative) <= ratio) continue;
    resources.push({
      resourceId: ref.resourceId,
      kind: ref.kind,
      resourceName: ref.resourceName,
      previousAmount: decimal(before),
      amount: decimal(after),
      change: decimal(change),
      ratio: relative,
      abs,
    });
  }
  resources.sort((a, b) => (a.abs < b.abs ? 1 : a.abs > b.abs ? -1 : 0));
  const before = skus(previous);
  const after = skus(current);
  const change = (entry: { cost: DayCost; amount: bigint }): SkuChange => ({
    sku: entry.cost.sku,
    description: entry.cost.description,
    resourceId: entry.cost.resourceId,
    kind: entry.cost.kind,
    resourceName: entry.cost.resourceName,
    amount: decimal(entry.amount),
  });
  return {
    resources: resources.map(({ abs: _abs, ...move }) => move),
    newSkus: [...after].filter(([key]) => !before.has(key)).map(([, entry]) => change(entry)),
    vanishedSkus: [...before].filter(([key]) => !after.has(key)).map(([, entry]) => change(entry)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reads

export type AccrualGroup = 'project_id' | 'tenant_id' | 'kind' | 'unmatched_reason';

export interface GroupDayRow {
  key: string | number | null;
  day: string;
  amount: string;
  matched_amount: string;
  point_count: number;
}

/** The month's rollups per day and per group (or for the whole account with `group` null), from the rollups only. */
export async function accrualByDay(
  pool: pg.Pool,
  accountId: string,
  month: string,
  group: AccrualGroup | null,
): Promise<GroupDayRow[]> {
  const { first, last } = monthDays(month);
  const key = group === null ? 'NULL::text' : group;
  const { rows } = await pool.query<GroupDayRow>(
    `SELECT ${key} AS key, day::text AS day, sum(amount)::text AS amount, sum(matched_amount)::text AS matched_amount,
            sum(point_count)::int AS point_count
       FROM billing_insight_rollups
      WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date
      GROUP BY ${group === null ? '' : `${group}, `}day
      ORDER BY day`,
    [accountId, first, last],
  );
  return rows.map((r) => ({ ...r, amount: canonical(r.amount), matched_amount: canonical(r.matched_amount) }));
}

/** The last day of the month the account has points for (from the rollups), or null. */
export async function lastObservedDay(pool: pg.Pool, accountId: string, month: string): Promise<string | null> {
  const { first, last } = monthDays(month);
  const { rows } = await pool.query<{ day: string | null }>(
    `SELECT max(day)::text AS day FROM billing_insight_rollups WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date`,
    [accountId, first, last],
  );
  return rows[0]?.day ?? null;
}

export interface ResourceAccrualRow {
  resource_id: number | null;
  kind: string | null;
  resource_name: string | null;
  amount: string;
  point_count: number;
  days: number;
}

/**
 * The month's points per resource (unmatched points per kind and name), largest first. This one groups the month's
 * raw points: a per-resource rollup would be as large as the points themselves.
 */
export async function accrualByResource(
  pool: pg.Pool,
  accountId: string,
  month: string,
  limit: number,
): Promise<ResourceAccrualRow[]> {
  const { first, last } = monthDays(month);
  const { rows } = await pool.query<ResourceAccrualRow>(
    `SELECT resource_id, min(kind) AS kind, min(resource_name) AS resource_name, sum(amount)::text AS amount,
            count(*)::int AS point_count, count(DISTINCT day)::int AS days
       FROM billing_insight_points
      WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date
      GROUP BY resource_id, CASE WHEN resource_id IS NULL THEN kind END, CASE WHEN resource_id IS NULL THEN resource_name END
      ORDER BY sum(amount) DESC, resource_id NULLS LAST, min(resource_name)
      LIMIT $4`,
    [accountId, first, last, limit],
  );
  return rows.map((r) => ({ ...r, amount: canonical(r.amount) }));
}

/** Per day of the month, what each of these resources cost (the points' (resource_id, day) index). */
export async function resourceDays(
  pool: pg.Pool,
  resourceIds: readonly number[],
  month: string,
): Promise<Map<number, Array<DayAmount & { pointCount: number }>>> {
  const { first, last } = monthDays(month);
  const { rows } = await pool.query<{ resource_id: number; day: string; amount: string; point_count: number }>(
    `SELECT resource_id, day::text AS day, sum(amount)::text AS amount, count(*)::int AS point_count
       FROM billing_insight_points
      WHERE resource_id = ANY($1::int[]) AND day BETWEEN $2::date AND $3::date
      GROUP BY resource_id, day ORDER BY resource_id, day`,
    [resourceIds, first, last],
  );
  const out = new Map<number, Array<DayAmount & { pointCount: number }>>();
  for (const row of rows) {
    const list = out.get(row.resource_id) ?? [];
    list.push({ day: row.day, amount: canonical(row.amount), pointCount: row.point_count });
    out.set(row.resource_id, list);
  }
  return out;
}

/** What each resource and SKU cost on `day` (the points of one day, from the natural key's index). */
export async function dayCosts(pool: pg.Pool, accountId: string, day: string): Promise<DayCost[]> {
  const { rows } = await pool.query<{
    resource_id: number | null;
    kind: string | null;
    resource_name: string | null;
    sku: string;
    description: string;
    amount: string;
  }>(
    `SELECT resource_id, kind, resource_name, sku, description, sum(amount)::text AS amount
       FROM billing_insight_points WHERE account_id = $1 AND day = $2::date
      GROUP BY resource_id, kind, resource_name, sku, description`,
    [accountId, day],
  );
  return rows.map((r) => ({
    resourceId: r.resource_id,
    kind: r.kind,
    resourceName: r.resource_name,
    sku: r.sku,
    description: r.description,
    amount: canonical(r.amount),
  }));
}

export { dayBefore };

export interface InvoiceComparison {
  invoiceUuid: string;
  provisional: boolean;
  invoiceAmount: string;
  /** The invoice's lines but taxes and credits: what the nightly estimates cover. */
  chargesAmount: string;
  taxesAndCredits: string;
}

/** The month's ingested invoice (the final one, else the preview) with its charges apart from taxes and credits. */
export async function monthInvoice(pool: pg.Pool, accountId: string, month: string): Promise<InvoiceComparison | null> {
  const { rows } = await pool.query<{
    invoice_uuid: string;
    provisional: boolean;
    amount: string;
    charges: string | null;
    adjustments: string | null;
  }>(
    `SELECT i.invoice_uuid, i.provisional, i.amount::text,
            (SELECT sum(l.amount) FROM cloud_cost_lines l
              WHERE l.invoice_id = i.id AND l.unmatched_reason IS DISTINCT FROM 'tax'
                AND l.unmatched_reason IS DISTINCT FROM 'credit')::text AS charges,
            (SELECT sum(l.amount) FROM cloud_cost_lines l
              WHERE l.invoice_id = i.id AND l.unmatched_reason IN ('tax', 'credit'))::text AS adjustments
       FROM cloud_invoices i
      WHERE i.account_id = $1 AND i.period = $2 AND i.ingest_status = 'ingested'
      ORDER BY i.provisional, i.id DESC LIMIT 1`,
    [accountId, month],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    invoiceUuid: row.invoice_uuid,
    provisional: row.provisional,
    invoiceAmount: decimal(micros(row.amount)),
    chargesAmount: decimal(micros(row.charges ?? '0')),
    taxesAndCredits: decimal(micros(row.adjustments ?? '0')),
  };
}

/** The latest balance snapshot polled during the month. */
export async function monthBalance(
  pool: pg.Pool,
  accountId: string,
  month: string,
): Promise<{ monthToDateUsage: string; generatedAt: Date } | null> {
  const { first, last } = monthDays(month);
  const { rows } = await pool.query<{ usage: string; generated_at: Date }>(
    `SELECT month_to_date_usage::text AS usage, generated_at FROM cloud_balance_snapshots
      WHERE account_id = $1 AND generated_at >= $2::date AND generated_at < $3::date + 1
      ORDER BY generated_at DESC, id DESC LIMIT 1`,
    [accountId, first, last],
  );
  const row = rows[0];
  return row ? { monthToDateUsage: decimal(micros(row.usage)), generatedAt: row.generated_at } : null;
}

/** a − b of two decimal strings. */
export function subtract(a: string, b: string): string {
  return decimal(micros(a) - micros(b));
}

/** The sum of decimal strings. */
export function sumAmounts(values: Iterable<string>): string {
  let total = 0n;
  for (const value of values) total += micros(value);
  return decimal(total);
}
