// Known products, found by feeding real DigitalOcean payloads (test/fixtures/do-products, from the spec and from
// DigitalOcean's own clients) through the normalizers, the classifier and the ingest: the `do:database:` URN
// spelling, a malformed JSON invoice item beside a good CSV, numeric billing history fields, products without a
// kind, and account-level charges.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUrn } from '../src/digitalocean/urn.js';
import type { BillingHistoryEntry, InvoiceItem } from '../src/digitalocean/types.js';
import { createPool } from '../src/db/client.js';
import type { BillingContext } from '../src/jobs/billing/context.js';
import { classifyLine, deriveKind, type LineKind } from '../src/jobs/billing/derive-kind.js';
import { billingHistoryNaturalKey } from '../src/jobs/billing/history-key.js';
import { HistoryKeyer, historyRow, syncBillingHistory } from '../src/jobs/billing/history.js';
import { ingestInvoice } from '../src/jobs/billing/ingest.js';
import { buildCandidateIndex, matchLine, prepareLine, summarizeMatches } from '../src/jobs/billing/match.js';
import { InvoiceItemError, jsonItemToLine } from '../src/jobs/billing/reconcile.js';
import { parseJsonDecimal, parseJsonId, ValueFormatError } from '../src/jobs/billing/values.js';
import { urnKindToLocalKind } from '../src/jobs/inventory/resource-kinds.js';
import { createTestDatabase } from './helpers/database.js';
import {
  ACCOUNT,
  billingClient,
  CSV_HEADER,
  linesDigest,
  startFakeBilling,
  type FakeBilling,
} from './helpers/billing.js';
import { startSyncHarness, type SyncHarness } from './helpers/sync.js';

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/do-products/${name}`, import.meta.url), 'utf8')) as T;
}

const SPEC_ITEMS = fixture<{ invoice_items: InvoiceItem[] }>('invoice_items_spec.json').invoice_items;
const ANSIBLE_ITEMS = fixture<{ invoice_items: InvoiceItem[] }>('invoice_items_ansible.json').invoice_items;
const ANSIBLE_HISTORY = fixture<{ billing_history: BillingHistoryEntry[] }>(
  'billing_history_ansible.json',
).billing_history;
const PYDO_HISTORY = fixture<{ billing_history: BillingHistoryEntry[] }>('billing_history_pydo.json').billing_history;
const DOCTL_URNS = fixture<{ same_cluster_spellings: string[] }>('urns_doctl.json').same_cluster_spellings;

describe('products without a kind of their own', () => {
  it.each<[string, LineKind]>([
    ['Functions', 'functions'],
    ['Monitoring', 'monitoring'],
    ['Uptime', 'uptime'],
    ['Network File Storage', 'nfs'],
    ['GenAI Platform', 'genai'],
    ['Serverless Inference', 'serverless_inference'],
    ['Bare Metal GPUs', 'bare_metal_gpu'],
    ['Partner Network Connect', 'partner_network_connect'],
    // These contain a generic word of another kind ("VPC", "egress") but are products of their own: a NAT gateway
    // matched by name to a VPC, or an egress IP counted as transfer, would be billed to the wrong thing.
    ['VPC NAT Gateway', 'vpc_nat_gateway'],
    ['VPC Peering', 'vpc_peering'],
    ['Dedicated Egress IPs', 'dedicated_egress_ip'],
  ])('%s → %s', (product, kind) => {
    expect(deriveKind(product, 'something (nyc3)', null)).toBe(kind);
  });

  it('leaves the generic kinds their own products', () => {
    expect(deriveKind('VPC', 'default-nyc3', null)).toBe('vpc');
    expect(deriveKind('Bandwidth', 'Outbound Data Transfer Overage', null)).toBe('bandwidth');
    expect(deriveKind('Droplet Bandwidth', 'x', null)).toBe('bandwidth');
    expect(deriveKind('GPU Droplets', 'gpu-1 (gpu-h100x1-80gb)', null)).toBe('droplet');
    expect(deriveKind('Volumes', 'vol (nyc3) 100GB', null)).toBe('volume');
    expect(deriveKind('Network File Storage Backups', 'share-1', null)).toBeNull();
  });

  it('their lines are kind_not_synced (not unknown_product, not a wrong resource by name)', () => {
    // A VPC named like the NAT gateway's line exists: the line must not land on it.
    const vpc = { id: 1, kind: 'vpc', providerId: 'v-1', name: 'edge', stale: false };
    const index = buildCandidateIndex([vpc]);
    for (const product of ['VPC NAT Gateway', 'VPC Peering', 'Functions', 'Network File Storage']) {
      const line = { product, description: 'edge', groupDescription: null, amount: '40.00' };
      expect(matchLine(prepareLine(line), index), product).toEqual({
        resourceId: null,
        matchMethod: null,
        unmatchedReason: 'kind_not_synced',
      });
    }
  });
});

describe('account-level charges', () => {
  const spaces = SPEC_ITEMS.find((item) => item.product === 'Spaces Subscription')!;
  const line = { product: spaces.product, description: spaces.description, groupDescription: null, amount: '34.45' };

  it('the Spaces subscription (the spec example) is account level, kept under the Spaces kind', () => {
    expect(classifyLine(line)).toEqual({ kind: 'spaces_bucket', isTax: false, isCredit: false, isAccountLevel: true });
    expect(classifyLine({ ...line, product: 'Spaces' }).isAccountLevel).toBe(false);
  });

  it('is unmatched account_level even when buckets are synced, and stays out of the attributable charges', () => {
    const bucket = { id: 7, kind: 'spaces_bucket', providerId: 'spaces', name: 'spaces', stale: false };
    const index = buildCandidateIndex([bucket]);
    const match = matchLine(prepareLine(line), index);
    expect(match).toEqual({ resourceId: null, matchMethod: null, unmatchedReason: 'account_level' });
    const summary = summarizeMatches([
      { amount: '34.45', ...match },
      { amount: '5.00', resourceId: 7, unmatchedReason: null },
    ]);
    expect(summary.byReason.account_level).toEqual({ count: 1, amount: '34.45' });
    expect(summary).toMatchObject({ chargesAmount: '5.00', amountMatchRate: '1.000000' });
  });
});

describe('the do:database URN spelling (doctl test data)', () => {
  it('maps do:database and do:dbaas to managed_db', () => {
    for (const urn of DOCTL_URNS) {
      const parsed = parseUrn(urn)!;
      expect(urnKindToLocalKind(parsed.type), urn).toBe('managed_db');
    }
    expect(urnKindToLocalKind('DATABASE')).toBe('managed_db');
  });
});

describe('JSON values from DigitalOcean clients (unit)', () => {
  it('the Ansible invoice item ("744 Hours") is a malformed item with a clear error', () => {
    expect(() => jsonItemToLine(ANSIBLE_ITEMS[0]!, 3)).toThrow(InvoiceItemError);
    expect(() => jsonItemToLine(ANSIBLE_ITEMS[0]!, 3)).toThrow('Invoice item 3: hours "744 Hours" is not a number');
  });

  it('reads numeric amounts and ids exactly', () => {
    expect(parseJsonDecimal(12.34)).toBe('12.34');
    expect(parseJsonDecimal(-0.1)).toBe('-0.10');
    expect(parseJsonDecimal(0.3)).toBe('0.30');
    expect(parseJsonDecimal(1234567.891)).toBe('1234567.891');
    expect(parseJsonDecimal(' 12.340 ')).toBe('12.34');
    expect(parseJsonId(123, 'invoice_id')).toBe('123');
    expect(parseJsonId(' 123 ', 'invoice_id')).toBe('123');
    expect(parseJsonId(null, 'invoice_id')).toBeNull();
    for (const bad of [1e-7, 1e21, Number.NaN, 0.0000001, 12.3456789]) {
      expect(() => parseJsonDecimal(bad), String(bad)).toThrow(ValueFormatError);
    }
    for (const bad of [{}, [], true, null, undefined, '']) {
      expect(() => parseJsonDecimal(bad), JSON.stringify(bad)).toThrow(ValueFormatError);
    }
    for (const bad of [1.5, -1, {}, true]) expect(() => parseJsonId(bad, 'invoice_id')).toThrow(ValueFormatError);
  });

  it('a history entry with numbers (Ansible) is the same row and key as its string twin (pydo)', () => {
    const numeric = historyRow(ANSIBLE_HISTORY[0]!, new HistoryKeyer());
    const text = historyRow(PYDO_HISTORY[0]!, new HistoryKeyer());
    expect(numeric).toEqual(text);
    expect(numeric).toMatchObject({ amount: '12.34', invoice_id: '123', invoice_uuid: 'example-uuid' });
    expect(billingHistoryNaturalKey(ANSIBLE_HISTORY[0]!)).toBe(billingHistoryNaturalKey(PYDO_HISTORY[0]!));
  });

  it('an entry that cannot be read is a clear error naming it, never a TypeError', () => {
    const entry = { ...PYDO_HISTORY[1]!, amount: { value: '1' } } as unknown as BillingHistoryEntry;
    expect(() => historyRow(entry, new HistoryKeyer())).toThrow(
      'billing history entry "Payment (MC 2018)" skipped: amount is an object, not a decimal',
    );
    const noType = { ...PYDO_HISTORY[1]!, type: 7 } as unknown as BillingHistoryEntry;
    expect(() => historyRow(noType, new HistoryKeyer())).toThrow('skipped: type is not text (7)');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// End to end against a fake of DigitalOcean's billing endpoints, on a real database.

const UUID = '22737513-0ea7-4206-8ceb-98a575af7681';
const START = '2023-01-01 00:00:00 +0000';
const END = '2023-02-01 00:00:00 +0000';

/** The CSV of the invoice whose JSON items are the spec's two and Ansible's one (same lines, CSV spelling). */
const CSV = [
  CSV_HEADER,
  `Kubernetes Clusters,my-doks-cluster,a56e086a317d8410c8b4cfd1f4dc9f82,744,${START},${END},$12.34,,`,
  `Spaces Subscription,,Spaces ($5/mo 250GB storage & 1TB bandwidth),744,${START},${END},$34.45,,`,
  `Droplets,"Droplet (1 vCPU, 1GB / 25GB Disk)",my-droplet,744,${START},${END},$5.00,Default,`,
].join('\n');

/** The JSON items: the fixtures' items, with the spec's timestamps moved to the same month as the CSV. */
const ITEMS = [
  ...SPEC_ITEMS.map((item) => ({ ...item, start_time: '2023-01-01T00:00:00Z', end_time: '2023-02-01T00:00:00Z' })),
  ...ANSIBLE_ITEMS,
] as unknown as Record<string, string>[];

describe('real payloads end to end (fake DigitalOcean)', () => {
  let fake: FakeBilling;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: import('pg').Pool;
  let context: BillingContext;
  const ids = new Map<string, number>();

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, { max: 4 });
    await pool.query(`INSERT INTO cloud_accounts (id, created_at, updated_at) VALUES ($1, now(), now())`, [ACCOUNT]);
    for (const [kind, providerId, name] of [
      ['kubernetes_cluster', '711157cb-37c8-4817-b371-44fa3504a39c', 'my-doks-cluster'],
      ['droplet', '123456789', 'my-droplet'],
      ['spaces_bucket', 'spaces', 'spaces'],
    ] as const) {
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO cloud_resources (account_id, kind, provider_id, name, updated_at) VALUES ($1, $2, $3, $4, now()) RETURNING id`,
        [ACCOUNT, kind, providerId, name],
      );
      ids.set(kind, rows[0]!.id);
    }
    fake = await startFakeBilling({
      invoices: [{ invoice_uuid: UUID, invoice_id: '123456789', amount: '51.79', invoice_period: '2023-01' }],
      history: [...ANSIBLE_HISTORY, ...PYDO_HISTORY.slice(1)] as unknown as Record<string, string>[],
      csv: new Map([[UUID, CSV]]),
      items: new Map([[UUID, ITEMS]]),
    });
    context = { pool, api: billingClient(fake.url), accountId: ACCOUNT };
  });
  afterAll(async () => {
    await fake?.close();
    await pool?.end();
    await db?.drop();
  });

  it('billing history with numeric amount and invoice_id (Ansible) is stored exactly', async () => {
    const enqueued: string[] = [];
    const enqueueInvoice = (uuid: string): Promise<void> => {
      enqueued.push(uuid);
      return Promise.resolve();
    };
    const first = await syncBillingHistory(context, { trigger: 'manual', enqueueInvoice });
    expect(first).toMatchObject({ status: 'succeeded', historyCreated: 2, invoicesCreated: 1 });
    const { rows } = await pool.query(
      `SELECT type, amount::text, invoice_id, invoice_uuid FROM cloud_billing_history ORDER BY date`,
    );
    expect(rows).toEqual([
      { type: 'Invoice', amount: '12.340000', invoice_id: '123', invoice_uuid: 'example-uuid' },
      { type: 'Payment', amount: '-12.340000', invoice_id: null, invoice_uuid: null },
    ]);
    const again = await syncBillingHistory(context, { trigger: 'manual', enqueueInvoice });
    expect(again).toMatchObject({ status: 'succeeded', historyCreated: 0 });
    expect(enqueued).toEqual([UUID, UUID]);
  });

  it('an entry that cannot be read is skipped with a clear message; the others are kept, the run is incomplete', async () => {
    const saved = fake.state.history;
    fake.state.history = [
      ...saved,
      { description: 'Credit', amount: { cents: 500 }, date: '2018-07-01T00:00:00Z', type: 'Credit' },
      { description: 'Refund', amount: -3.5, date: '2018-07-02T00:00:00Z', type: 'Refund' },
    ] as unknown as Record<string, string>[];
    try {
      const outcome = await syncBillingHistory(context, { trigger: 'manual', enqueueInvoice: () => Promise.resolve() });
      expect(outcome.status).toBe('incomplete');
      expect(outcome.error).toBe(
        '1 billing history entry skipped: billing history entry "Credit" skipped: amount is an object, not a decimal',
      );
      expect(outcome.error).not.toContain('TypeError');
      expect(outcome.historyCreated).toBe(1); // the refund
      const refund = await pool.query(`SELECT amount::text FROM cloud_billing_history WHERE type = 'Refund'`);
      expect(refund.rows).toEqual([{ amount: '-3.500000' }]);
      const run = await pool.query<{ details: { history: Record<string, unknown> } }>(
        `SELECT details FROM sync_runs WHERE id = $1`,
        [outcome.runId],
      );
      expect(run.rows[0]!.details.history).toMatchObject({ listed: 3, skipped: 1 });
    } finally {
      fake.state.history = saved;
    }
  });

  it('a malformed JSON item beside a good CSV only loses its ids, and the ingest says so', async () => {
    const outcome = await ingestInvoice(context, UUID, { trigger: 'manual' });
    expect(outcome).toMatchObject({ status: 'ingested', lineSource: 'csv', lineCount: 3 });
    if (outcome.status !== 'ingested') throw new Error(`expected an ingest, got ${outcome.status}`);
    expect(outcome.warnings).toEqual([
      '1 malformed JSON invoice item lost its resource ids (the CSV lines are kept and matched by name): ' +
        'Invoice item 3: hours "744 Hours" is not a number',
    ]);
    const { rows } = await pool.query(
      `SELECT product, kind, resource_uuid, resource_provider_id, amount::text, resource_id, match_method, unmatched_reason
         FROM cloud_cost_lines ORDER BY line_no`,
    );
    expect(rows).toEqual([
      {
        product: 'Kubernetes Clusters',
        kind: 'kubernetes_cluster',
        resource_uuid: '711157cb-37c8-4817-b371-44fa3504a39c',
        resource_provider_id: null,
        amount: '12.340000',
        resource_id: ids.get('kubernetes_cluster'),
        match_method: 'id',
        unmatched_reason: null,
      },
      {
        product: 'Spaces Subscription',
        kind: 'spaces_bucket',
        resource_uuid: null,
        resource_provider_id: null,
        amount: '34.450000',
        resource_id: null,
        match_method: null,
        unmatched_reason: 'account_level',
      },
      {
        // Its JSON item was malformed: no ids, matched by name, nothing else lost.
        product: 'Droplets',
        kind: 'droplet',
        resource_uuid: null,
        resource_provider_id: null,
        amount: '5.000000',
        resource_id: ids.get('droplet'),
        match_method: 'name',
        unmatched_reason: null,
      },
    ]);
    const run = await pool.query<{ status: string; details: Record<string, unknown> }>(
      `SELECT status, details FROM sync_runs WHERE id = $1`,
      [outcome.runId],
    );
    expect(run.rows[0]!.status).toBe('succeeded');
    expect(run.rows[0]!.details.warnings).toEqual(outcome.warnings);
    expect(run.rows[0]!.details.reconciliation).toMatchObject({
      jsonItems: 2,
      joined: 2,
      csvOnly: 1,
      jsonItemsRejected: 1,
      jsonItemErrors: ['Invoice item 3: hours "744 Hours" is not a number'],
    });
    const invoice = await pool.query<{ summary: { match: { byReason: Record<string, { count: number }> } } }>(
      `SELECT summary FROM cloud_invoices WHERE invoice_uuid = $1`,
      [UUID],
    );
    expect(invoice.rows[0]!.summary.match.byReason.account_level).toEqual({ count: 1, amount: '34.45' });
  });

  it('without a CSV the JSON items are the line set: a malformed one fails the invoice clearly, nothing is lost', async () => {
    const before = await linesDigest(pool, UUID);
    expect(before.count).toBe(3);
    fake.state.csv.delete(UUID);
    try {
      const outcome = await ingestInvoice(context, UUID, { trigger: 'manual' });
      expect(outcome.status).toBe('failed');
      expect((outcome as { error: string }).error).toBe(
        'Invoice item 3: hours "744 Hours" is not a number; without a CSV the JSON items are the line set, so the ' +
          'invoice is not ingested',
      );
      expect(await linesDigest(pool, UUID)).toEqual(before);
    } finally {
      fake.state.csv.set(UUID, CSV);
    }
  });
});

