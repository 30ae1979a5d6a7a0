/**
 * InvoiceIngest: one invoice's lines, from DigitalOcean into cloud_cost_lines, classified and matched.
 *
 * 1. A session advisory lock per (account, invoice) on a dedicated connection: two ingests of one invoice never
 *    run at once (the second returns `busy`; the job wrapper queues it again 30 s later).
 * 2. The header goes to `ingesting` (attempts + 1), a `sync_runs` row (task `invoice`) is opened.
 *    A provisional (preview) invoice whose period already has an ingested final invoice is deleted instead.
 * 3. Outside any transaction: the candidate index (every cloud_resources row of the account, stale ones
 *    included, in ONE query), the invoice summary (PII dropped), and the JSON items if they fit the budget
 *    (reconcile.ts explains how CSV lines and JSON items are reconciled).
 * 4. ONE transaction: lock the header row, DELETE the invoice's lines, stream CSV → parse → enrich → classify →
 *    match → COPY FROM STDIN (memory-flat, back-pressured by the socket; statements of 20,000 rows, the next rows
 *    read ahead while PostgreSQL checks the foreign keys of the last ones; text values cleaned of what PostgreSQL
 *    refuses and counted, clean-text.ts), judge the new line set against the invoice amount and the lines it
 *    replaces (line-set.ts: a refusal fails the ingest), delete the provisional invoices this one supersedes,
 *    write the header's counts. Any failure (dropped download, malformed line, database error)
 *    rolls all of it back: the previous lines stay as they were, and the header records the error and status
 *    `failed` (the next billing-history run enqueues it again). A rerun yields the same lines and counts.
 *
 * Match rate: matched lines / all lines of the invoice (cloud_invoices.match_rate, numeric(7,6)); taxes and credits
 * count in the denominator because they are lines of the invoice too. The summary also keeps the amount-based rate
 * over attributable charges (taxes and credits left out) and the count and amount of every unmatched reason.
 */
import type pg from 'pg';
import { copyFrom, copyValue } from '../../db/copy.js';
import type { InvoiceItem, InvoiceSummary } from '../../digitalocean/types.js';
import type { RunTrigger } from '../../domain/tasks.js';
import { invoiceIngestDuration, invoiceIngests, invoiceLines } from '../../metrics.js';
import { TextCleaner } from '../clean-text.js';
import { errorText, withRun, type ActiveRun } from '../run.js';
import {
  type BillingContext,
  type BillingApi,
  DEFAULT_MAX_JSON_ITEMS,
  isNotOffered,
  loggerOf,
  requireApi,
  runEnvironment,
} from './context.js';
import { parseInvoiceCsvBatches } from './csv.js';
import { judgeLineSet, LineSetRefusedError, referenceAmount } from './line-set.js';
import {
  buildCandidateIndex,
  matchLine,
  MatchSummaryBuilder,
  prepareLine,
  type CandidateIndex,
  type MatchCandidate,
  type MatchMethod,
} from './match.js';
import {
  InvoiceItemError,
  JsonItemIndex,
  jsonItemToLine,
  type ReconciliationStats,
  type SourceLine,
} from './reconcile.js';

export interface IngestOptions {
  trigger: RunTrigger;
  jobId?: string | null;
  /** The job's abort signal (shutdown): a download in progress is interrupted. */
  signal?: AbortSignal | undefined;
  /** Lines between two progress events. Default 10,000. */
  progressEvery?: number;
}

export type IngestOutcome =
  | { status: 'busy'; invoiceUuid: string }
  | { status: 'superseded'; invoiceUuid: string; runId: number }
  | { status: 'failed'; invoiceUuid: string; runId: number; error: string }
  | {
      status: 'ingested';
      invoiceUuid: string;
      runId: number;
      lineCount: number;
      matchedCount: number;
      matchRate: string | null;
      lineSource: 'csv' | 'json';
      /** What the ingest set aside without failing (malformed JSON items beside a CSV); empty when nothing. */
      warnings: string[];
      durationMs: number;
    };

export class InvoiceNotFoundError extends Error {
  override readonly name = 'InvoiceNotFoundError';
  constructor(invoiceUuid: string) {
    super(`invoice ${invoiceUuid} is not known (run billing history first)`);
  }
}

