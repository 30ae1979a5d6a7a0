// Shared setup for the billing suites: a test database, the simulator with its inventory synced (the inventory
// engine), a billing client with pacing off and fast retries, and a scriptable fake of DigitalOcean's billing
// endpoints for the files the simulator does not produce (quirky CSVs, preview → final transitions).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { createPool, createPrisma, type PrismaClient } from '../../src/db/client.js';
import { digitalOceanClientOn, type DigitalOceanClient } from '../../src/digitalocean/client.js';
import { startSimulator, type Faults, type Scale, type Simulator } from '../../tools/simulator/index.js';
import type { BillingContext } from '../../src/jobs/billing/context.js';
import { INVENTORY_TASKS } from '../../src/domain/tasks.js';
import { createSyncEngine, type SyncEngine } from '../../src/jobs/inventory/engine.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { json, pageOf, startStub, type Stub } from './http-stub.js';
import { ACCOUNT, TEST_TOKEN, testTransport } from './sync.js';

export { ACCOUNT, TEST_TOKEN };

/** The same pacing-off, fast-retry transport as the sync suites, with one retry fewer. */
export function billingClient(url: string): DigitalOceanClient {
  return digitalOceanClientOn(testTransport(url, { maxRetries: 2 }));
}

export interface BillingHarness {
  db: TestDatabase;
  pool: pg.Pool;
  prisma: PrismaClient;
  sim: Simulator;
  /** The inventory engine on the same database and simulator. */
  engine: SyncEngine;
  api: DigitalOceanClient;
  billing: BillingContext;
  /** Every inventory task once (kinds, then projects). */
  syncInventory(): Promise<void>;
  close(): Promise<void>;
}

/** The simulator, its inventory synced into a fresh database by the inventory engine, and a billing context. */
export async function startBillingHarness(
  options: {
    seed?: number;
    scale?: Partial<Scale>;
    faults?: Faults;
    maxJsonItems?: number;
    largeInvoiceLines?: number;
  } = {},
): Promise<BillingHarness> {
  const db = await createTestDatabase();
  const pool = createPool(db.url, { max: 6 });
  const prisma = createPrisma(pool);
  const sim = await startSimulator({
    port: 0,
    seed: options.seed ?? 11,
    scale: options.scale ?? {},
    faults: options.faults ?? {},
    ...(options.largeInvoiceLines ? { largeInvoiceLines: options.largeInvoiceLines } : {}),
  });
  const engine = createSyncEngine({ db: pool, accountId: ACCOUNT, transport: testTransport(sim.url) });
  const syncInventory = async (): Promise<void> => {
    for (const task of INVENTORY_TASKS) {
      const result = await engine.run(task, { trigger: 'manual' });
      if (result.status === 'failed') throw new Error(`sync ${task} failed: ${result.error}`);
    }
  };
  await syncInventory();
  const api = billingClient(sim.url);
  const billing: BillingContext = {
    pool,
    api,
    accountId: ACCOUNT,
    ...(options.maxJsonItems !== undefined ? { maxJsonItems: options.maxJsonItems } : {}),
  };
  return {
    db,
    pool,
    prisma,
    sim,
    engine,
    api,
    billing,
    syncInventory,
    close: async () => {
      await sim.close();
      await prisma.$disconnect().catch(() => undefined);
      await pool.end();
      await db.drop();
    },
  };
}

/** Every stored line of an invoice, without ids that change on reinsertion, as one digest (and the count). */
export async function linesDigest(pool: pg.Pool, invoiceUuid: string): Promise<{ count: number; digest: string }> {
  const { rows } = await pool.query(
    `SELECT l.line_no, l.source, l.period, l.product, l.group_description, l.description, l.kind, l.resource_name,
            l.resource_uuid, l.resource_provider_id, l.hours::text, l.start_at, l.end_at, l.amount::text, l.project_name,
            l.category, l.resource_id, l.match_method, l.unmatched_reason
       FROM cloud_cost_lines l JOIN cloud_invoices i ON i.id = l.invoice_id
      WHERE i.invoice_uuid = $1 ORDER BY l.line_no`,
    [invoiceUuid],
  );
  return { count: rows.length, digest: createHash('sha256').update(JSON.stringify(rows)).digest('hex') };
}

