/**
 * Billing history (daily): the history entries, the invoice headers, and one ingest job per invoice to ingest.
 *
 * - History entries have no id: each row is keyed by billingHistoryNaturalKey (a hash of date, type, amount,
 *   description and invoice uuid). Two identical entries can both be real money, so the n-th repetition of a key
 *   within the listing gets its own key (hash of key + "#n"); rerunning the sync inserts nothing new.
 * - Invoice headers are upserted from /v2/customers/my/invoices. The month-to-date `invoice_preview` becomes a
 *   PROVISIONAL header (unless its period already has a final invoice). A header that turns from provisional to
 *   final, or a final one whose amount changed, goes back to `pending`.
 * - Enqueued for ingest: every final invoice not yet `ingested` (so failed ones are retried here), and the
 *   current preview every time (it is regenerated daily). The final invoice's ingest deletes the provisional one
 *   of its period in the same transaction (ingest.ts).
 * - Headers an ingest left `ingesting` without recording its outcome are marked `failed` first (and so enqueued).
 */
import { createHash } from 'node:crypto';
import type { BillingHistoryEntry, InvoiceListItem } from '../../digitalocean/types.js';
import type { RunTrigger } from '../../domain/tasks.js';
import { withRun, type RunResult } from '../run.js';
import { requireApi, runEnvironment, type BillingContext } from './context.js';
import { billingHistoryNaturalKey, type BillingHistoryEntryLike } from './history-key.js';
import { releaseAbandonedIngests } from './ingest.js';
import { parseJsonDecimal, parseJsonId, parseTimestamp, ValueFormatError } from './values.js';

export interface HistoryOptions {
  trigger: RunTrigger;
  jobId?: string | null;
  /** Called once per invoice to ingest (the task adds a graphile-worker job with a per-invoice jobKey). */
  enqueueInvoice: (invoiceUuid: string) => Promise<void>;
}

export interface HistoryTally {
  historyCreated: number;
  invoicesCreated: number;
  enqueued: string[];
  previewUuid: string | null;
}

/** The run, with what it wrote and enqueued (as far as it got, when it failed). */
export type HistoryOutcome = RunResult & HistoryTally;

const UPSERT_HISTORY = `
INSERT INTO cloud_billing_history (account_id, natural_key, date, type, description, amount, invoice_id, invoice_uuid)
SELECT $1, x.natural_key, x.date::timestamptz, x.type, x.description, x.amount::numeric, x.invoice_id, x.invoice_uuid
FROM jsonb_to_recordset($2::jsonb) AS x(natural_key text, date text, type text, description text, amount text, invoice_id text, invoice_uuid text)
ON CONFLICT (account_id, natural_key) DO NOTHING
RETURNING id`;

const UPSERT_INVOICES = `
INSERT INTO cloud_invoices (account_id, invoice_uuid, invoice_id, period, amount, provisional, provider_updated_at, updated_at)
SELECT $1, x.invoice_uuid, x.invoice_id, x.period, x.amount::numeric, x.provisional, x.updated_at::timestamptz, now()
FROM jsonb_to_recordset($2::jsonb) AS x(invoice_uuid text, invoice_id text, period text, amount text, provisional boolean, updated_at text)
ON CONFLICT (account_id, invoice_uuid) DO UPDATE SET
  invoice_id = COALESCE(EXCLUDED.invoice_id, cloud_invoices.invoice_id),
  period = EXCLUDED.period,
  amount = EXCLUDED.amount,
  provisional = EXCLUDED.provisional,
  provider_updated_at = EXCLUDED.provider_updated_at,
  ingest_status = CASE
    WHEN NOT EXCLUDED.provisional AND (cloud_invoices.provisional OR cloud_invoices.amount <> EXCLUDED.amount) THEN 'pending'
    ELSE cloud_invoices.ingest_status END,
  updated_at = now()
WHERE (cloud_invoices.invoice_id, cloud_invoices.period, cloud_invoices.amount, cloud_invoices.provisional, cloud_invoices.provider_updated_at)
  IS DISTINCT FROM (COALESCE(EXCLUDED.invoice_id, cloud_invoices.invoice_id), EXCLUDED.period, EXCLUDED.amount, EXCLUDED.provisional, EXCLUDED.provider_updated_at)
RETURNING invoice_uuid, (xmax = 0) AS inserted`;

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

