/**
 * billing:insights: DigitalOcean's nightly estimate of every invoice item's cost per day, into
 * billing_insight_points, classified and matched like invoice lines, with daily rollups per project, tenant and kind.
 *
 * 1. The account URN: DIGITALOCEAN_BILLING_ACCOUNT_URN, else `do:team:<team.uuid>` of /v2/account (stored in
 *    cloud_accounts.team_uuid).
 * 2. Outside any transaction, every page of the previous month and of the current month up to today
 *    (insight-points.ts, insightRanges): each point is read, classified (the SKU's product through the invoice
 *    lines' rules), matched (the invoice matcher over every resource of the account, stale ones included), given its
 *    project and tenant (the resource's), and encoded as a COPY row. A failed request or an incomplete listing fails
 *    the run here, before anything was written: the stored points stay as they were.
 * 3. ONE transaction: for every fetched day whose rows differ from the stored ones (a digest per day,
 *    billing_insight_days), delete its points, rollups and day row, COPY its new points, insert its rollups (summed
 *    while encoding) and day row. Each fetched day is replaced as a whole or not at all; a day with no points left in
 *    the answer is left with none; a day already stored exactly so is not touched (the daily run rewrites yesterday
 *    and the corrected days, not two months). A rerun on the same answer writes the same rows.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { copyFrom, copyValue } from '../../db/copy.js';
import type { BillingDataPoint } from '../../digitalocean/types.js';
import type { RunTrigger } from '../../domain/tasks.js';
import { TextCleaner } from '../clean-text.js';
import { withRun, type ActiveRun, type RunOutcome } from '../run.js';
import { requireApi, runEnvironment, type BillingContext } from './context.js';
import { microsToDecimal } from '../../domain/decimal.js';
import { loadCandidateIndex } from './ingest.js';
import {
  insightRanges,
  matchableLine,
  OccurrenceCounter,
  PointReader,
  type DayRange,
  type InsightPoint,
} from './insight-points.js';
import { matchLine, MatchSummaryBuilder, type CandidateIndex } from './match.js';

export interface InsightsOptions {
  trigger: RunTrigger;
  jobId?: string | null;
  signal?: AbortSignal | undefined;
  /** The day the run counts as today (UTC). Default: now. */
  today?: Date;
}

export interface InsightsSummary {
  accountUrn: string;
  ranges: Array<DayRange & { points: number; amount: string }>;
  points: number;
  /** Days rewritten; the other fetched days were stored exactly so already. */
  daysWritten: string[];
  replacedPoints: number;
}

export type InsightsOutcome = RunOutcome<InsightsSummary>;

const COPY_COLUMNS = [
  'account_id',
  'day',
  'occurrence',
  'usage_team_urn',
  'sku',
  'region',
  'description',
  'group_description',
  'amount',
  'kind',
  'resource_name',
  'resource_id',
  'project_id',
  'tenant_id',
  'match_method',
  'unmatched_reason',
] as const;
const COPY_STATEMENT = `COPY billing_insight_points (${COPY_COLUMNS.join(', ')}) FROM STDIN`;
const COPY_CHUNK_CHARS = 128 * 1024;
/** Pages in flight at once: a month of a large account is thousands of pages, and each waits mostly on the network. */
const FETCH_CONCURRENCY = 4;

/** Where a matched resource's money goes: its project, and its tenant (else its project's). */
interface Attribution {
  projectId: number | null;
  tenantId: string | null;
}

async function loadAttributions(db: pg.Pool, accountId: string): Promise<Map<number, Attribution>> {
  const { rows } = await db.query<{ id: number; project_id: number | null; tenant_id: string | null }>(
    `SELECT r.id, r.cloud_project_id AS project_id, COALESCE(r.tenant_id, p.tenant_id) AS tenant_id
       FROM cloud_resources r LEFT JOIN cloud_projects p ON p.id = r.cloud_project_id
      WHERE r.account_id = $1`,
    [accountId],
  );
  return new Map(rows.map((r) => [r.id, { projectId: r.project_id, tenantId: r.tenant_id }]));
}

