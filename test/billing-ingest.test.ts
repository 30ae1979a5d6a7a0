// Billing write path against the simulator (and a scriptable fake of DigitalOcean's billing endpoints) on a real
// database: balance snapshots, billing history and invoice headers, invoice ingest (CSV streamed, JSON items joined,
// every line classified and matched), atomic replacement, failures, preview → final, and the queue.
import { runOnce } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { InvoiceLine } from '../tools/simulator/index.js';
import { syncBalance } from '../src/jobs/billing/balance.js';
import type { BillingContext } from '../src/jobs/billing/context.js';
import { ratio } from '../src/domain/decimal.js';
import { HistoryKeyer, syncBillingHistory } from '../src/jobs/billing/history.js';
import { ingestInvoice, type IngestOutcome } from '../src/jobs/billing/ingest.js';
import { enqueueTask } from '../src/domain/queue.js';
import { jobIdentifier, parseTaskTarget } from '../src/domain/tasks.js';
import { silentLogger } from '../src/logger.js';
import { createCrontab, createTaskList } from '../src/jobs/tasks.js';
import { createPool, createPrisma } from '../src/db/client.js';
import { createTestDatabase } from './helpers/database.js';
import {
  ACCOUNT,
  billingClient,
  CSV_HEADER,
  linesDigest,
  startBillingHarness,
  startFakeBilling,
  TEST_TOKEN,
  type BillingHarness,
  type FakeBilling,
} from './helpers/billing.js';

const collect = (): { uuids: string[]; enqueue: (uuid: string) => Promise<void> } => {
  const uuids: string[] = [];
  return {
    uuids,
    enqueue: (uuid) => {
      uuids.push(uuid);
      return Promise.resolve();
    },
  };
};

async function ingestAll(context: BillingContext, uuids: readonly string[]): Promise<IngestOutcome[]> {
  const outcomes: IngestOutcome[] = [];
  for (const uuid of uuids) outcomes.push(await ingestInvoice(context, uuid, { trigger: 'manual' }));
  return outcomes;
}

/** The `summary` an ingest stores on the invoice (JSONB): the parts these tests read. */
interface StoredSummary {
  provider: Record<string, unknown> & { amount?: string | null };
  reconciliation: Record<string, unknown>;
  totals: {
    linesAmount: string;
    invoiceAmount: string;
    amountFrom: string;
    agrees: boolean;
    difference: string;
    tolerance: string;
  };
  match: { byMethod: Record<string, number>; byReason: Record<string, { count: number; amount: string }> };
}

interface InvoiceHeaderRow {
  id: number;
  period: string;
  provisional: boolean;
  ingest_status: string;
  csv_ingested: boolean;
  items_ingested: boolean;
  ingested_at: Date | null;
  ingest_attempts: number;
  ingest_error: string | null;
  line_count: number;
  matched_count: number;
  lines_amount: string;
  matched_amount: string;
  match_rate: string | null;
  summary: StoredSummary;
}

async function header(h: { pool: import('pg').Pool }, uuid: string): Promise<InvoiceHeaderRow | undefined> {
  const { rows } = await h.pool.query<InvoiceHeaderRow>(
    `SELECT id, period, provisional, ingest_status, csv_ingested, items_ingested, ingested_at, ingest_attempts, ingest_error,
            line_count, matched_count, lines_amount::text, matched_amount::text, match_rate::text, summary
       FROM cloud_invoices WHERE invoice_uuid = $1`,
    [uuid],
  );
  return rows[0];
}

/** A count(*)::int AS n query's row. */
interface CountRow {
  n: number;
}

/** A cost line joined to the resource it matched, as the matching assertions read it. */
interface MatchedLineRow {
  line_no: number;
  provider_id: string | null;
  match_method: string | null;
  unmatched_reason: string | null;
}

/** The provider id the inventory stores for a simulator line's resource. */
function expectedProviderId(line: InvoiceLine): string | null {
  return line.ref.type === 'resource' ? line.ref.id : null;
}

