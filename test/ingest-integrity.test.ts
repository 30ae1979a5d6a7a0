// What DigitalOcean sends that would lose or poison data, on a real database over real HTTP: a header-only CSV
// for an invoice that has lines, lines that do not add up to the invoice, NUL bytes and invalid UTF-8 in a CSV,
// a droplet named with a NUL, and a failure that cannot be recorded. Each either is refused (the previous lines
// kept, the reason recorded) or is cleaned and counted; no invoice is left `ingesting`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createPool } from '../src/db/client.js';
import type { BillingContext } from '../src/jobs/billing/context.js';
import { syncBillingHistory } from '../src/jobs/billing/history.js';
import { ingestInvoice } from '../src/jobs/billing/ingest.js';
import { createTestDatabase } from './helpers/database.js';
import {
  ACCOUNT,
  billingClient,
  CSV_HEADER,
  linesDigest,
  startBillingHarness,
  startFakeBilling,
  type BillingHarness,
  type FakeBilling,
} from './helpers/billing.js';

interface HeaderRow {
  ingest_status: string;
  ingest_error: string | null;
  line_count: number;
  summary: { totals?: Record<string, unknown> } | null;
}

async function headerOf(pool: pg.Pool, uuid: string): Promise<HeaderRow> {
  const { rows } = await pool.query<HeaderRow>(
    `SELECT ingest_status, ingest_error, line_count, summary FROM cloud_invoices WHERE invoice_uuid = $1`,
    [uuid],
  );
  return rows[0]!;
}

interface RunRow {
  status: string;
  error: string | null;
  details: Record<string, unknown>;
}

async function lastRun(pool: pg.Pool, task: string): Promise<RunRow> {
  const { rows } = await pool.query<RunRow>(
    `SELECT status, error, details FROM sync_runs WHERE task = $1 ORDER BY id DESC LIMIT 1`,
    [task],
  );
  return rows[0]!;
}

const noEnqueue = { trigger: 'manual' as const, enqueueInvoice: () => Promise.resolve() };

describe('bad invoice CSVs from the simulator', () => {
  let h: BillingHarness;
  let uuid: string;
  let csvPath: string;

  beforeAll(async () => {
    h = await startBillingHarness({ seed: 21, scale: { months: 2 } });
    await syncBillingHistory(h.billing, noEnqueue);
    uuid = h.sim.billing.invoices[0]!.uuid;
    csvPath = `/v2/customers/my/invoices/${uuid}/csv`;
    expect((await ingestInvoice(h.billing, uuid, { trigger: 'manual' })).status).toBe('ingested');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a header-only CSV for an invoice with lines is refused: the lines stay, the reason is recorded', async () => {
    const before = await linesDigest(h.pool, uuid);
    expect(before.count).toBeGreaterThan(0);
    h.sim.setFaults({ corruptCsv: { path: csvPath, mode: 'headerOnly' } });
    const outcome = await ingestInvoice(h.billing, uuid, { trigger: 'manual' });
    h.sim.setFaults({});
    expect(outcome.status).toBe('failed');
    const error = (outcome as { error: string }).error;
    expect(error).toContain('EMPTY_LINE_SET');
    expect(error).toContain(`has ${before.count} lines`);
    expect(await linesDigest(h.pool, uuid)).toEqual(before);
    expect(await headerOf(h.pool, uuid)).toMatchObject({
      ingest_status: 'failed',
      ingest_error: error,
      line_count: before.count,
    });
    expect(await lastRun(h.pool, 'invoice')).toMatchObject({
      status: 'failed',
      error,
      details: { refused: 'EMPTY_LINE_SET', lineCount: 0, previousLineCount: before.count },
    });
    // The next ingest of the real file goes through.
    expect((await ingestInvoice(h.billing, uuid, { trigger: 'manual' })).status).toBe('ingested');
    expect(await linesDigest(h.pool, uuid)).toEqual(before);
  });

  it('a NUL byte in a header cell fails the ingest with the column named, and the failure is recorded', async () => {
    const before = await linesDigest(h.pool, uuid);
    h.sim.setFaults({ corruptCsv: { path: csvPath, mode: 'nulInHeader', column: 7 } });
    const outcome = await ingestInvoice(h.billing, uuid, { trigger: 'manual' });
    h.sim.setFaults({});
    expect(outcome.status).toBe('failed');
    const error = (outcome as { error: string }).error;
    expect(error).toBe('Invoice CSV line 1: header column 7 ("U\\0SD") contains a NUL byte');
    const header = await headerOf(h.pool, uuid);
    expect(header).toMatchObject({ ingest_status: 'failed', ingest_error: error });
    expect(await lastRun(h.pool, 'invoice')).toMatchObject({ status: 'failed', error });
    expect(await linesDigest(h.pool, uuid)).toEqual(before);
  });

  it('a NUL byte in a text cell is removed and counted; the line is stored', async () => {
    const line = h.sim.billing.invoices[0]!.lineAt(1);
    h.sim.setFaults({ corruptCsv: { path: csvPath, mode: 'nulInCell', line: 2, column: 3 } });
    const outcome = await ingestInvoice(h.billing, uuid, { trigger: 'manual' });
    h.sim.setFaults({});
    expect(outcome.status, JSON.stringify(outcome)).toBe('ingested');
    const { rows } = await h.pool.query<{ description: string }>(
      `SELECT l.description FROM cloud_cost_lines l JOIN cloud_invoices i ON i.id = l.invoice_id
        WHERE i.invoice_uuid = $1 AND l.line_no = 2`,
      [uuid],
    );
    expect(rows[0]!.description).toBe(line.description);
    expect((await lastRun(h.pool, 'invoice')).details).toMatchObject({ cleanedValues: 1 });
  });

  it('invalid UTF-8 in a text cell becomes U+FFFD and is counted; the line is stored', async () => {
    const line = h.sim.billing.invoices[0]!.lineAt(0);
    h.sim.setFaults({ corruptCsv: { path: csvPath, mode: 'invalidUtf8InCell', line: 1, column: 3 } });
    const outcome = await ingestInvoice(h.billing, uuid, { trigger: 'manual' });
    h.sim.setFaults({});
    expect(outcome.status, JSON.stringify(outcome)).toBe('ingested');
    const { rows } = await h.pool.query<{ description: string }>(
      `SELECT l.description FROM cloud_cost_lines l JOIN cloud_invoices i ON i.id = l.invoice_id
        WHERE i.invoice_uuid = $1 AND l.line_no = 1`,
      [uuid],
    );
    expect(rows[0]!.description).toContain('\uFFFD');
    expect(rows[0]!.description.replace(/\uFFFD+/, '')).toBe(line.description);
    expect((await lastRun(h.pool, 'invoice')).details).toMatchObject({ replacementCharacterValues: 1 });
  });

  it('a droplet named with a NUL is stored without it and counted; every later sync succeeds', async () => {
    const droplet = h.sim.account.createDroplet({ name: 'nul\u0000name', tags: ['t\u0000ag'] });
    const first = await h.engine.run('droplet', { trigger: 'manual' });
    expect(first.status, first.error).toBe('succeeded');
    expect(first.details).toMatchObject({ cleanedValues: 2 });
    const { rows } = await h.pool.query<{ name: string; tags: string[] }>(
      `SELECT name, tags FROM cloud_resources WHERE kind = 'droplet' AND provider_id = $1`,
      [String(droplet.id)],
    );
    expect(rows[0]).toEqual({ name: 'nulname', tags: ['tag'] });
    const second = await h.engine.run('droplet', { trigger: 'manual' });
    expect(second.status, second.error).toBe('succeeded');
    expect(second.updated).toBe(0);
  });
});