interface HistoryRow {
  natural_key: string;
  date: string;
  type: string;
  description: string;
  amount: string;
  invoice_id: string | null;
  invoice_uuid: string | null;
}

/** Natural keys for a listing's entries, repetitions numbered (see the module comment). */
export class HistoryKeyer {
  private readonly seen = new Map<string, number>();

  key(entry: BillingHistoryEntryLike): string {
    const base = billingHistoryNaturalKey(entry);
    const n = (this.seen.get(base) ?? 0) + 1;
    this.seen.set(base, n);
    return n === 1 ? base : createHash('sha256').update(`${base}#${n}`).digest('hex');
  }
}

/** A history entry DigitalOcean sent in a shape that cannot be stored as it is; the entry is skipped. */
export class HistoryEntryError extends Error {
  override readonly name = 'HistoryEntryError';
}

function requiredText(value: unknown, what: string): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (typeof value === 'string') throw new ValueFormatError(`${what} is empty`);
  const shown = value === undefined ? 'missing' : String(JSON.stringify(value)).slice(0, 40);
  throw new ValueFormatError(`${what} is not text (${shown})`);
}

/**
 * One entry as a row. Amounts and invoice ids may come as JSON numbers (DigitalOcean's Ansible collection documents
 * `amount: 12.34, invoice_id: 123`): they are read exactly (values.ts). Anything that cannot be read is a
 * HistoryEntryError naming the entry, never a TypeError.
 */
export function historyRow(entry: BillingHistoryEntry, keyer: HistoryKeyer): HistoryRow {
  const raw = entry as unknown as Record<string, unknown>;
  const label = typeof raw.description === 'string' ? `"${raw.description.slice(0, 80)}"` : 'without a description';
  try {
    const date = parseTimestamp(requiredText(raw.date, 'date'));
    if (!date) throw new ValueFormatError('date is empty');
    const clean = {
      date,
      type: requiredText(raw.type, 'type').trim(),
      amount: parseJsonDecimal(raw.amount),
      description:
        raw.description === undefined || raw.description === null ? '' : requiredText(raw.description, 'description'),
      invoice_id: parseJsonId(raw.invoice_id, 'invoice_id'),
      invoice_uuid: parseJsonId(raw.invoice_uuid, 'invoice_uuid'),
    };
    return { ...clean, natural_key: keyer.key(clean), date: date.toISOString() };
  } catch (error) {
    if (error instanceof ValueFormatError || error instanceof RangeError)
      throw new HistoryEntryError(`billing history entry ${label} skipped: ${error.message}`);
    throw error;
  }
}

function invoiceRow(item: InvoiceListItem, provisional: boolean): Record<string, unknown> {
  if (!item.invoice_uuid) throw new Error('an invoice in the list has no invoice_uuid');
  if (!PERIOD.test(item.invoice_period ?? ''))
    throw new Error(`invoice ${item.invoice_uuid} has an invalid period "${String(item.invoice_period)}"`);
  const updatedAt = item.updated_at ? parseTimestamp(item.updated_at) : null;
  return {
    invoice_uuid: item.invoice_uuid,
    invoice_id: parseJsonId(item.invoice_id, `invoice ${item.invoice_uuid}: invoice_id`),
    period: item.invoice_period,
    amount: parseJsonDecimal(item.amount, `invoice ${item.invoice_uuid}: amount`),
    provisional,
    updated_at: updatedAt ? updatedAt.toISOString() : null,
  };
}