describe('billing against the simulator', () => {
  let h: BillingHarness;
  let uuids: string[];

  beforeAll(async () => {
    h = await startBillingHarness({ seed: 11 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('balance: one snapshot per poll, money stored exactly, each poll a sync run', async () => {
    const first = await syncBalance(h.billing, { trigger: 'manual' });
    const second = await syncBalance(h.billing, { trigger: 'cron' });
    expect(first.status).toBe('succeeded');
    expect(second.status).toBe('succeeded');
    const expected = h.sim.billing.balance();
    const { rows } = await h.pool.query(
      `SELECT month_to_date_balance = $1::numeric AS a, account_balance = $2::numeric AS b, month_to_date_usage = $3::numeric AS c,
              generated_at = $4::timestamptz AS d, account_id
         FROM cloud_balance_snapshots ORDER BY id`,
      [expected.month_to_date_balance, expected.account_balance, expected.month_to_date_usage, expected.generated_at],
    );
    expect(rows).toEqual([
      { a: true, b: true, c: true, d: true, account_id: ACCOUNT },
      { a: true, b: true, c: true, d: true, account_id: ACCOUNT },
    ]);
    const runs = await h.pool.query(
      `SELECT trigger, status, created, api_calls FROM sync_runs WHERE task = 'balance' ORDER BY id`,
    );
    expect(runs.rows).toEqual([
      { trigger: 'manual', status: 'succeeded', created: 1, api_calls: 1 },
      { trigger: 'cron', status: 'succeeded', created: 1, api_calls: 1 },
    ]);
  });

  it('billing history: entries keyed naturally (a rerun adds nothing), invoice headers upserted, ingests enqueued', async () => {
    const sim = h.sim.billing;
    const first = collect();
    const run1 = await syncBillingHistory(h.billing, { trigger: 'manual', enqueueInvoice: first.enqueue });
    expect(run1.status).toBe('succeeded');
    expect(run1.historyCreated).toBe(sim.history.length);
    expect(run1.invoicesCreated).toBe(sim.invoices.length + 1); // + the preview
    expect(run1.previewUuid).toBe(sim.previewUuid);
    // Every final invoice (oldest first), then the preview.
    expect(first.uuids).toEqual([...sim.invoices.map((i) => i.uuid).reverse(), sim.previewUuid]);

    const second = collect();
    const run2 = await syncBillingHistory(h.billing, { trigger: 'cron', enqueueInvoice: second.enqueue });
    expect(run2).toMatchObject({ status: 'succeeded', historyCreated: 0, invoicesCreated: 0 });
    expect(second.uuids).toEqual(first.uuids); // nothing is ingested yet
    const counts = await h.pool.query(
      `SELECT (SELECT count(*)::int FROM cloud_billing_history) AS history, (SELECT count(*)::int FROM cloud_invoices) AS invoices`,
    );
    expect(counts.rows[0]).toEqual({ history: sim.history.length, invoices: sim.invoices.length + 1 });

    const stored = await h.pool.query<{
      invoice_uuid: string;
      invoice_id: string;
      period: string;
      amount: string;
      provisional: boolean;
      ingest_status: string;
    }>(`SELECT invoice_uuid, invoice_id, period, amount::text, provisional, ingest_status FROM cloud_invoices`);
    const byUuid = new Map(stored.rows.map((r) => [r.invoice_uuid, r]));
    for (const inv of [...sim.invoices, sim.preview()]) {
      const row = byUuid.get(inv.uuid)!;
      expect(row).toMatchObject({
        invoice_id: inv.id,
        period: inv.period,
        provisional: inv.preview,
        ingest_status: 'pending',
      });
      expect(Number(row.amount) * 100).toBeCloseTo(inv.totalCents, 6);
    }
    const history = await h.pool.query<{ type: string; amount: string; invoice_uuid: string | null }>(
      `SELECT type, amount::text, invoice_uuid FROM cloud_billing_history WHERE type = 'Payment' LIMIT 1`,
    );
    expect(history.rows[0]!.amount.startsWith('-')).toBe(true);

    const runs = await h.pool.query<{ status: string; listed: number; created: number; unchanged: number }>(
      `SELECT status, listed, created, unchanged FROM sync_runs WHERE task = 'billing_history' ORDER BY id`,
    );
    expect(runs.rows[0]).toMatchObject({ status: 'succeeded', created: sim.history.length + sim.invoices.length + 1 });
    expect(runs.rows[1]).toMatchObject({ status: 'succeeded', created: 0, unchanged: runs.rows[1]!.listed });
    uuids = first.uuids;
  });

  it('ingests every invoice; each match rate is the one the simulator expects, and every match is the right resource', async () => {
    const outcomes = await ingestAll(h.billing, uuids);
    for (const outcome of outcomes) expect(outcome.status, JSON.stringify(outcome)).toBe('ingested');

    for (const uuid of uuids) {
      const inv = h.sim.billing.find(uuid)!;
      const expected = h.sim.billing.expectedMatches(uuid);
      const row = (await header(h, uuid))!;
      const idMatched = expected.counts.current + expected.counts.ambiguous + expected.counts.renamed;
      expect(row).toMatchObject({
        ingest_status: 'ingested',
        csv_ingested: true,
        items_ingested: true,
        ingest_error: null,
        line_count: inv.lineCount,
        matched_count: idMatched,
        match_rate: ratio(BigInt(idMatched), BigInt(inv.lineCount)),
        provisional: inv.preview,
      });
      expect(Number(row.lines_amount) * 100).toBeCloseTo(inv.totalCents, 6);
      expect(row.summary.totals.agrees).toBe(true);
      expect(row.summary.reconciliation).toMatchObject({
        lineSource: 'csv',
        json: 'used',
        joined: inv.lineCount,
        csvOnly: 0,
        jsonOnly: 0,
      });
      expect(row.summary.provider.amount).toBeDefined();
      expect(JSON.stringify(row.summary)).not.toMatch(/Sammy|Shark Row|@/); // no personal data from the summary

      const stored = await h.pool.query<MatchedLineRow>(
        `SELECT l.line_no, r.provider_id, l.match_method, l.unmatched_reason FROM cloud_cost_lines l
           LEFT JOIN cloud_resources r ON r.id = l.resource_id WHERE l.invoice_id = $1 ORDER BY l.line_no`,
        [row.id],
      );
      for (const truth of expected.lines) {
        const line = stored.rows[truth.index]!;
        expect(line.line_no).toBe(truth.index + 1);
        if (['current', 'ambiguous', 'renamed'].includes(truth.status)) {
          expect(line.provider_id, `${truth.product} ${truth.description}`).toBe(
            expectedProviderId(inv.lineAt(truth.index)),
          );
        } else {
          expect(line.provider_id, `${truth.product} ${truth.description} (${truth.status})`).toBeNull();
          expect(line.unmatched_reason).not.toBeNull();
        }
        if (truth.status === 'tax') expect(line.unmatched_reason).toBe('tax');
        if (truth.status === 'credit') expect(line.unmatched_reason).toBe('credit');
      }
    }
    const runs = await h.pool.query<CountRow>(
      `SELECT count(*)::int AS n FROM sync_runs WHERE task = 'invoice' AND status = 'succeeded'`,
    );
    expect(runs.rows[0]!.n).toBe(uuids.length);
  });

  it('stores the derived kind: "Droplet Snapshots" are snapshots and backups droplet_backup, never droplet', async () => {
    const { rows } = await h.pool.query<{ product: string; kinds: string[] }>(
      `SELECT product, array_agg(DISTINCT coalesce(kind, '-')) AS kinds FROM cloud_cost_lines GROUP BY product`,
    );
    const kinds = Object.fromEntries(rows.map((r) => [r.product, r.kinds]));
    expect(kinds['Droplet Snapshots']).toEqual(['snapshot']);
    expect(kinds['Volume Snapshots']).toEqual(['snapshot']);
    expect(kinds['Backups']).toEqual(['droplet_backup']);
    expect(kinds['Droplets']).toEqual(['droplet']);
    expect(kinds['Taxes']).toEqual(['-']);
    const wrong = await h.pool.query<CountRow>(
      `SELECT count(*)::int AS n FROM cloud_cost_lines WHERE kind = 'droplet' AND product <> 'Droplets'`,
    );
    expect(wrong.rows[0]!.n).toBe(0);
    // Backups are attributed to the droplet they back up.
    const backups = await h.pool.query(
      `SELECT DISTINCT r.kind, l.match_method FROM cloud_cost_lines l JOIN cloud_resources r ON r.id = l.resource_id WHERE l.product = 'Backups'`,
    );
    expect(backups.rows).toEqual([{ kind: 'droplet', match_method: 'id' }]);
  });

  it('a rerun gives the same lines and counts', async () => {
    const uuid = uuids[2]!;
    const before = await linesDigest(h.pool, uuid);
    const headerBefore = (await header(h, uuid))!;
    const outcome = await ingestInvoice(h.billing, uuid, { trigger: 'manual' });
    expect(outcome.status).toBe('ingested');
    expect(await linesDigest(h.pool, uuid)).toEqual(before);
    const headerAfter = (await header(h, uuid))!;
    for (const key of ['line_count', 'matched_count', 'lines_amount', 'matched_amount', 'match_rate'] as const) {
      expect(headerAfter[key]).toEqual(headerBefore[key]);
    }
    expect(headerAfter.ingest_attempts).toBe(headerBefore.ingest_attempts + 1);
  });

  it('the next history run enqueues only the preview once the final invoices are ingested', async () => {
    const next = collect();
    await syncBillingHistory(h.billing, { trigger: 'cron', enqueueInvoice: next.enqueue });
    expect(next.uuids).toEqual([h.sim.billing.previewUuid]);
  });

  it('by name alone (JSON items over budget), same-name resources are never guessed and no line gets a wrong resource', async () => {
    const namesOnly: BillingContext = { ...h.billing, maxJsonItems: 0 };
    const uuid = uuids.at(-2)!; // the newest final invoice
    const outcome = await ingestInvoice(namesOnly, uuid, { trigger: 'manual' });
    expect(outcome.status).toBe('ingested');
    const row = (await header(h, uuid))!;
    expect(row.items_ingested).toBe(false);
    expect(row.summary.reconciliation).toMatchObject({ lineSource: 'csv', json: 'skipped_over_budget' });
    const inv = h.sim.billing.find(uuid)!;
    const expected = h.sim.billing.expectedMatches(uuid);
    const stored = await h.pool.query<Omit<MatchedLineRow, 'line_no'>>(
      `SELECT r.provider_id, l.match_method, l.unmatched_reason FROM cloud_cost_lines l
         LEFT JOIN cloud_resources r ON r.id = l.resource_id WHERE l.invoice_id = $1 ORDER BY l.line_no`,
      [row.id],
    );
    let ambiguous = 0;
    for (const truth of expected.lines) {
      const line = stored.rows[truth.index]!;
      // A line is matched to its own resource or to none: by name alone, a current one always, an ambiguous or
      // renamed one only when the lifetimes tell, anything else never.
      const own = expectedProviderId(inv.lineAt(truth.index));
      const allowed =
        truth.status === 'current'
          ? [own]
          : truth.status === 'ambiguous' || truth.status === 'renamed'
            ? [null, own]
            : [null];
      expect(allowed, `${truth.status}: ${truth.description}`).toContain(line.provider_id);
      if (line.unmatched_reason === 'ambiguous') ambiguous++;
    }
    expect(expected.counts.ambiguous).toBeGreaterThan(0);
    expect(ambiguous).toBeGreaterThan(0);
    expect(row.matched_count).toBeGreaterThanOrEqual(expected.counts.current);
    expect(row.matched_count).toBeLessThan(
      expected.counts.current + expected.counts.ambiguous + expected.counts.renamed,
    );
    // Back to the JSON-joined lines for the suites below.
    expect((await ingestInvoice(h.billing, uuid, { trigger: 'manual' })).status).toBe('ingested');
  });

  it('stale resources stay candidates: a deleted droplet is still matched in the month-to-date invoice', async () => {
    const droplets = h.sim.account.list('droplet');
    const names = new Map<string, number>();
    for (const d of droplets) names.set(d.name, (names.get(d.name) ?? 0) + 1);
    const victim = droplets.find((d) => names.get(d.name) === 1 && !d.tags.some((t) => t.startsWith('k8s:')))!;
    h.sim.account.deleteDroplet(victim.id);
    for (let i = 0; i < 3; i++) expect((await h.engine.run('droplet', { trigger: 'manual' })).status).toBe('succeeded');
    const stale = await h.pool.query<{ id: number; stale_at: Date | null }>(
      `SELECT id, stale_at FROM cloud_resources WHERE kind = 'droplet' AND provider_id = $1`,
      [String(victim.id)],
    );
    expect(stale.rows[0]!.stale_at).not.toBeNull();

    const preview = h.sim.billing.previewUuid;
    for (const context of [h.billing, { ...h.billing, maxJsonItems: 0 }]) {
      expect((await ingestInvoice(context, preview, { trigger: 'manual' })).status).toBe('ingested');
      const lines = await h.pool.query(
        `SELECT l.resource_id, l.match_method FROM cloud_cost_lines l JOIN cloud_invoices i ON i.id = l.invoice_id
          WHERE i.invoice_uuid = $1 AND l.product = 'Droplets' AND l.resource_name = $2`,
        [preview, victim.name],
      );
      expect(lines.rows.length).toBe(1);
      expect(lines.rows[0]).toEqual({
        resource_id: stale.rows[0]!.id,
        match_method: context.maxJsonItems === 0 ? 'name' : 'id',
      });
    }
  });

  it('never runs two ingests of one invoice at once', async () => {
    const uuid = uuids[0]!;
    h.sim.setFaults({ latency: { path: `/v2/customers/my/invoices/${uuid}/csv`, ms: 300 } });
    try {
      const outcomes = await Promise.all([
        ingestInvoice(h.billing, uuid, { trigger: 'manual' }),
        ingestInvoice(h.billing, uuid, { trigger: 'manual' }),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['busy', 'ingested']);
    } finally {
      h.sim.setFaults({});
    }
  });
});

describe('a failure in the middle of an ingest (simulator, 50,000-line invoice)', () => {
  let h: BillingHarness;
  let big: string;

  beforeAll(async () => {
    h = await startBillingHarness({ seed: 12, scale: { months: 2 }, largeInvoiceLines: 50_000 });
    await syncBillingHistory(h.billing, { trigger: 'manual', enqueueInvoice: () => Promise.resolve() });
    big = h.sim.billing.invoices.at(-1)!.uuid; // the extra, oldest invoice
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a download dropped mid-CSV rolls everything back: the previous lines stay, the error is recorded, the next history run retries', async () => {
    expect((await ingestInvoice(h.billing, big, { trigger: 'manual' })).status).toBe('ingested');
    const before = await linesDigest(h.pool, big);
    expect(before.count).toBe(50_000);
    const headerBefore = (await header(h, big))!;

    // ~4 MB in: past the first COPY statement (20,000 rows), so rows of this attempt were already in the table.
    h.sim.setFaults({ dropConnection: { path: `/v2/customers/my/invoices/${big}/csv`, afterBytes: 4_000_000 } });
    const failed = await ingestInvoice(h.billing, big, { trigger: 'manual' });
    h.sim.setFaults({});
    expect(failed.status).toBe('failed');
    const error = (failed as { error: string }).error;
    expect(error).toMatch(/csv/);
    expect(error).toMatch(/connection|network|terminated|socket/i);
    expect(error).not.toContain(TEST_TOKEN);

    expect(await linesDigest(h.pool, big)).toEqual(before);
    const headerAfter = (await header(h, big))!;
    expect(headerAfter).toMatchObject({
      ingest_status: 'failed',
      ingest_error: error,
      line_count: 50_000,
      matched_count: headerBefore.matched_count,
    });
    expect(headerAfter.ingested_at).toEqual(headerBefore.ingested_at);
    const run = await h.pool.query(
      `SELECT status, error FROM sync_runs WHERE task = 'invoice' ORDER BY id DESC LIMIT 1`,
    );
    expect(run.rows[0]).toEqual({ status: 'failed', error });

    const next = collect();
    await syncBillingHistory(h.billing, { trigger: 'cron', enqueueInvoice: next.enqueue });
    expect(next.uuids).toContain(big);
    expect((await ingestInvoice(h.billing, big, { trigger: 'manual' })).status).toBe('ingested');
    expect(await linesDigest(h.pool, big)).toEqual(before);
    expect((await header(h, big))!).toMatchObject({ ingest_status: 'ingested', ingest_error: null });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Fake DigitalOcean: files the simulator does not write

const PERIOD_START = '2026-10-01 00:00:00 +0000';
const PERIOD_END = '2026-10-31 23:59:59 +0000';
const crlf = (...lines: string[]): string => lines.join('\r\n') + '\r\n';

/** Every quirk of the invoice CSV at once, with lines for every matching case. */
const QUIRKY_CSV =
  '\uFEFF' +
  crlf(
    ' Product ,Group_Description,DESCRIPTION,Hours,start,end, usd ,project_name,Category',
    `Droplets,,"web, main (s-2vcpu-4gb)",744,${PERIOD_START},${PERIOD_END},"$1,234.56","Marketing, Growth",iaas`,
    `Droplet Backups,,"web, main (s-2vcpu-4gb)",,${PERIOD_START},${PERIOD_END},$246.91,"Marketing, Growth",iaas`,
    `Droplet Snapshots,,web-main-1760000000 (4.2GB),744,${PERIOD_START},${PERIOD_END},$0.25,,iaas`,
    `Snapshots,,vol-snap (nyc3) 10GB,744,${PERIOD_START},${PERIOD_END},$0.50,,iaas`,
    `Droplets,,twin (s-1vcpu-1gb),744,${PERIOD_START},${PERIOD_END},$6.00,web,iaas`,
    `Droplets,,twin (s-1vcpu-1gb),744,${PERIOD_START},${PERIOD_END},$6.00,web,iaas`,
    `Droplets,,solo-stale (s-1vcpu-1gb),100,${PERIOD_START},2026-10-05 04:00:00 +0000,$0.89,,iaas`,
    '',
    `Droplets,,reborn (s-1vcpu-1gb),744,${PERIOD_START},${PERIOD_END},$6.00,,iaas`,
    'Floating IPs,,Unused Floating IP - 203.0.113.7,100,2026-10-01T00:00:00Z,2026-10-05T04:00:00Z,$0.50,,iaas',
    `Kubernetes Clusters,k8s-prod,"pool-a-x1 (s-2vcpu-4gb)",744,${PERIOD_START},${PERIOD_END},$24.00,prod,paas`,
    `Load Balancers,,"edge\r\nlb",744,${PERIOD_START},${PERIOD_END},$12.00,,iaas`,
    `Volumes,,"tab\there, back\\slash (nyc3) 100GB",744,${PERIOD_START},${PERIOD_END},$10.00,,iaas`,
    `Bandwidth,,Outbound Data Transfer Overage,,${PERIOD_START},${PERIOD_END},$0.87,,iaas`,
    `Gizmos,,Something new,1,${PERIOD_START},${PERIOD_END},$1.00,,paas`,
    `Credits,,Promo credit,,${PERIOD_START},${PERIOD_END},-$10.00,,`,
    `Credits,,Other credit,,2026-10-01 00:00:00 +0530,${PERIOD_END},$-1.00,,`,
    `Adjustments,,Manual adjustment,,${PERIOD_START},,($2.50),,paas`,
    `Taxes,,"STATE SALES TAX (6.25%)",,${PERIOD_START},${PERIOD_END},$77.55,,iaas`,
  );

/** Resources of the fake account: kind, provider id, name, stale_at, provider_created_at. */
const RESOURCES: Array<[string, string, string, string | null, string | null]> = [
  ['droplet', '1001', 'web, main', null, '2026-01-01T00:00:00Z'],
  ['snapshot', '5001', 'web-main-1760000000', null, '2026-10-09T00:00:00Z'],
  ['droplet', '1002', 'twin', null, '2026-02-01T00:00:00Z'],
  ['droplet', '1003', 'twin', null, '2026-03-01T00:00:00Z'],
  ['droplet', '1004', 'solo-stale', '2026-10-06T00:00:00Z', '2026-01-01T00:00:00Z'],
  ['droplet', '1005', 'reborn', '2026-09-20T00:00:00Z', '2025-01-01T00:00:00Z'],
  ['droplet', '1006', 'reborn', null, '2026-09-19T00:00:00Z'],
  ['floating_ip', '203.0.113.7', '203.0.113.7', null, null],
  ['kubernetes_cluster', 'aaaaaaaa-0000-4000-8000-000000000001', 'k8s-prod', null, '2026-01-01T00:00:00Z'],
];

async function seedResources(pool: import('pg').Pool): Promise<Map<string, number>> {
  await pool.query(
    `INSERT INTO cloud_accounts (id, created_at, updated_at) VALUES ($1, now(), now()) ON CONFLICT DO NOTHING`,
    [ACCOUNT],
  );
  const ids = new Map<string, number>();
  for (const [kind, providerId, name, staleAt, createdAt] of RESOURCES) {
    const { rows } = await pool.query<{ id: number }>(
      `INSERT INTO cloud_resources (account_id, kind, provider_id, name, stale_at, provider_created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING id`,
      [ACCOUNT, kind, providerId, name, staleAt, createdAt],
    );
    ids.set(`${kind}:${providerId}`, rows[0]!.id);
  }
  return ids;
}

function invoice(
  uuid: string,
  period: string,
  amount: string,
  id = '9000001',
): { invoice_uuid: string; invoice_id: string; amount: string; invoice_period: string } {
  return { invoice_uuid: uuid, invoice_id: id, amount, invoice_period: period };
}

function historyEntry(
  inv: { invoice_uuid: string; invoice_id: string; amount: string },
  date: string,
): Record<string, string> {
  return {
    description: 'Invoice for October 2026',
    amount: inv.amount,
    invoice_id: inv.invoice_id,
    invoice_uuid: inv.invoice_uuid,
    date,
    type: 'Invoice',
  };
}

describe('a CSV with every quirk, end to end (fake DigitalOcean)', () => {
  let fake: FakeBilling;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: import('pg').Pool;
  let context: BillingContext;
  let resources: Map<string, number>;
  const UUID = '11111111-1111-4111-8111-111111111111';

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, { max: 4 });
    resources = await seedResources(pool);
    const oct = invoice(UUID, '2026-10', '1613.53');
    fake = await startFakeBilling({
      invoices: [oct],
      history: [historyEntry(oct, '2026-11-01T08:00:00Z'), historyEntry(oct, '2026-11-01T08:00:00Z')],
      csv: new Map([[UUID, QUIRKY_CSV]]),
      // JSON items for the twins only, plus one item the CSV lacks: ids resolve what the names cannot.
      items: new Map<string, Record<string, string>[]>([
        [
          UUID,
          [
            {
              product: 'Droplets',
              resource_id: '1003',
              group_description: '',
              description: 'twin (s-1vcpu-1gb)',
              amount: '6.00',
              duration: '744',
              duration_unit: 'Hours',
              start_time: '2026-10-01T00:00:00Z',
              end_time: '2026-11-01T00:00:00Z',
              project_name: 'web',
              category: 'iaas',
            },
            {
              product: 'Droplets',
              resource_id: '1002',
              group_description: '',
              description: 'twin (s-1vcpu-1gb)',
              amount: '6.00',
              duration: '744',
              duration_unit: 'Hours',
              start_time: '2026-10-01T00:00:00Z',
              end_time: '2026-11-01T00:00:00Z',
              project_name: 'web',
              category: 'iaas',
            },
            {
              product: 'Volumes',
              resource_uuid: 'bbbbbbbb-0000-4000-8000-000000000001',
              group_description: '',
              description: 'not in the csv (nyc3) 1GB',
              amount: '3.00',
              duration: '744',
              duration_unit: 'Hours',
              start_time: '2026-10-01T00:00:00Z',
              end_time: '2026-11-01T00:00:00Z',
              project_name: '',
              category: 'iaas',
            },
          ],
        ],
      ]),
      summaries: new Map([
        [
          UUID,
          {
            invoice_uuid: UUID,
            billing_period: '2026-10',
            amount: '1613.53',
            user_name: 'Sammy Shark',
            user_email: 'sammy@example.com',
            user_company: 'Acme',
            user_billing_address: { address_line1: '1 Main St', city: 'NYC' },
            taxes: { name: 'Taxes', amount: '77.55' },
          },
        ],
      ]),
    });
    context = { pool, api: billingClient(fake.url), accountId: ACCOUNT };
  });
  afterAll(async () => {
    await fake?.close();
    await pool?.end();
    await db?.drop();
  });

  it('history keeps two identical entries (both can be real money), and a rerun adds nothing', async () => {
    const enqueued = collect();
    const first = await syncBillingHistory(context, { trigger: 'manual', enqueueInvoice: enqueued.enqueue });
    expect(first).toMatchObject({ status: 'succeeded', historyCreated: 2, invoicesCreated: 1, previewUuid: null });
    expect(enqueued.uuids).toEqual([UUID]);
    const again = await syncBillingHistory(context, { trigger: 'manual', enqueueInvoice: () => Promise.resolve() });
    expect(again.historyCreated).toBe(0);
    const keys = await pool.query<{ natural_key: string }>(`SELECT natural_key FROM cloud_billing_history`);
    expect(new Set(keys.rows.map((r) => r.natural_key)).size).toBe(2);
    // The keyer: the second repetition of an entry gets a key of its own, the same one every time.
    const entry = {
      date: '2026-11-01T08:00:00Z',
      type: 'Invoice',
      amount: '1.00',
      description: 'x',
      invoice_uuid: null,
    };
    const a = new HistoryKeyer();
    const b = new HistoryKeyer();
    expect([a.key(entry), a.key(entry)]).toEqual([b.key(entry), b.key(entry)]);
    expect(a.key(entry)).not.toBe(b.key({ ...entry, amount: '1.01' }));
  });

  it('ingests every line: amounts, hours, dates, escaping, kinds, names, matches and reasons', async () => {
    const outcome = await ingestInvoice(context, UUID, { trigger: 'manual' });
    expect(outcome.status, JSON.stringify(outcome)).toBe('ingested');
    const { rows } = await pool.query<{ description: string; resource_id: number | null } & Record<string, unknown>>(
      `SELECT line_no, source, period, product, group_description, description, kind, resource_name, resource_provider_id,
              hours::text, start_at, end_at, amount::text, project_name, category, resource_id, match_method, unmatched_reason
         FROM cloud_cost_lines ORDER BY line_no`,
    );
    expect(rows).toHaveLength(18);
    const by = (description: string, n = 0) => rows.filter((r) => r.description === description)[n]!;
    const id = (key: string) => resources.get(key)!;

    expect(by('web, main (s-2vcpu-4gb)')).toMatchObject({
      line_no: 1,
      source: 'csv',
      period: '2026-10',
      product: 'Droplets',
      group_description: null,
      kind: 'droplet',
      resource_name: 'web, main',
      hours: '744.00',
      amount: '1234.560000',
      project_name: 'Marketing, Growth',
      category: 'iaas',
      resource_id: id('droplet:1001'),
      match_method: 'name',
      start_at: new Date('2026-10-01T00:00:00Z'),
      end_at: new Date('2026-10-31T23:59:59Z'),
    });
    // Backups and snapshots of droplets mention "Droplet" but are not droplets.
    expect(by('web, main (s-2vcpu-4gb)', 1)).toMatchObject({
      product: 'Droplet Backups',
      kind: 'droplet_backup',
      hours: null,
      resource_id: id('droplet:1001'),
      match_method: 'parent',
    });
    expect(by('web-main-1760000000 (4.2GB)')).toMatchObject({
      product: 'Droplet Snapshots',
      kind: 'snapshot',
      resource_name: 'web-main-1760000000',
      resource_id: id('snapshot:5001'),
      match_method: 'name',
    });
    expect(by('vol-snap (nyc3) 10GB')).toMatchObject({
      kind: 'snapshot',
      resource_id: null,
      unmatched_reason: 'historic',
    });
    // Same-name droplets: the JSON items' ids decide (in order), never the name.
    expect(by('twin (s-1vcpu-1gb)')).toMatchObject({
      resource_provider_id: '1003',
      resource_id: id('droplet:1003'),
      match_method: 'id',
    });
    expect(by('twin (s-1vcpu-1gb)', 1)).toMatchObject({
      resource_provider_id: '1002',
      resource_id: id('droplet:1002'),
      match_method: 'id',
    });
    // Deleted (stale) resources still bill and are still matched; an older namesake stale before the period is not.
    expect(by('solo-stale (s-1vcpu-1gb)')).toMatchObject({
      hours: '100.00',
      resource_id: id('droplet:1004'),
      match_method: 'name',
      end_at: new Date('2026-10-05T04:00:00Z'),
    });
    expect(by('reborn (s-1vcpu-1gb)')).toMatchObject({
      line_no: 8,
      resource_id: id('droplet:1006'),
      match_method: 'name',
    });
    expect(by('Unused Floating IP - 203.0.113.7')).toMatchObject({
      kind: 'floating_ip',
      resource_name: '203.0.113.7',
      resource_id: id('floating_ip:203.0.113.7'),
    });
    expect(by('pool-a-x1 (s-2vcpu-4gb)')).toMatchObject({
      kind: 'kubernetes_cluster',
      group_description: 'k8s-prod',
      resource_name: 'k8s-prod',
      resource_id: id('kubernetes_cluster:aaaaaaaa-0000-4000-8000-000000000001'),
      category: 'paas',
    });
    // COPY escaping: a line break, a tab and a backslash survive.
    expect(by('edge\r\nlb')).toMatchObject({
      kind: 'load_balancer',
      resource_name: 'edge\r\nlb',
      unmatched_reason: 'historic',
    });
    expect(by('tab\there, back\\slash (nyc3) 100GB')).toMatchObject({
      kind: 'volume',
      resource_name: 'tab\there, back\\slash',
      unmatched_reason: 'historic',
    });
    expect(by('Outbound Data Transfer Overage')).toMatchObject({
      kind: 'bandwidth',
      hours: null,
      unmatched_reason: 'kind_not_synced',
    });
    expect(by('Something new')).toMatchObject({ kind: null, unmatched_reason: 'unknown_product' });
    expect(by('Promo credit')).toMatchObject({ amount: '-10.000000', category: null, unmatched_reason: 'credit' });
    expect(by('Other credit')).toMatchObject({
      amount: '-1.000000',
      start_at: new Date('2026-09-30T18:30:00Z'),
      unmatched_reason: 'credit',
    });
    expect(by('Manual adjustment')).toMatchObject({ amount: '-2.500000', end_at: null, unmatched_reason: 'credit' });
    expect(by('STATE SALES TAX (6.25%)')).toMatchObject({ kind: null, hours: null, unmatched_reason: 'tax' });

    const row = (await header({ pool }, UUID))!;
    const matched = rows.filter((r) => r.resource_id !== null).length;
    expect(matched).toBe(9);
    expect(row).toMatchObject({
      ingest_status: 'ingested',
      csv_ingested: true,
      items_ingested: true,
      line_count: 18,
      matched_count: matched,
      lines_amount: '1613.530000',
      matched_amount: '1525.110000',
      match_rate: ratio(9n, 18n),
    });
    expect(row.summary.totals).toEqual({
      linesAmount: '1613.53',
      invoiceAmount: '1613.53',
      amountFrom: 'invoice',
      agrees: true,
      difference: '0.00',
      tolerance: '8.06765',
    });
    expect(row.summary.reconciliation).toMatchObject({
      lineSource: 'csv',
      json: 'used',
      jsonItems: 3,
      joined: 2,
      csvOnly: 16,
      jsonOnly: 1,
      jsonOnlyAmount: '3.00',
    });
    expect(row.summary.match.byReason.tax).toEqual({ count: 1, amount: '77.55' });
    expect(row.summary.match.byMethod).toEqual({ id: 2, name: 6, parent: 1 });
    // The summary is stored without personal data.
    expect(row.summary.provider).toMatchObject({
      billingPeriod: '2026-10',
      amount: '1613.53',
      taxes: { name: 'Taxes', amount: '77.55' },
    });
    expect(JSON.stringify(row.summary)).not.toMatch(/Sammy|sammy@|Main St|Acme/);
  });

  it('a malformed line leaves the previous lines intact and records where the file is wrong', async () => {
    const before = await linesDigest(pool, UUID);
    const lines = QUIRKY_CSV.split('\r\n');
    lines[6] = `Droplets,,twin (s-1vcpu-1gb),744,${PERIOD_START},${PERIOD_END},$6.0.0,web,iaas`; // physical line 7
    fake.state.csv.set(UUID, lines.join('\r\n'));
    const failed = await ingestInvoice(context, UUID, { trigger: 'manual' });
    expect(failed.status).toBe('failed');
    const error = (failed as { error: string }).error;
    expect(error).toContain('line 7');
    expect(error).toContain('column "usd"');
    expect(await linesDigest(pool, UUID)).toEqual(before);
    expect((await header({ pool }, UUID))!).toMatchObject({
      ingest_status: 'failed',
      ingest_error: error,
      line_count: 18,
    });

    fake.state.csv.set(UUID, QUIRKY_CSV);
    expect((await ingestInvoice(context, UUID, { trigger: 'manual' })).status).toBe('ingested');
    expect(await linesDigest(pool, UUID)).toEqual(before);
  });

  it('without a CSV, the JSON items are the line set (when they add up to the invoice)', async () => {
    fake.state.csv.delete(UUID);
    const before = await linesDigest(pool, UUID);
    try {
      // These three items are not the whole invoice: refused, the CSV's lines stay.
      const refused = await ingestInvoice(context, UUID, { trigger: 'manual' });
      expect((refused as { error?: string }).error).toContain('TOTAL_MISMATCH');
      expect(await linesDigest(pool, UUID)).toEqual(before);
      await pool.query(`UPDATE cloud_invoices SET amount = 15.00 WHERE invoice_uuid = $1`, [UUID]);
      const outcome = await ingestInvoice(context, UUID, { trigger: 'manual' });
      expect(outcome).toMatchObject({ status: 'ingested', lineSource: 'json', lineCount: 3 });
      const { rows } = await pool.query<{
        source: string;
        resource_provider_id: string | null;
        resource_uuid: string | null;
        match_method: string | null;
        hours: string | null;
      }>(
        `SELECT source, resource_provider_id, resource_uuid, match_method, hours::text FROM cloud_cost_lines ORDER BY line_no`,
      );
      expect(rows.map((r) => r.source)).toEqual(['json', 'json', 'json']);
      expect(rows[0]).toMatchObject({ resource_provider_id: '1003', match_method: 'id', hours: '744.00' });
      expect((await header({ pool }, UUID))!).toMatchObject({
        csv_ingested: false,
        items_ingested: true,
        line_count: 3,
      });
    } finally {
      fake.state.csv.set(UUID, QUIRKY_CSV);
      await pool.query(`UPDATE cloud_invoices SET amount = 1613.53 WHERE invoice_uuid = $1`, [UUID]);
    }
    expect((await ingestInvoice(context, UUID, { trigger: 'manual' })).status).toBe('ingested');
  });
});

describe('the month-to-date preview is provisional and replaced by the final invoice (fake DigitalOcean)', () => {
  let fake: FakeBilling;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: import('pg').Pool;
  let context: BillingContext;
  const SEP = 'a0000000-0000-4000-8000-000000000009';
  const OCT_PREVIEW = 'b0000000-0000-4000-8000-000000000010';
  const OCT_FINAL = 'c0000000-0000-4000-8000-000000000010';
  const NOV_PREVIEW = 'd0000000-0000-4000-8000-000000000011';
  const csvOf = (...amounts: string[]): string =>
    [
      CSV_HEADER,
      ...amounts.map((a, i) => `Droplets,,web-${i} (s-1vcpu-1gb),744,${PERIOD_START},${PERIOD_END},$${a},,iaas`),
    ].join('\n') + '\n';
  const periodTotal = async (period: string) =>
    (
      await pool.query<{ total: string; n: number }>(
        `SELECT coalesce(sum(amount), 0)::text AS total, count(*)::int AS n FROM cloud_cost_lines WHERE period = $1`,
        [period],
      )
    ).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, { max: 4 });
    fake = await startFakeBilling({
      invoices: [invoice(SEP, '2026-09', '10.00', '9000009')],
      preview: { ...invoice(OCT_PREVIEW, '2026-10', '7.00', '9000010'), updated_at: '2026-10-20T06:00:00Z' },
      csv: new Map([
        [SEP, csvOf('10.00')],
        [OCT_PREVIEW, csvOf('3.00', '4.00')],
      ]),
    });
    context = { pool, api: billingClient(fake.url), accountId: ACCOUNT };
  });
  afterAll(async () => {
    await fake?.close();
    await pool?.end();
    await db?.drop();
  });

  it('ingests the preview as provisional', async () => {
    const enqueued = collect();
    await syncBillingHistory(context, { trigger: 'manual', enqueueInvoice: enqueued.enqueue });
    expect(enqueued.uuids).toEqual([SEP, OCT_PREVIEW]);
    for (const outcome of await ingestAll(context, enqueued.uuids)) expect(outcome.status).toBe('ingested');
    expect((await header({ pool }, OCT_PREVIEW))!).toMatchObject({
      provisional: true,
      period: '2026-10',
      line_count: 2,
    });
    expect(await periodTotal('2026-10')).toEqual({ total: '7.000000', n: 2 });
  });

  it('keeps the provisional lines until the final invoice is ingested, then swaps them in one transaction', async () => {
    fake.state.invoices = [
      invoice(OCT_FINAL, '2026-10', '7.50', '9000010'),
      invoice(SEP, '2026-09', '10.00', '9000009'),
    ];
    fake.state.preview = { ...invoice(NOV_PREVIEW, '2026-11', '1.00', '9000011'), updated_at: '2026-11-02T06:00:00Z' };
    fake.state.csv.set(OCT_FINAL, csvOf('3.00', '4.50'));
    fake.state.csv.set(
      NOV_PREVIEW,
      csvOf('1.00').replace(PERIOD_START, '2026-11-01 00:00:00 +0000').replace(PERIOD_END, '2026-11-02 06:00:00 +0000'),
    );
    const enqueued = collect();
    await syncBillingHistory(context, { trigger: 'manual', enqueueInvoice: enqueued.enqueue });
    expect(enqueued.uuids).toEqual([OCT_FINAL, NOV_PREVIEW]);
    // Until the final one is in, October still shows the provisional lines.
    expect(await periodTotal('2026-10')).toEqual({ total: '7.000000', n: 2 });

    expect((await ingestInvoice(context, OCT_FINAL, { trigger: 'manual' })).status).toBe('ingested');
    expect(await header({ pool }, OCT_PREVIEW)).toBeUndefined();
    expect(await periodTotal('2026-10')).toEqual({ total: '7.500000', n: 2 });
    expect((await header({ pool }, OCT_FINAL))!).toMatchObject({ provisional: false, ingest_status: 'ingested' });
    const run = await pool.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM sync_runs WHERE task = 'invoice' ORDER BY id DESC LIMIT 1`,
    );
    expect(run.rows[0]!.details).toMatchObject({ invoiceUuid: OCT_FINAL, supersededProvisional: 1 });

    expect((await ingestInvoice(context, NOV_PREVIEW, { trigger: 'manual' })).status).toBe('ingested');
    expect((await header({ pool }, NOV_PREVIEW))!).toMatchObject({ provisional: true, period: '2026-11' });
  });

  it('never brings back a preview for a period that has its final invoice', async () => {
    fake.state.preview = { ...invoice(OCT_PREVIEW, '2026-10', '7.00', '9000010'), updated_at: '2026-10-31T06:00:00Z' };
    const enqueued = collect();
    const outcome = await syncBillingHistory(context, { trigger: 'manual', enqueueInvoice: enqueued.enqueue });
    expect(outcome.previewUuid).toBeNull();
    expect(enqueued.uuids).toEqual([]);
    expect(await header({ pool }, OCT_PREVIEW)).toBeUndefined();

    // A leftover provisional header of that period is dropped by its own ingest.
    await pool.query(
      `INSERT INTO cloud_invoices (account_id, invoice_uuid, period, amount, provisional, updated_at) VALUES ($1, $2, '2026-10', 7, true, now())`,
      [ACCOUNT, OCT_PREVIEW],
    );
    expect((await ingestInvoice(context, OCT_PREVIEW, { trigger: 'manual' })).status).toBe('superseded');
    expect(await header({ pool }, OCT_PREVIEW)).toBeUndefined();
    expect(await periodTotal('2026-10')).toEqual({ total: '7.500000', n: 2 });
  });
});

describe('billing through the queue', () => {
  let h: BillingHarness;

  beforeAll(async () => {
    h = await startBillingHarness({ seed: 13, scale: { months: 3 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('schedules balance hourly at :07, history daily at 02:23 and insights daily at 09:17, only with a token', () => {
    const withToken = loadConfig({ DIGITALOCEAN_TOKEN: 'x' });
    const items = createCrontab({ config: withToken }).filter((i) => i.task.startsWith('billing:'));
    expect(items.map((i) => [i.task, i.match])).toEqual([
      [jobIdentifier('balance'), '7 * * * *'],
      [jobIdentifier('billing_history'), '23 2 * * *'],
      [jobIdentifier('billing_insights'), '17 9 * * *'],
    ]);
    expect(jobIdentifier('balance')).toBe('billing:balance');
    expect(jobIdentifier('billing_history')).toBe('billing:history');
    expect(createCrontab({ config: loadConfig({}) })).toEqual([]);
    expect(parseTaskTarget('invoice:')).toBeNull();
    expect(parseTaskTarget('invoice:abc-123')).toEqual({ task: 'invoice', argument: 'abc-123' });
  });

  it('a manual billing_history run ingests every invoice through graphile-worker; balance and one invoice can be triggered too', async () => {
    const config = loadConfig({
      DIGITALOCEAN_TOKEN: TEST_TOKEN,
      DIGITALOCEAN_API_URL: h.sim.url,
      DIGITALOCEAN_ACCOUNT_ID: ACCOUNT,
      DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
    });
    const taskList = createTaskList({ config, pool: h.pool, prisma: createPrisma(h.pool), logger: silentLogger });
    expect(Object.keys(taskList)).toEqual(
      expect.arrayContaining(['billing:balance', 'billing:history', 'billing:invoice']),
    );

    // runOnce stops at the first moment it finds no job, and a job of a serial queue looks locked until the job
    // before it is recorded complete. With the completion batcher (as the worker runs it), runOnce resolves only
    // after every job it ran is recorded, so each pass either finishes a job or proves the queue stuck.
    const queuedJobIds = async (): Promise<Set<string>> =>
      new Set(
        (await h.pool.query<{ id: string }>(`SELECT id::text FROM graphile_worker.jobs`)).rows.map((row) => row.id),
      );
    const drain = async (): Promise<void> => {
      const passes: number[] = [];
      for (let before = await queuedJobIds(); before.size > 0;) {
        await runOnce({
          pgPool: h.pool,
          taskList,
          noHandleSignals: true,
          preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
        });
        const after = await queuedJobIds();
        passes.push(after.size);
        // Jobs a pass adds (the invoices billing history finds) are new ids; a pass must have finished an old one.
        if ([...before].every((id) => after.has(id)))
          throw new Error(`a pass finished no job (jobs left after each pass: ${passes.join(', ')})`);
        before = after;
      }
    };
    await enqueueTask(h.pool, 'billing_history', 'manual');
    await enqueueTask(h.pool, 'balance', 'manual');
    await drain();
    const invoices = await h.pool.query<{ invoice_uuid: string; ingest_status: string }>(
      `SELECT invoice_uuid, ingest_status FROM cloud_invoices ORDER BY period`,
    );
    expect(invoices.rows.length).toBe(h.sim.billing.invoices.length + 1);
    expect(new Set(invoices.rows.map((r) => r.ingest_status))).toEqual(new Set(['ingested']));
    expect((await h.pool.query<CountRow>(`SELECT count(*)::int AS n FROM cloud_balance_snapshots`)).rows[0]!.n).toBe(1);

    const one = invoices.rows[0]!.invoice_uuid;
    const { jobIds } = await enqueueTask(h.pool, `invoice:${one}`, 'manual');
    expect(jobIds).toHaveLength(1);
    await drain();
    const runs = await h.pool.query(
      `SELECT task, trigger, status, count(*)::int AS n FROM sync_runs WHERE task IN ('balance', 'billing_history', 'invoice') GROUP BY 1, 2, 3 ORDER BY 1`,
    );
    expect(runs.rows).toEqual([
      { task: 'balance', trigger: 'manual', status: 'succeeded', n: 1 },
      { task: 'billing_history', trigger: 'manual', status: 'succeeded', n: 1 },
      { task: 'invoice', trigger: 'manual', status: 'succeeded', n: invoices.rows.length + 1 },
    ]);
    await expect(enqueueTask(h.pool, 'invoice:', 'manual')).rejects.toThrow();
  });
});