// ---------------------------------------------------------------------------------------------------------------
// A scriptable fake of the billing endpoints

export interface FakeInvoice {
  invoice_uuid: string;
  invoice_id: string;
  amount: string;
  invoice_period: string;
  updated_at?: string;
}

export interface FakeBillingState {
  balance: Record<string, string>;
  history: Record<string, string>[];
  invoices: FakeInvoice[];
  preview: FakeInvoice | null;
  /** CSV text per invoice uuid; absent → 404. */
  csv: Map<string, string>;
  /** JSON items per invoice uuid; absent → 404. */
  items: Map<string, Record<string, string>[]>;
  /** Summary per invoice uuid; absent → 404. */
  summaries: Map<string, Record<string, unknown>>;
}

export interface FakeBilling {
  stub: Stub;
  url: string;
  state: FakeBillingState;
  close(): Promise<void>;
}

const NOT_FOUND = { id: 'not_found', message: 'The resource you were accessing could not be found.' };

export async function startFakeBilling(initial: Partial<FakeBillingState> = {}): Promise<FakeBilling> {
  const state: FakeBillingState = {
    balance: {
      month_to_date_balance: '0.00',
      account_balance: '0.00',
      month_to_date_usage: '0.00',
      generated_at: '2026-11-15T12:00:00Z',
    },
    history: [],
    invoices: [],
    preview: null,
    csv: new Map(),
    items: new Map(),
    summaries: new Map(),
    ...initial,
  };
  const stub = await startStub((req, res) => {
    const parts = req.path.split('/').filter(Boolean); // v2 customers my ...
    if (parts[0] !== 'v2' || parts[1] !== 'customers' || parts[2] !== 'my') return json(res, 404, NOT_FOUND);
    const [what, uuid, sub] = parts.slice(3);
    if (what === 'balance') return json(res, 200, state.balance);
    if (what === 'billing_history') return json(res, 200, pageOf('billing_history', state.history, req));
    if (what !== 'invoices') return json(res, 404, NOT_FOUND);
    if (uuid === undefined) {
      return json(
        res,
        200,
        pageOf('invoices', state.invoices, req, undefined, state.preview ? { invoice_preview: state.preview } : {}),
      );
    }
    const key = uuid === 'preview' && state.preview ? state.preview.invoice_uuid : uuid;
    if (sub === undefined) {
      const items = state.items.get(key);
      return items ? json(res, 200, pageOf('invoice_items', items, req)) : json(res, 404, NOT_FOUND);
    }
    if (sub === 'summary') {
      const summary = state.summaries.get(key);
      return summary ? json(res, 200, summary) : json(res, 404, NOT_FOUND);
    }
    if (sub === 'csv') {
      const csv = state.csv.get(key);
      if (csv === undefined) return json(res, 404, NOT_FOUND);
      res.writeHead(200, {
        'content-type': 'text/csv',
        'content-disposition': `attachment; filename="invoice-${key}.csv"`,
      });
      res.end(csv);
      return;
    }
    json(res, 404, NOT_FOUND);
  });
  return { stub, url: stub.url, state, close: () => stub.close() };
}

export const CSV_HEADER = 'product,group_description,description,hours,start,end,USD,project_name,category';

/**
 * Gives each listed project its tenant (the first projects by id unless `projectIds` says which) and hands the tenant
 * down to the project's resources, as the projects sync does, so cost can be split by tenant.
 */
export async function giveProjectsTenants(
  pool: pg.Pool,
  tenants: readonly string[],
  projectIds?: readonly number[],
): Promise<void> {
  const ids =
    projectIds ??
    (await pool.query<{ id: number }>(`SELECT id FROM cloud_projects ORDER BY id LIMIT $1`, [tenants.length])).rows.map(
      (row) => row.id,
    );
  for (const [i, tenant] of tenants.entries())
    await pool.query(`UPDATE cloud_projects SET tenant_id = $2 WHERE id = $1`, [ids[i], tenant]);
  await pool.query(
    `UPDATE cloud_resources r SET tenant_id = p.tenant_id FROM cloud_projects p WHERE p.id = r.cloud_project_id AND p.tenant_id IS NOT NULL`,
  );
}