interface InvoiceHeader {
  id: number;
  invoice_uuid: string;
  period: string;
  amount: string;
  provisional: boolean;
}

const COPY_COLUMNS = [
  'invoice_id',
  'line_no',
  'source',
  'period',
  'product',
  'group_description',
  'description',
  'kind',
  'resource_name',
  'resource_uuid',
  'resource_provider_id',
  'hours',
  'start_at',
  'end_at',
  'amount',
  'project_name',
  'category',
  'resource_id',
  'match_method',
  'unmatched_reason',
] as const;
const COPY_STATEMENT = `COPY cloud_cost_lines (${COPY_COLUMNS.join(', ')}) FROM STDIN`;

/** Chunks handed to COPY: big enough to amortize the per-message cost, small enough to stay flat. */
const COPY_CHUNK_CHARS = 128 * 1024;
/** Rows per COPY statement (see Prefetcher), and chunks read ahead (~4 MB, about 25,000 rows). */
const COPY_BATCH_ROWS = 20_000;
const PREFETCH_CHUNKS = 32;

/** Already encoded: a chunk of concatenated rows is a tree of many small strings until it is flattened, and
 *  holding such trees in the read-ahead queue would make the collector promote them all. */
interface CopyChunk {
  data: Buffer;
  rows: number;
}

const LOCK_KEY = `SELECT hashtextextended('cloud-ops:invoice:' || $1 || ':' || $2, 0) AS key`;

/** Loads every resource of the account as a match candidate, stale ones included, in one query. */
export async function loadCandidateIndex(db: pg.Pool | pg.ClientBase, accountId: string): Promise<CandidateIndex> {
  const result = await db.query<{
    id: number;
    kind: string;
    provider_id: string;
    name: string | null;
    created: Date | null;
    stale_at: Date | null;
  }>(
    `SELECT id, kind, provider_id, name, provider_created_at AS created, stale_at FROM cloud_resources WHERE account_id = $1`,
    [accountId],
  );
  const candidates: MatchCandidate[] = result.rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    providerId: r.provider_id,
    name: r.name,
    stale: r.stale_at !== null,
    createdAt: r.created,
    staleAt: r.stale_at,
  }));
  return buildCandidateIndex(candidates);
}

/** The summary without personal data (user name, company, email and billing address are dropped). */
export function summaryWithoutPii(summary: InvoiceSummary): Record<string, unknown> {
  const charge = (c: { name?: string; amount?: string } | undefined): Record<string, unknown> | null =>
    c ? { name: c.name ?? null, amount: c.amount ?? null } : null;
  return {
    billingPeriod: summary.billing_period ?? null,
    amount: summary.amount ?? null,
    productCharges: summary.product_charges
      ? {
          ...charge(summary.product_charges),
          items: (summary.product_charges.items ?? []).map((i) => ({ name: i.name, amount: i.amount, count: i.count })),
        }
      : null,
    overages: charge(summary.overages),
    taxes: charge(summary.taxes),
    creditsAndAdjustments: charge(summary.credits_and_adjustments),
  };
}

/** Runs `fetch` with the invoice's uuid; for a preview the API also accepts the keyword `preview`. */
async function withPreviewKey<T>(header: InvoiceHeader, fetch: (key: string) => Promise<T>): Promise<T> {
  try {
    return await fetch(header.invoice_uuid);
  } catch (error) {
    if (header.provisional && isNotOffered(error)) return fetch('preview');
    throw error;
  }
}

type JsonPlan =
  | { kind: 'index'; index: JsonItemIndex; items: SourceLine[]; rejected: InvoiceItemError[] }
  | { kind: 'over_budget'; total: number }
  | { kind: 'unavailable' };

class OverBudget extends Error {
  constructor(readonly total: number) {
    super('over budget');
  }
}

/** The messages of rejected JSON items kept in the run's details and the invoice summary (the count is exact). */
const REJECTED_MESSAGES_KEPT = 5;