export async function syncBillingHistory(context: BillingContext, options: HistoryOptions): Promise<HistoryOutcome> {
  const { pool, accountId } = context;
  const outcome: HistoryTally = { historyCreated: 0, invoicesCreated: 0, enqueued: [], previewUuid: null };
  const result = await withRun(
    runEnvironment(context),
    { task: 'billing_history', trigger: options.trigger, jobId: options.jobId },
    async (run) => {
      const incomplete: string[] = [];
      const api = requireApi(context);

      // 1. History entries, page by page.
      const keyer = new HistoryKeyer();
      let historyListed = 0;
      const skipped: string[] = [];
      const history = await api.listBillingHistory({
        collect: false,
        onPage: async (entries) => {
          if (entries.length === 0) return;
          const rows: HistoryRow[] = [];
          for (const entry of entries) {
            try {
              rows.push(historyRow(entry, keyer));
            } catch (error) {
              if (!(error instanceof HistoryEntryError)) throw error;
              skipped.push(error.message);
            }
          }
          if (rows.length === 0) return;
          historyListed += rows.length;
          const inserted = await pool.query(UPSERT_HISTORY, [accountId, JSON.stringify(rows)]);
          outcome.historyCreated += inserted.rowCount ?? 0;
        },
      });
      run.counts.apiCalls += history.apiCalls;
      run.counts.pages += history.pages;
      if (!history.complete) incomplete.push(`billing history: ${history.incompleteReason ?? 'incomplete'}`);
      // A skipped entry is not stored: the run says which and is incomplete, the other entries are kept.
      if (skipped.length > 0)
        incomplete.push(
          `${skipped.length} billing history ${skipped.length === 1 ? 'entry' : 'entries'} skipped: ${skipped[0]!}` +
            (skipped.length > 1 ? ' (the run details list more)' : ''),
        );

      // 2. Invoice headers (final ones, then the preview).
      const invoices = await api.listInvoices();
      run.counts.apiCalls += invoices.apiCalls;
      run.counts.pages += invoices.pages;
      if (!invoices.complete) incomplete.push(`invoices: ${invoices.incompleteReason ?? 'incomplete'}`);
      const rows = invoices.items.map((item) => invoiceRow(item, false));
      const finalPeriods = new Set(invoices.items.map((item) => item.invoice_period));
      const preview = invoices.preview;
      let previewSkipped: string | null = null;
      if (preview?.invoice_uuid) {
        const hasFinal =
          finalPeriods.has(preview.invoice_period) ||
          ((
            await pool.query(
              `SELECT 1 FROM cloud_invoices WHERE account_id = $1 AND period = $2 AND NOT provisional AND invoice_uuid <> $3 LIMIT 1`,
              [accountId, preview.invoice_period, preview.invoice_uuid],
            )
          ).rowCount ?? 0) > 0;
        if (hasFinal) previewSkipped = `period ${preview.invoice_period} already has its final invoice`;
        else {
          rows.push(invoiceRow(preview, true));
          outcome.previewUuid = preview.invoice_uuid;
        }
      }
      let invoicesUpdated = 0;
      if (rows.length > 0) {
        const upserted = await pool.query<{ invoice_uuid: string; inserted: boolean }>(UPSERT_INVOICES, [
          accountId,
          JSON.stringify(rows),
        ]);
        for (const row of upserted.rows) {
          if (row.inserted) outcome.invoicesCreated++;
          else invoicesUpdated++;
        }
      }

      // 3. What to ingest: final invoices not yet ingested (failed ones included, and those an ingest left
      // `ingesting` when it stopped without recording its outcome), and the current preview.
      const released = await releaseAbandonedIngests(context);
      const pending = await pool.query<{ invoice_uuid: string }>(
        `SELECT invoice_uuid FROM cloud_invoices
       WHERE account_id = $1 AND NOT provisional AND ingest_status <> 'ingested'
       ORDER BY period, invoice_uuid`,
        [accountId],
      );
      const targets = pending.rows.map((r) => r.invoice_uuid);
      if (outcome.previewUuid) targets.push(outcome.previewUuid);
      for (const uuid of targets) {
        await options.enqueueInvoice(uuid);
        outcome.enqueued.push(uuid);
      }

      const listed = historyListed + rows.length;
      run.counts.listed = listed;
      run.counts.created = outcome.historyCreated + outcome.invoicesCreated;
      run.counts.updated = invoicesUpdated;
      run.counts.unchanged = listed - run.counts.created - invoicesUpdated;
      Object.assign(run.details, {
        history: {
          listed: historyListed,
          created: outcome.historyCreated,
          ...(skipped.length > 0 ? { skipped: skipped.length, skippedEntries: skipped.slice(0, 5) } : {}),
        },
        invoices: { listed: invoices.items.length, created: outcome.invoicesCreated, updated: invoicesUpdated },
        preview: outcome.previewUuid ?? null,
        ...(previewSkipped ? { previewSkipped } : {}),
        enqueued: outcome.enqueued.length,
        ...(released.length > 0 ? { releasedIngests: released } : {}),
        ...(incomplete.length > 0 ? { incomplete } : {}),
      });
      if (incomplete.length > 0) run.incomplete(incomplete.join('; '));
    },
  );
  return { ...result, ...outcome };
}