describe('the do:database URN spelling through the projects sync (simulator)', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ seed: 41 });
    await h.syncAll();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('attributes the managed_db row and creates no "database" row', async () => {
    const sim = h.sim.account;
    const cluster = sim.list('database')[0]!;
    const target = sim.list('project').find((p) => p.id !== cluster.project_id)!;
    // The cluster leaves its project's dbaas membership and is listed under the doctl spelling in another project.
    sim.assign('database', cluster.id, null);
    sim.extraProjectEntries.push({
      project_id: target.id,
      urn: `do:database:${cluster.id}`,
      status: 'ok',
      assigned_at: '2026-01-01T00:00:00Z',
    });
    expect((await h.engine.run('managed_db', { trigger: 'manual' })).status).toBe('succeeded');
    const run = await h.engine.run('projects', { trigger: 'manual' });
    expect(run.status).toBe('succeeded');

    const row = await h.prisma.cloudResource.findUniqueOrThrow({
      where: { accountId_kind_providerId: { accountId: ACCOUNT, kind: 'managed_db', providerId: cluster.id } },
      include: { cloudProject: true },
    });
    expect(row.cloudProject?.providerId).toBe(target.id);
    expect(row.attributionSource).toBe('project');
    expect(await h.prisma.cloudResource.count({ where: { kind: 'database' } })).toBe(0);
    expect((run.details.members as { unknownKinds: string[] }).unknownKinds).not.toContain('database');
  });
});