/** The URN the insights are asked for, from configuration or the token's team (remembered on the account row). */
async function accountUrnOf(context: BillingContext, run: ActiveRun): Promise<string> {
  if (context.billingAccountUrn) return context.billingAccountUrn;
  const account = await requireApi(context).getAccount();
  run.counts.apiCalls += 1;
  const uuid = account.team?.uuid?.trim();
  if (!uuid)
    throw new Error('/v2/account names no team: set DIGITALOCEAN_BILLING_ACCOUNT_URN (do:team:… or do:teamgroup:…)');
  await context.pool.query(`UPDATE cloud_accounts SET team_uuid = $2, updated_at = now() WHERE id = $1`, [
    context.accountId,
    uuid,
  ]);
  return `do:team:${uuid}`;
}

interface RollupBucket {
  day: string;
  projectId: number | null;
  tenantId: string | null;
  kind: string | null;
  unmatchedReason: string | null;
  micros: bigint;
  matchedMicros: bigint;
  count: number;
}

/** One day's rows as COPY text, and their digest. */
class DayRows {
  readonly chunks: Buffer[] = [];
  private readonly hash = createHash('sha256');
  buffer = '';
  points = 0;
  micros = 0n;
  digest = '';

  flush(): void {
    if (!this.buffer) return;
    const chunk = Buffer.from(this.buffer, 'utf8');
    this.hash.update(chunk);
    this.chunks.push(chunk);
    this.buffer = '';
  }

  finish(): void {
    this.flush();
    this.digest = this.hash.digest('hex');
  }
}

/** Everything fetched, ready to write: each day's COPY rows, the rollups, the tallies. */
class Encoded {
  readonly days = new Map<string, DayRows>();
  readonly rollups = new Map<string, RollupBucket>();
  readonly summary = new MatchSummaryBuilder();
  readonly byRange = new Map<string, { points: number; micros: bigint }>();
  readonly cleaner = new TextCleaner();
  points = 0;
  private readonly reader = new PointReader((value) => this.cleaner.text(value));
  private readonly occurrences = new OccurrenceCounter();

  constructor(
    private readonly accountId: string,
    private readonly candidates: CandidateIndex,
    private readonly attributions: Map<number, Attribution>,
  ) {}

  add(raw: BillingDataPoint, range: DayRange): void {
    const point: InsightPoint = this.reader.read(raw);
    if (point.day < range.start || point.day > range.end)
      throw new Error(`billing insights for ${range.start}..${range.end} returned a point of ${point.day}`);
    point.occurrence = this.occurrences.next(point);
    const match = matchLine(matchableLine(point), this.candidates);
    const attribution = match.resourceId === null ? undefined : this.attributions.get(match.resourceId);
    const projectId = attribution?.projectId ?? null;
    const tenantId = attribution?.tenantId ?? null;
    const { micros } = point;
    this.summary.add({ amount: point.amount, resourceId: match.resourceId, unmatchedReason: match.unmatchedReason });

    const reason = match.unmatchedReason;
    const rollupKey = `${point.day}\u0000${projectId ?? ''}\u0000${tenantId ?? '\u0001'}\u0000${point.kind ?? '\u0001'}\u0000${reason ?? ''}`;
    let bucket = this.rollups.get(rollupKey);
    if (!bucket) {
      bucket = {
        day: point.day,
        projectId,
        tenantId,
        kind: point.kind,
        unmatchedReason: reason,
        micros: 0n,
        matchedMicros: 0n,
        count: 0,
      };
      this.rollups.set(rollupKey, bucket);
    }
    bucket.micros += micros;
    if (match.resourceId !== null) bucket.matchedMicros += micros;
    bucket.count++;
    const tally = this.byRange.get(range.month) ?? { points: 0, micros: 0n };
    tally.points++;
    tally.micros += micros;
    this.byRange.set(range.month, tally);

    let rows = this.days.get(point.day);
    if (!rows) {
      rows = new DayRows();
      this.days.set(point.day, rows);
    }
    rows.points++;
    rows.micros += micros;
    rows.buffer +=
      this.accountId +
      '\t' +
      point.day +
      '\t' +
      point.occurrence +
      '\t' +
      copyValue(point.usageTeamUrn) +
      '\t' +
      copyValue(point.sku) +
      '\t' +
      copyValue(point.region) +
      '\t' +
      copyValue(point.description) +
      '\t' +
      copyValue(point.groupDescription) +
      '\t' +
      point.amount +
      '\t' +
      copyValue(point.kind) +
      '\t' +
      copyValue(point.resourceName) +
      '\t' +
      copyValue(match.resourceId) +
      '\t' +
      copyValue(projectId) +
      '\t' +
      copyValue(tenantId) +
      '\t' +
      copyValue(match.matchMethod) +
      '\t' +
      copyValue(match.unmatchedReason) +
      '\n';
    this.points++;
    if (rows.buffer.length >= COPY_CHUNK_CHARS) rows.flush();
  }