/**
 * The invoice's JSON items if they fit the budget (the first page's meta.total tells before the rest is read).
 * An item with a malformed value is set aside, not fatal: beside a CSV it only loses its resource ids (the CSV line
 * is matched by name instead); without a CSV, openLineSource refuses the invoice.
 */
async function loadJsonItems(
  api: BillingApi,
  header: InvoiceHeader,
  budget: number,
  run: ActiveRun,
): Promise<JsonPlan> {
  if (budget <= 0) return { kind: 'over_budget', total: -1 };
  const items: SourceLine[] = [];
  const rejected: InvoiceItemError[] = [];
  let position = 0;
  try {
    const listing = await withPreviewKey(header, (key) =>
      api.listInvoiceItems(key, {
        collect: false,
        onPage: (page, info) => {
          if ((info.total ?? info.count) > budget) throw new OverBudget(info.total ?? info.count);
          for (const item of page) {
            position += 1;
            try {
              items.push(jsonItemToLine(item, position));
            } catch (error) {
              if (!(error instanceof InvoiceItemError)) throw error;
              rejected.push(error);
            }
          }
        },
      }),
    );
    run.counts.apiCalls += listing.apiCalls;
    run.counts.pages += listing.pages;
    if (!listing.complete)
      throw new Error(`invoice items listing incomplete: ${listing.incompleteReason ?? 'unknown reason'}`);
  } catch (error) {
    if (error instanceof OverBudget) return { kind: 'over_budget', total: error.total };
    if (isNotOffered(error)) return { kind: 'unavailable' };
    throw error;
  }
  return { kind: 'index', index: new JsonItemIndex(items), items, rejected };
}

/** The JSON items of an invoice as a stream of lines, page by page (used when there is no CSV). */
async function* streamJsonItems(api: BillingApi, header: InvoiceHeader, run: ActiveRun): AsyncGenerator<SourceLine[]> {
  let lineNo = 0;
  for await (const page of pagesOf<InvoiceItem>((onPage, signal) =>
    withPreviewKey(header, (key) => api.listInvoiceItems(key, { collect: false, onPage, signal })).then((listing) => {
      run.counts.apiCalls += listing.apiCalls;
      run.counts.pages += listing.pages;
      if (!listing.complete)
        throw new Error(`invoice items listing incomplete: ${listing.incompleteReason ?? 'unknown reason'}`);
    }),
  )) {
    yield page.map((item) => jsonItemToLine(item, ++lineNo));
  }
}