describe('line sets that do not add up (fake DigitalOcean)', () => {
  let fake: FakeBilling;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let context: BillingContext;
  const INVOICE = 'e0000000-0000-4000-8000-000000000001';
  const ZERO = 'e0000000-0000-4000-8000-000000000002';
  const PREVIEW = 'e0000000-0000-4000-8000-000000000003';
  const csvOf = (...amounts: string[]): string =>
    [
      CSV_HEADER,
      ...amounts.map(
        (a, i) =>
          `Droplets,,web-${i} (s-1vcpu-1gb),744,2026-10-01 00:00:00 +0000,2026-10-31 23:59:59 +0000,$${a},,iaas`,
      ),
    ].join('\n') + '\n';

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, { max: 4 });
    fake = await startFakeBilling({
      invoices: [
        { invoice_uuid: INVOICE, invoice_id: '1', amount: '131.02', invoice_period: '2026-10' },
        { invoice_uuid: ZERO, invoice_id: '2', amount: '0.00', invoice_period: '2026-09' },
      ],
      preview: { invoice_uuid: PREVIEW, invoice_id: '3', amount: '7.00', invoice_period: '2026-11' },
      csv: new Map([
        [INVOICE, csvOf('100.00', '31.02')],
        [ZERO, CSV_HEADER + '\n'],
        [PREVIEW, csvOf('4.00', '5.00')],
      ]),
      // Read by the ingest just before the CSV: the preview has grown since the listing said 7.00.
      summaries: new Map([[PREVIEW, { invoice_uuid: PREVIEW, billing_period: '2026-11', amount: '9.00' }]]),
    });
    context = { pool, api: billingClient(fake.url), accountId: ACCOUNT };
    await syncBillingHistory(context, noEnqueue);
    expect((await ingestInvoice(context, INVOICE, { trigger: 'manual' })).status).toBe('ingested');
  });
  afterAll(async () => {
    await fake?.close();
    await pool?.end();
    await db?.drop();
  });

  it('lines off the invoice amount by more than the tolerance are refused; the previous lines stay', async () => {
    const before = await linesDigest(pool, INVOICE);
    fake.state.csv.set(INVOICE, csvOf('100.00')); // a block of lines missing
    const outcome = await ingestInvoice(context, INVOICE, { trigger: 'manual' });
    fake.state.csv.set(INVOICE, csvOf('100.00', '31.02'));
    expect(outcome.status).toBe('failed');
    const error = (outcome as { error: string }).error;
    expect(error).toContain('TOTAL_MISMATCH');
    expect(error).toContain('add up to 100.00, the invoice amount is 131.02');
    expect(await linesDigest(pool, INVOICE)).toEqual(before);
    expect(await headerOf(pool, INVOICE)).toMatchObject({
      ingest_status: 'failed',
      ingest_error: error,
      line_count: 2,
    });
    expect((await lastRun(pool, 'invoice')).details).toMatchObject({
      refused: 'TOTAL_MISMATCH',
      totals: { linesAmount: '100.00', invoiceAmount: '131.02', difference: '-31.02', tolerance: '0.6551' },
    });
  });

  it('lines within the tolerance are stored, the difference recorded', async () => {
    fake.state.csv.set(INVOICE, csvOf('100.00', '31.50')); // 0.48 off, within 0.5% of 131.02
    const outcome = await ingestInvoice(context, INVOICE, { trigger: 'manual' });
    fake.state.csv.set(INVOICE, csvOf('100.00', '31.02'));
    expect(outcome.status).toBe('ingested');
    expect((await headerOf(pool, INVOICE)).summary!.totals).toEqual({
      linesAmount: '131.50',
      invoiceAmount: '131.02',
      amountFrom: 'invoice',
      agrees: false,
      difference: '0.48',
      tolerance: '0.6551',
    });
  });

  it('an invoice of 0 with no lines may be empty', async () => {
    expect(await ingestInvoice(context, ZERO, { trigger: 'manual' })).toMatchObject({
      status: 'ingested',
      lineCount: 0,
    });
  });

  it('the preview is compared with the amount of its summary, read with the lines', async () => {
    expect((await ingestInvoice(context, PREVIEW, { trigger: 'manual' })).status).toBe('ingested');
    expect((await headerOf(pool, PREVIEW)).summary!.totals).toMatchObject({
      linesAmount: '9.00',
      invoiceAmount: '9.00',
      amountFrom: 'summary',
      agrees: true,
    });
    // A header-only preview CSV is refused like any other.
    fake.state.csv.set(PREVIEW, CSV_HEADER + '\n');
    const outcome = await ingestInvoice(context, PREVIEW, { trigger: 'manual' });
    expect((outcome as { error?: string }).error).toContain('EMPTY_LINE_SET');
    expect(await headerOf(pool, PREVIEW)).toMatchObject({ ingest_status: 'failed', line_count: 2 });
  });

  it('a failure that cannot be recorded leaves the run with the real error; billing history releases the header', async () => {
    // The database refuses to mark this invoice failed (as when it goes away at that moment).
    await pool.query(`
      CREATE FUNCTION refuse_failed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'cannot record the failure now'; END $$;
      CREATE TRIGGER refuse_failed BEFORE UPDATE ON cloud_invoices FOR EACH ROW
        WHEN (NEW.ingest_status = 'failed') EXECUTE FUNCTION refuse_failed();`);
    fake.state.csv.set(INVOICE, CSV_HEADER + '\n');
    try {
      const outcome = await ingestInvoice(context, INVOICE, { trigger: 'manual' });
      expect((outcome as { error?: string }).error).toContain('EMPTY_LINE_SET');
      expect((await headerOf(pool, INVOICE)).ingest_status).toBe('ingesting');
    } finally {
      fake.state.csv.set(INVOICE, csvOf('100.00', '31.02'));
      await pool.query(`DROP TRIGGER refuse_failed ON cloud_invoices; DROP FUNCTION refuse_failed();`);
    }
    const enqueued: string[] = [];
    await syncBillingHistory(context, {
      trigger: 'manual',
      enqueueInvoice: (uuid) => {
        enqueued.push(uuid);
        return Promise.resolve();
      },
    });
    expect(await headerOf(pool, INVOICE)).toMatchObject({
      ingest_status: 'failed',
      ingest_error: expect.stringContaining('ended without recording its outcome') as unknown,
    });
    expect(enqueued).toContain(INVOICE);
    expect((await lastRun(pool, 'billing_history')).details).toMatchObject({ releasedIngests: [INVOICE] });
    expect((await ingestInvoice(context, INVOICE, { trigger: 'manual' })).status).toBe('ingested');
  });

  it('billing history leaves alone a header whose ingest is running (its lock is held)', async () => {
    await pool.query(`UPDATE cloud_invoices SET ingest_status = 'ingesting' WHERE invoice_uuid = $1`, [ZERO]);
    const holder = await pool.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtextextended('cloud-ops:invoice:' || $1 || ':' || $2, 0))`, [
        ACCOUNT,
        ZERO,
      ]);
      await syncBillingHistory(context, noEnqueue);
      expect((await headerOf(pool, ZERO)).ingest_status).toBe('ingesting');
    } finally {
      holder.release(true);
    }
    await syncBillingHistory(context, noEnqueue);
    expect((await headerOf(pool, ZERO)).ingest_status).toBe('failed');
  });
});