  finish(): void {
    for (const rows of this.days.values()) rows.finish();
  }
}

async function fetchRange(context: BillingContext, run: ActiveRun, urn: string, range: DayRange, encoded: Encoded) {
  const api = requireApi(context);
  const listing = await api.listBillingInsights(urn, range.start, range.end, {
    collect: false,
    concurrency: FETCH_CONCURRENCY,
    ...(run.signal && { signal: run.signal }),
    onPage: (points, info) => {
      for (const raw of points) encoded.add(raw, range);
      run.progress({
        done: info.count,
        total: info.total ?? null,
        page: info.page,
        message: `insights ${range.start}..${range.end}`,
      });
    },
  });
  run.counts.apiCalls += listing.apiCalls;
  run.counts.pages += listing.pages;
  if (!listing.complete) {
    throw new Error(
      `billing insights ${range.start}..${range.end} listing incomplete: ${listing.incompleteReason ?? 'unknown reason'}`,
    );
  }
}

function chunksOf(chunks: readonly Buffer[]): AsyncIterable<Buffer> {
  return Readable.from(chunks, { objectMode: true });
}

/** Every day of the ranges, YYYY-MM-DD. */
function daysOf(ranges: readonly DayRange[]): string[] {
  const out: string[] = [];
  for (const range of ranges) {
    for (let t = Date.parse(`${range.start}T00:00:00Z`); t <= Date.parse(`${range.end}T00:00:00Z`); t += 86_400_000)
      out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

export interface ReplaceResult {
  /** Days whose rows were rewritten (their answer or its matching changed, or they are new or now empty). */
  daysWritten: string[];
  /** Days whose rows were already exactly these. */
  daysUnchanged: number;
  /** Stored points deleted (and, for the days that still have points, written again). */
  replacedPoints: number;
}

/**
 * Replaces every day of `ranges` with what `encoded` holds for it, in ONE transaction: the points, rollups and day
 * row of each day whose digest differs from the stored one are deleted and written again (a day without points in the
 * answer keeps none); days already stored exactly so are left alone, which is what makes the daily run cheap.
 */
async function replaceDays(
  pool: pg.Pool,
  accountId: string,
  ranges: readonly DayRange[],
  encoded: Encoded,
): Promise<ReplaceResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const days = daysOf(ranges);
      // The stored digests, read under the lock of the rows this transaction replaces.
      const stored = await client.query<{ day: string; digest: string }>(
        `SELECT day::text AS day, digest FROM billing_insight_days WHERE account_id = $1 AND day = ANY($2::date[]) FOR UPDATE`,
        [accountId, days],
      );
      const storedDigest = new Map(stored.rows.map((r) => [r.day, r.digest]));
      const written = days.filter((day) => (encoded.days.get(day)?.digest ?? null) !== (storedDigest.get(day) ?? null));
      let removed = 0;
      if (written.length > 0) {
        const deleted = await client.query(
          'DELETE FROM billing_insight_points WHERE account_id = $1 AND day = ANY($2::date[])',
          [accountId, written],
        );
        removed = deleted.rowCount ?? 0;
        await client.query('DELETE FROM billing_insight_rollups WHERE account_id = $1 AND day = ANY($2::date[])', [
          accountId,
          written,
        ]);
        await client.query('DELETE FROM billing_insight_days WHERE account_id = $1 AND day = ANY($2::date[])', [
          accountId,
          written,
        ]);
        const writtenSet = new Set(written);
        const chunks = written.flatMap((day) => encoded.days.get(day)?.chunks ?? []);
        if (chunks.length > 0) await copyFrom(client, COPY_STATEMENT, chunksOf(chunks));
        const buckets = [...encoded.rollups.values()].filter((b) => writtenSet.has(b.day));
        if (buckets.length > 0) {
          await client.query(
            `INSERT INTO billing_insight_rollups
               (account_id, day, project_id, tenant_id, kind, unmatched_reason, amount, matched_amount, point_count)
             SELECT $1, t.day, t.project_id, t.tenant_id, t.kind, t.unmatched_reason, t.amount, t.matched_amount, t.point_count
               FROM unnest($2::date[], $3::int[], $4::text[], $5::text[], $9::text[], $6::numeric[], $7::numeric[], $8::int[])
                    AS t(day, project_id, tenant_id, kind, unmatched_reason, amount, matched_amount, point_count)`,
            [
              accountId,
              buckets.map((b) => b.day),
              buckets.map((b) => b.projectId),
              buckets.map((b) => b.tenantId),
              buckets.map((b) => b.kind),
              buckets.map((b) => microsToDecimal(b.micros)),
              buckets.map((b) => microsToDecimal(b.matchedMicros)),
              buckets.map((b) => b.count),
              buckets.map((b) => b.unmatchedReason),
            ],
          );
        }
        const filled = written.filter((day) => encoded.days.has(day));
        if (filled.length > 0) {
          await client.query(
            `INSERT INTO billing_insight_days (account_id, day, digest, point_count, amount)
             SELECT $1, t.day, t.digest, t.point_count, t.amount
               FROM unnest($2::date[], $3::text[], $4::int[], $5::numeric[]) AS t(day, digest, point_count, amount)`,
            [
              accountId,
              filled,
              filled.map((day) => encoded.days.get(day)!.digest),
              filled.map((day) => encoded.days.get(day)!.points),
              filled.map((day) => microsToDecimal(encoded.days.get(day)!.micros)),
            ],
          );
        }
      }
      await client.query('COMMIT');
      return { daysWritten: written, daysUnchanged: days.length - written.length, replacedPoints: removed };
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
}

/** One run of billing:insights (module comment). Failures are recorded in the run and returned, not thrown. */
export async function syncBillingInsights(context: BillingContext, options: InsightsOptions): Promise<InsightsOutcome> {
  const { pool, accountId } = context;
  return withRun(
    runEnvironment(context),
    { task: 'billing_insights', trigger: options.trigger, jobId: options.jobId, signal: options.signal },
    async (run) => {
      const ranges = insightRanges(options.today ?? new Date());
      const urn = await accountUrnOf(context, run);
      const [candidates, attributions] = await Promise.all([
        loadCandidateIndex(pool, accountId),
        loadAttributions(pool, accountId),
      ]);
      const encoded = new Encoded(accountId, candidates, attributions);
      for (const range of ranges) await fetchRange(context, run, urn, range, encoded);
      encoded.finish();
      run.progress({ done: encoded.points, total: encoded.points, message: 'writing' });
      const replaced = await replaceDays(pool, accountId, ranges, encoded);

      const summary = encoded.summary.result();
      const perRange = ranges.map((range) => {
        const tally = encoded.byRange.get(range.month) ?? { points: 0, micros: 0n };
        return { ...range, points: tally.points, amount: microsToDecimal(tally.micros) };
      });
      const writtenPoints = replaced.daysWritten.reduce((n, day) => n + (encoded.days.get(day)?.points ?? 0), 0);
      run.counts.listed = encoded.points;
      run.counts.created = writtenPoints;
      run.counts.unchanged = encoded.points - writtenPoints;
      Object.assign(run.details, {
        accountUrn: urn,
        ranges: perRange,
        daysWritten: replaced.daysWritten,
        daysUnchanged: replaced.daysUnchanged,
        replacedPoints: replaced.replacedPoints,
        matchedCount: summary.matchedCount,
        matchRate: summary.matchRate,
        amountMatchRate: summary.amountMatchRate,
        byReason: summary.byReason,
        ...encoded.cleaner.counts(),
      });
      return {
        accountUrn: urn,
        ranges: perRange,
        points: encoded.points,
        daysWritten: replaced.daysWritten,
        replacedPoints: replaced.replacedPoints,
      };
    },
  );
}