/** Turns a callback-driven page walk into an async iterator of pages, one page in flight (back-pressure). */
async function* pagesOf<T>(
  start: (onPage: (items: T[]) => Promise<void>, signal: AbortSignal) => Promise<void>,
): AsyncGenerator<T[]> {
  const controller = new AbortController();
  let pending: { items: T[]; release: () => void } | null = null;
  let wake: (() => void) | null = null;
  let finished = false;
  let failure: { error: unknown } | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const walk = start(
    (items) =>
      new Promise<void>((release) => {
        pending = { items, release };
        poke();
      }),
    controller.signal,
  ).then(
    () => {
      finished = true;
      poke();
    },
    (error: unknown) => {
      failure = { error };
      finished = true;
      poke();
    },
  );
  try {
    for (;;) {
      const page = pending as { items: T[]; release: () => void } | null;
      if (page) {
        pending = null;
        yield page.items;
        page.release();
        continue;
      }
      if (finished) {
        if (failure) throw (failure as { error: unknown }).error;
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    if (!finished) {
      controller.abort();
      (pending as { release: () => void } | null)?.release();
      await walk;
    }
  }
}

/** What the COPY writer reads from a line: a parsed CSV line as it is (ids come from the JSON index), or a JSON
 *  item's line with its own ids. */
type LineFields = Omit<SourceLine, 'source' | 'resourceUuid' | 'resourceProviderId'> & {
  resourceUuid?: string | null;
  resourceProviderId?: string | null;
};

interface LineSourcePlan {
  lineSource: 'csv' | 'json';
  /** Lines in batches (one per CSV chunk or JSON page): one await per batch, not per line. */
  batches: AsyncIterable<readonly LineFields[]> | Iterable<readonly LineFields[]>;
  /** Closes an opened download that was not consumed. */
  close(): void;
}

/** Opens the CSV (its headers only); falls back to the JSON items when DigitalOcean offers no CSV. */
async function openLineSource(
  api: BillingApi,
  header: InvoiceHeader,
  json: JsonPlan,
  run: ActiveRun,
): Promise<LineSourcePlan> {
  try {
    const csv = await withPreviewKey(header, (key) => api.getInvoiceCsv(key, run.signal ? { signal: run.signal } : {}));
    run.counts.apiCalls += 1;
    return { lineSource: 'csv', batches: parseInvoiceCsvBatches(csv.stream), close: () => csv.stream.destroy() };
  } catch (error) {
    if (!isNotOffered(error)) throw error;
    run.counts.apiCalls += 1;
  }
  if (json.kind === 'unavailable')
    throw new Error('DigitalOcean offers neither the CSV nor the JSON items of this invoice');
  // Without a CSV the JSON items are the line set: dropping a malformed one would lose its money.
  const firstRejected = json.kind === 'index' ? json.rejected[0] : undefined;
  if (firstRejected) {
    const others = json.kind === 'index' ? json.rejected.length - 1 : 0;
    throw new Error(
      `${firstRejected.message}${others > 0 ? ` (and ${others} more malformed items)` : ''}; without a CSV the ` +
        'JSON items are the line set, so the invoice is not ingested',
    );
  }
  const batches = json.kind === 'index' ? inBatches(json.items, 1000) : streamJsonItems(api, header, run);
  return { lineSource: 'json', batches, close: () => undefined };
}

function* inBatches<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** toISOString for the COPY text; consecutive lines mostly share their start and end, so the last one is kept. */
class IsoCache {
  private ms = NaN;
  private iso = '';
  of(date: Date | null): string {
    if (date === null) return '\\N';
    const ms = date.getTime();
    if (ms !== this.ms) {
      this.ms = ms;
      this.iso = date.toISOString();
    }
    return this.iso;
  }
}

interface IngestTally {
  summary: MatchSummaryBuilder;
  byMethod: Record<MatchMethod, number>;
  /** The text values cleaned of what PostgreSQL refuses (clean-text.ts). */
  cleaner: TextCleaner;
}

/** The line with its text values cleaned (clean-text.ts); the same object when none needed it, as almost always. */
function cleanLine(line: LineFields, cleaner: TextCleaner): LineFields {
  const product = cleaner.text(line.product);
  const groupDescription = cleaner.nullable(line.groupDescription);
  const description = cleaner.text(line.description);
  const projectName = cleaner.nullable(line.projectName);
  const category = cleaner.nullable(line.category);
  const resourceUuid = cleaner.nullable(line.resourceUuid ?? null);
  const resourceProviderId = cleaner.nullable(line.resourceProviderId ?? null);
  if (
    product === line.product &&
    groupDescription === line.groupDescription &&
    description === line.description &&
    projectName === line.projectName &&
    category === line.category &&
    resourceUuid === (line.resourceUuid ?? null) &&
    resourceProviderId === (line.resourceProviderId ?? null)
  )
    return line;
  return { ...line, product, groupDescription, description, projectName, category, resourceUuid, resourceProviderId };
}

/** The COPY payload: every line enriched, classified, matched, counted and rendered as one text row. */
async function* copyRows(
  batches: AsyncIterable<readonly LineFields[]> | Iterable<readonly LineFields[]>,
  lineSource: 'csv' | 'json',
  invoice: InvoiceHeader,
  candidates: CandidateIndex,
  json: JsonItemIndex | null,
  tally: IngestTally,
  onProgress: (done: number) => void,
  progressEvery: number,
): AsyncGenerator<CopyChunk> {
  const prefix = `${invoice.id}\t`;
  const period = copyValue(invoice.period);
  const source = `${lineSource}\t${period}\t`;
  const starts = new IsoCache();
  const ends = new IsoCache();
  let buffer = '';
  let count = 0;
  let rows = 0;
  for await (const batch of batches) {
    for (const raw of batch) {
      // The JSON twin is found with the values as DigitalOcean wrote them on both sides; what is stored is clean.
      const ids = json ? json.claim(raw) : null;
      const line = cleanLine(raw, tally.cleaner);
      const resourceUuid = ids ? tally.cleaner.nullable(ids.resourceUuid) : (line.resourceUuid ?? null);
      const resourceProviderId = ids
        ? tally.cleaner.nullable(ids.resourceProviderId)
        : (line.resourceProviderId ?? null);
      const prepared = prepareLine(line);
      const match = matchLine(
        {
          kind: prepared.kind,
          name: prepared.name,
          isTax: prepared.isTax,
          isCredit: prepared.isCredit,
          isAccountLevel: prepared.isAccountLevel,
          resourceUuid,
          resourceProviderId,
          startAt: line.startAt,
          endAt: line.endAt,
        },
        candidates,
      );
      tally.summary.add({ amount: line.amount, resourceId: match.resourceId, unmatchedReason: match.unmatchedReason });
      if (match.matchMethod) tally.byMethod[match.matchMethod]++;
      buffer +=
        prefix +
        line.lineNo +
        '\t' +
        source +
        copyValue(line.product) +
        '\t' +
        copyValue(line.groupDescription) +
        '\t' +
        copyValue(line.description) +
        '\t' +
        copyValue(prepared.kind) +
        '\t' +
        copyValue(prepared.name) +
        '\t' +
        copyValue(resourceUuid) +
        '\t' +
        copyValue(resourceProviderId) +
        '\t' +
        copyValue(line.hours) +
        '\t' +
        starts.of(line.startAt) +
        '\t' +
        ends.of(line.endAt) +
        '\t' +
        line.amount +
        '\t' +
        copyValue(line.projectName) +
        '\t' +
        copyValue(line.category) +
        '\t' +
        copyValue(match.resourceId) +
        '\t' +
        copyValue(match.matchMethod) +
        '\t' +
        copyValue(match.unmatchedReason) +
        '\n';
      count++;
      rows++;
      if (buffer.length >= COPY_CHUNK_CHARS) {
        yield { data: Buffer.from(buffer, 'utf8'), rows };
        buffer = '';
        rows = 0;
      }
      if (count % progressEvery === 0) onProgress(count);
    }
  }
  if (buffer) yield { data: Buffer.from(buffer, 'utf8'), rows };
}

/**
 * Reads `source` ahead of its consumer, holding at most `capacity` items. The COPY below runs as several
 * statements, and PostgreSQL checks each statement's foreign keys when the statement ends; meanwhile this keeps the
 * download, parsing and matching going, so the two sides overlap instead of taking turns.
 */
class Prefetcher<T> {
  private readonly queue: T[] = [];
  private finished = false;
  private failure: { error: unknown } | null = null;
  private closed = false;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;
  private readonly pumping: Promise<void>;

  constructor(
    private readonly source: AsyncIterator<T>,
    private readonly capacity: number,
  ) {
    this.pumping = this.pump();
  }

  private async pump(): Promise<void> {
    try {
      while (!this.closed) {
        if (this.queue.length >= this.capacity) {
          await new Promise<void>((resolve) => (this.wakeProducer = resolve));
          continue;
        }
        const next = await this.source.next();
        if (next.done) break;
        this.queue.push(next.value);
        this.poke();
      }
    } catch (error) {
      this.failure = { error };
    }
    this.finished = true;
    this.poke();
  }

  private poke(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.queue.length > 0) {
        const value = this.queue.shift() as T;
        const wake = this.wakeProducer;
        this.wakeProducer = null;
        wake?.();
        return { value, done: false };
      }
      if (this.finished) {
        if (this.failure) throw this.failure.error;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }

  /** Stops reading ahead and closes the source (after its pending read settles). */
  async close(): Promise<void> {
    this.closed = true;
    const wake = this.wakeProducer;
    this.wakeProducer = null;
    wake?.();
    await this.pumping;
    await this.source.return?.(undefined).catch(() => undefined);
  }
}

async function tryLock(client: pg.ClientBase, accountId: string, invoiceUuid: string): Promise<string | null> {
  const { rows } = await client.query<{ key: string }>(LOCK_KEY, [accountId, invoiceUuid]);
  const key = rows[0]!.key;
  const locked = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
  return locked.rows[0]?.ok ? key : null;
}

const MARK_FAILED = `UPDATE cloud_invoices SET ingest_status = 'failed', ingest_error = $2, updated_at = now() WHERE id = $1`;

function markFailed(db: pg.Pool | pg.ClientBase, invoiceId: number, error: string): Promise<unknown> {
  return db.query(MARK_FAILED, [invoiceId, error]);
}

/**
 * Headers left `ingesting` by an ingest that ended without recording its outcome (its process died, or the database
 * went away while it recorded a failure) become `failed`. An ingest holds its invoice's session lock for as long as
 * it runs, and the lock dies with its connection: a header whose lock can be taken has no ingest behind it.
 * Returns the invoice uuids released.
 */
export async function releaseAbandonedIngests(context: BillingContext): Promise<string[]> {
  const { pool, accountId } = context;
  const { rows } = await pool.query<{ id: number; invoice_uuid: string }>(
    `SELECT id, invoice_uuid FROM cloud_invoices WHERE account_id = $1 AND ingest_status = 'ingesting' ORDER BY id`,
    [accountId],
  );
  if (rows.length === 0) return [];
  const released: string[] = [];
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    for (const row of rows) {
      const key = await tryLock(client, accountId, row.invoice_uuid);
      if (key === null) continue; // an ingest is running
      try {
        const updated = await client.query(`${MARK_FAILED} AND ingest_status = 'ingesting'`, [
          row.id,
          'the ingest ended without recording its outcome (its process stopped or lost the database)',
        ]);
        if (updated.rowCount) released.push(row.invoice_uuid);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
      }
    }
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
  return released;
}

/** Ingests one invoice (see the module comment). Failures are recorded and returned, not thrown. */
export async function ingestInvoice(
  context: BillingContext,
  invoiceUuid: string,
  options: IngestOptions,
): Promise<IngestOutcome> {
  const { pool, accountId } = context;
  const log = loggerOf(context);
  const client = await pool.connect();
  let clientBroken: Error | undefined;
  let lockKey: string | null = null;
  try {
    lockKey = await tryLock(client, accountId, invoiceUuid);
    if (lockKey === null) {
      log.info({ invoiceUuid }, 'billing: invoice is being ingested elsewhere');
      return { status: 'busy', invoiceUuid };
    }
    const found = await client.query<InvoiceHeader>(
      `SELECT id, invoice_uuid, period, amount::text AS amount, provisional FROM cloud_invoices WHERE account_id = $1 AND invoice_uuid = $2`,
      [accountId, invoiceUuid],
    );
    const header = found.rows[0];
    if (!header) throw new InvoiceNotFoundError(invoiceUuid);

    const result = await withRun(
      runEnvironment(context),
      { task: 'invoice', trigger: options.trigger, jobId: options.jobId, signal: options.signal },
      async (run) => {
        run.details.invoiceUuid = invoiceUuid;
        run.details.period = header.period;
        run.details.provisional = header.provisional;

        if (header.provisional) {
          const final = await client.query(
            `SELECT 1 FROM cloud_invoices WHERE account_id = $1 AND period = $2 AND NOT provisional AND ingest_status = 'ingested' LIMIT 1`,
            [accountId, header.period],
          );
          if (final.rowCount) {
            await client.query('DELETE FROM cloud_invoices WHERE id = $1 AND provisional', [header.id]);
            run.details.superseded = true;
            return 'superseded' as const;
          }
        }
        await client.query(
          `UPDATE cloud_invoices SET ingest_status = 'ingesting', ingest_attempts = ingest_attempts + 1, updated_at = now() WHERE id = $1`,
          [header.id],
        );

        const transaction = { open: false };
        try {
          return await ingestLines(context, client, header, run, options, transaction);
        } catch (error) {
          if (transaction.open) {
            try {
              await client.query('ROLLBACK');
            } catch (rollbackError) {
              clientBroken = rollbackError as Error;
            }
          }
          // The run records the original error either way; a header that could not be marked failed here (the
          // database gone) is released by the next billing-history run (releaseAbandonedIngests).
          await markFailed(pool, header.id, errorText(error, context.redact)).catch((recording: unknown) => {
            log.warn(
              { invoiceUuid, err: errorText(recording, context.redact) },
              'billing: could not record the failure of an ingest',
            );
          });
          throw error;
        }
      },
    );
    const { runId, value } = result;
    const outcome =
      result.status === 'failed' || value === undefined ? 'failed' : value === 'superseded' ? 'superseded' : 'ingested';
    invoiceIngests.inc({ outcome });
    invoiceIngestDuration.observe({ outcome }, result.durationMs / 1000);
    if (typeof value === 'object') invoiceLines.inc(value.lineCount);
    if (result.status === 'failed' || value === undefined)
      return { status: 'failed', invoiceUuid, runId, error: result.error ?? 'failed' };
    if (value === 'superseded') return { status: 'superseded', invoiceUuid, runId };
    return { status: 'ingested', invoiceUuid, runId, ...value, durationMs: result.durationMs };
  } finally {
    if (lockKey !== null && !clientBroken) {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]).catch((error: Error) => {
        clientBroken = error;
      });
    }
    // A broken connection is discarded (which also drops any session lock it held).
    client.release(clientBroken);
  }
}

async function ingestLines(
  context: BillingContext,
  client: pg.PoolClient,
  header: InvoiceHeader,
  run: ActiveRun,
  options: IngestOptions,
  transaction: { open: boolean },
): Promise<{
  lineCount: number;
  matchedCount: number;
  matchRate: string | null;
  lineSource: 'csv' | 'json';
  warnings: string[];
}> {
  const { pool, accountId } = context;
  const api = requireApi(context);
  const progressEvery = options.progressEvery ?? 10_000;

  // Reads first, outside the transaction.
  const candidates = await loadCandidateIndex(pool, accountId);
  let providerSummary: Record<string, unknown> | null = null;
  try {
    providerSummary = summaryWithoutPii(await withPreviewKey(header, (key) => api.getInvoiceSummary(key)));
    run.counts.apiCalls += 1;
  } catch (error) {
    if (!isNotOffered(error)) throw error;
  }
  const json = await loadJsonItems(api, header, context.maxJsonItems ?? DEFAULT_MAX_JSON_ITEMS, run);
  const source = await openLineSource(api, header, json, run);
  const enrichment = source.lineSource === 'csv' && json.kind === 'index' ? json.index : null;

  const tally: IngestTally = {
    summary: new MatchSummaryBuilder(),
    byMethod: { id: 0, name: 0, parent: 0 },
    cleaner: new TextCleaner(),
  };
  const total = json.kind === 'index' ? json.items.length : null;
  const onProgress = (done: number): void => {
    run.progress({ done, total });
  };

  let superseded = 0;
  let prefetcher: Prefetcher<CopyChunk> | undefined;
  try {
    transaction.open = true;
    await client.query('BEGIN');
    const locked = await client.query('SELECT id FROM cloud_invoices WHERE id = $1 FOR UPDATE', [header.id]);
    if (!locked.rowCount) throw new Error(`invoice ${header.invoice_uuid} was removed while it was being ingested`);
    const removed = await client.query('DELETE FROM cloud_cost_lines WHERE invoice_id = $1', [header.id]);
    const previousLineCount = removed.rowCount ?? 0;
    prefetcher = new Prefetcher(
      copyRows(source.batches, source.lineSource, header, candidates, enrichment, tally, onProgress, progressEvery),
      PREFETCH_CHUNKS,
    );
    const ahead = prefetcher;
    let exhausted = false;
    async function* batch(): AsyncGenerator<Buffer> {
      let rows = 0;
      while (rows < COPY_BATCH_ROWS) {
        const next = await ahead.next();
        if (next.done) {
          exhausted = true;
          return;
        }
        rows += next.value.rows;
        yield next.value.data;
      }
    }
    while (!exhausted) await copyFrom(client, COPY_STATEMENT, batch());
    Object.assign(run.details, tally.cleaner.counts());

    const summary = tally.summary.result();
    const reference = referenceAmount(header, providerSummary?.amount);
    const verdict = judgeLineSet({
      lineCount: summary.lineCount,
      linesAmount: summary.linesAmount,
      previousLineCount,
      invoiceAmount: reference.amount,
    });
    const totals = {
      linesAmount: summary.linesAmount,
      invoiceAmount: reference.amount,
      amountFrom: reference.source,
      agrees: verdict.difference === '0.00',
      difference: verdict.difference,
      tolerance: verdict.tolerance,
    };
    if (!verdict.accepted) {
      Object.assign(run.details, {
        refused: verdict.code,
        lineSource: source.lineSource,
        lineCount: summary.lineCount,
        previousLineCount,
        totals,
      });
      throw new LineSetRefusedError(verdict);
    }
    // Provisional invoices this one replaces: for a final invoice, every preview of its period; for a preview,
    // the older previews of its period (DigitalOcean regenerates the preview daily).
    const replaced = await client.query(
      `DELETE FROM cloud_invoices WHERE account_id = $1 AND period = $2 AND provisional AND id <> $3`,
      [accountId, header.period, header.id],
    );
    superseded = replaced.rowCount ?? 0;

    const reconciliation: Record<string, unknown> & Partial<ReconciliationStats> = {
      lineSource: source.lineSource,
      json: json.kind === 'index' ? 'used' : json.kind === 'over_budget' ? 'skipped_over_budget' : 'unavailable',
      ...(json.kind === 'over_budget' && json.total >= 0 ? { jsonItemCount: json.total } : {}),
      ...(enrichment ? enrichment.stats() : {}),
      ...(json.kind === 'index' && json.rejected.length > 0
        ? {
            jsonItemsRejected: json.rejected.length,
            jsonItemErrors: json.rejected.slice(0, REJECTED_MESSAGES_KEPT).map((error) => error.message),
          }
        : {}),
    };
    const warnings =
      json.kind === 'index' && json.rejected.length > 0
        ? [
            `${json.rejected.length} malformed JSON invoice item${json.rejected.length === 1 ? '' : 's'} lost ` +
              `${json.rejected.length === 1 ? 'its' : 'their'} resource ids (the CSV lines are kept and matched by ` +
              `name): ${json.rejected[0]!.message}`,
          ]
        : [];
    const stored = {
      provider: providerSummary,
      reconciliation,
      totals,
      match: {
        rate: summary.matchRate,
        amountRate: summary.amountMatchRate,
        chargesAmount: summary.chargesAmount,
        byMethod: tally.byMethod,
        byReason: summary.byReason,
      },
    };
    await client.query(
      `UPDATE cloud_invoices SET
         ingest_status = 'ingested', csv_ingested = $2, items_ingested = $3, ingested_at = now(), ingest_error = NULL,
         line_count = $4, matched_count = $5, lines_amount = $6::numeric, matched_amount = $7::numeric,
         match_rate = $8::numeric, summary = $9::jsonb, updated_at = now()
       WHERE id = $1`,
      [
        header.id,
        source.lineSource === 'csv',
        json.kind === 'index',
        summary.lineCount,
        summary.matchedCount,
        summary.linesAmount,
        summary.matchedAmount,
        summary.matchRate,
        JSON.stringify(stored),
      ],
    );
    await client.query('COMMIT');
    transaction.open = false;

    run.counts.listed = summary.lineCount;
    run.counts.created = summary.lineCount;
    Object.assign(run.details, {
      lineSource: source.lineSource,
      lineCount: summary.lineCount,
      matchedCount: summary.matchedCount,
      matchRate: summary.matchRate,
      supersededProvisional: superseded,
      reconciliation,
      totalsAgree: totals.agrees,
      ...(warnings.length > 0 ? { warnings } : {}),
    });
    for (const warning of warnings) loggerOf(context).warn({ invoiceUuid: header.invoice_uuid }, `billing: ${warning}`);
    if (!totals.agrees) {
      loggerOf(context).warn(
        { invoiceUuid: header.invoice_uuid, ...totals },
        'billing: the lines are off the invoice amount (within the tolerance)',
      );
    }
    return {
      lineCount: summary.lineCount,
      matchedCount: summary.matchedCount,
      matchRate: summary.matchRate,
      lineSource: source.lineSource,
      warnings,
    };
  } finally {
    source.close();
    await prefetcher?.close();
  }
}
