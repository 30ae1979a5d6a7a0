// The billing read path: GraphQL fields and the REST routes over data ingested from the simulator (inventory
// synced by the inventory engine, history + every invoice ingested by the billing jobs). Platform admin only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../tools/simulator/index.js';
import { decimalToMicros, microsToDecimal } from '../src/domain/decimal.js';
import { syncBalance } from '../src/jobs/billing/balance.js';
import type { BillingContext } from '../src/jobs/billing/context.js';
import { syncBillingHistory } from '../src/jobs/billing/history.js';
import { ingestInvoice } from '../src/jobs/billing/ingest.js';
import { INVENTORY_TASKS as SYNC_TASK_NAMES } from '../src/domain/tasks.js';
import { createSyncEngine } from '../src/jobs/inventory/engine.js';
import { startApi, token, type Api } from './helpers/api.js';
import { ACCOUNT, billingClient, giveProjectsTenants } from './helpers/billing.js';
import { gql } from './helpers/graphql.js';
import { testTransport } from './helpers/sync.js';

interface Page<T> {
  totalCount: number;
  edges: Array<{ node: T }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const sum = (values: string[]): string => microsToDecimal(values.reduce((total, v) => total + decimalToMicros(v), 0n));
const same = (a: string, b: string): boolean => decimalToMicros(a) === decimalToMicros(b);

describe('billing API', () => {
  let api: Api;
  let sim: Simulator;
  let rest: string;
  let admin: string;
  let tenant: string;
  let period: string;
  let uuids: string[];

  beforeAll(async () => {
    api = await startApi();
    rest = api.url.replace(/\/graphql$/, '');
    sim = await startSimulator({ port: 0, seed: 21, scale: { months: 3 } });
    const engine = createSyncEngine({ db: api.pool, accountId: ACCOUNT, transport: testTransport(sim.url) });
    for (const task of SYNC_TASK_NAMES)
      expect((await engine.run(task, { trigger: 'manual' })).status).not.toBe('failed');
    // Two projects get tenants, so cost can be split by tenant.
    await giveProjectsTenants(api.pool, ['acme', 'globex']);

    const context: BillingContext = { pool: api.pool, api: billingClient(sim.url), accountId: ACCOUNT };
    await syncBalance(context, { trigger: 'manual' });
    await syncBalance(context, { trigger: 'manual' });
    uuids = [];
    await syncBillingHistory(context, {
      trigger: 'manual',
      enqueueInvoice: (uuid) => {
        uuids.push(uuid);
        return Promise.resolve();
      },
    });
    for (const uuid of uuids)
      expect((await ingestInvoice(context, uuid, { trigger: 'manual' })).status).toBe('ingested');
    period = sim.billing.invoices[0]!.period; // the newest closed month
    admin = await token({ admin: true, sub: 'ops' });
    tenant = await token({ tenant: 'acme' });
  });

  afterAll(async () => {
    await sim?.close();
    await api?.close();
  });

  const adminQuery = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const { body } = await gql<T>(api.url, query, { token: admin, variables });
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data!;
  };

  it('is platform admin only: a tenant gets FORBIDDEN, no token UNAUTHENTICATED, for every billing field', async () => {
    const queries = [
      '{ balance { accountBalance } }',
      '{ balanceHistory(first: 1) { totalCount } }',
      '{ invoices(first: 1) { totalCount } }',
      `{ invoice(uuid: "${uuids[0]}") { id } }`,
      `{ costLines(period: "${period}", first: 1) { totalCount } }`,
      `{ costByProject(period: "${period}") { amount } }`,
      `{ costByTenant(period: "${period}") { amount } }`,
      `{ costByKind(period: "${period}") { amount } }`,
      '{ resources(first: 1) { edges { node { costLines(first: 1) { totalCount } } } } }',
      `{ projects(first: 1) { edges { node { cost(period: "${period}") } } } }`,
    ];
    for (const query of queries) {
      const forbidden = await gql(api.url, query, { token: tenant });
      expect(forbidden.body.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect(JSON.stringify(forbidden.body.data ?? null)).not.toMatch(/"\d+\.\d+"/); // no amount leaks
      const anonymous = await gql(api.url, query);
      expect(anonymous.body.errors?.[0]?.extensions?.code, query).toBe('UNAUTHENTICATED');
    }
    const trigger = await gql(api.url, 'mutation { triggerSync(task: "balance") { jobIds } }', { token: tenant });
    expect(trigger.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('money is a Decimal string scalar, never a Float', async () => {
    const data = await adminQuery<{
      __type: { fields: Array<{ name: string; type: { name: string | null; ofType: { name: string } | null } }> };
    }>('{ __type(name: "CostLine") { fields { name type { name ofType { name } } } } }');
    const typeOf = (name: string) => {
      const field = data.__type.fields.find((f) => f.name === name)!;
      return field.type.name ?? field.type.ofType?.name;
    };
    expect(typeOf('amount')).toBe('Decimal');
    expect(typeOf('hours')).toBe('Decimal');
    const invoice = await adminQuery<{
      __type: { fields: Array<{ name: string; type: { name: string | null; ofType: { name: string } | null } }> };
    }>('{ __type(name: "Invoice") { fields { name type { name ofType { name } } } } }');
    for (const name of ['amount', 'linesAmount', 'matchedAmount', 'matchRate']) {
      const field = invoice.__type.fields.find((f) => f.name === name)!;
      expect(field.type.name ?? field.type.ofType?.name, name).toBe('Decimal');
    }
  });

  it('balance: the latest snapshot and the history, newest first', async () => {
    const data = await adminQuery<{
      balance: {
        id: string;
        monthToDateBalance: string;
        accountBalance: string;
        monthToDateUsage: string;
        generatedAt: string;
      };
      balanceHistory: Page<{ id: string }>;
    }>(
      '{ balance { id monthToDateBalance accountBalance monthToDateUsage generatedAt } balanceHistory(first: 10) { totalCount edges { node { id } } } }',
    );
    const expected = sim.billing.balance();
    expect(same(data.balance.monthToDateBalance, expected.month_to_date_balance)).toBe(true);
    expect(same(data.balance.accountBalance, expected.account_balance)).toBe(true);
    expect(same(data.balance.monthToDateUsage, expected.month_to_date_usage)).toBe(true);
    expect(data.balance.monthToDateBalance).toMatch(DECIMAL);
    expect(data.balanceHistory.totalCount).toBe(2);
    expect(data.balanceHistory.edges[0]!.node.id).toBe(data.balance.id);
    expect(Number(data.balanceHistory.edges[0]!.node.id)).toBeGreaterThan(
      Number(data.balanceHistory.edges[1]!.node.id),
    );
  });

  it('invoices by period and status, with match rate and unmatched reasons; one invoice with its lines by cursor', async () => {
    const all = await adminQuery<{
      invoices: Page<{
        invoiceUuid: string;
        period: string;
        provisional: boolean;
        ingestStatus: string;
        matchRate: string;
      }>;
    }>(
      '{ invoices(first: 50) { totalCount edges { node { invoiceUuid period provisional ingestStatus matchRate } } } }',
    );
    expect(all.invoices.totalCount).toBe(uuids.length);
    const periods = all.invoices.edges.map((e) => e.node.period);
    expect(periods).toEqual([...periods].sort().reverse());
    expect(all.invoices.edges[0]!.node.provisional).toBe(true);
    for (const { node } of all.invoices.edges) {
      expect(node.ingestStatus).toBe('INGESTED');
      expect(node.matchRate).toMatch(/^0\.\d{6}$|^1\.000000$/);
    }

    const byPeriod = await adminQuery<{ invoices: Page<{ invoiceUuid: string }> }>(
      'query($p: String) { invoices(period: $p, status: INGESTED, first: 5) { totalCount edges { node { invoiceUuid } } } }',
      { p: `${period}-17` },
    );
    const closed = sim.billing.invoices[0]!;
    expect(byPeriod.invoices.edges.map((e) => e.node.invoiceUuid)).toEqual([closed.uuid]);
    const failed = await adminQuery<{ invoices: Page<unknown> }>('{ invoices(status: FAILED) { totalCount } }');
    expect(failed.invoices.totalCount).toBe(0);

    const expected = sim.billing.expectedMatches(closed.uuid);
    const one = await adminQuery<{
      invoice: {
        lineCount: number;
        matchedCount: number;
        linesAmount: string;
        unmatched: Array<{ reason: string; count: number; amount: string }>;
        costLines: Page<{ lineNo: number; amount: string; matched: boolean }>;
      };
    }>(
      `query($uuid: String!) { invoice(uuid: $uuid) { lineCount matchedCount linesAmount unmatched { reason count amount }
         costLines(first: 7) { totalCount edges { node { lineNo amount matched } } pageInfo { hasNextPage endCursor } } } }`,
      { uuid: closed.uuid },
    );
    expect(one.invoice.lineCount).toBe(closed.lineCount);
    expect(one.invoice.matchedCount).toBe(
      expected.counts.current + expected.counts.ambiguous + expected.counts.renamed,
    );
    expect(one.invoice.unmatched.find((u) => u.reason === 'TAX')).toMatchObject({ count: 1 });
    expect(one.invoice.unmatched.reduce((n, u) => n + u.count, 0)).toBe(
      one.invoice.lineCount - one.invoice.matchedCount,
    );
    // Every line, by cursor, in invoice order; the amounts add up to the invoice.
    const lines = [...one.invoice.costLines.edges.map((e) => e.node)];
    let after = one.invoice.costLines.pageInfo.endCursor;
    while (after) {
      const next = await adminQuery<{
        invoice: { costLines: Page<{ lineNo: number; amount: string; matched: boolean }> };
      }>(
        'query($uuid: String!, $after: String) { invoice(uuid: $uuid) { costLines(first: 50, after: $after) { edges { node { lineNo amount matched } } pageInfo { hasNextPage endCursor } } } }',
        { uuid: closed.uuid, after },
      );
      lines.push(...next.invoice.costLines.edges.map((e) => e.node));
      after = next.invoice.costLines.pageInfo.hasNextPage ? next.invoice.costLines.pageInfo.endCursor : null;
    }
    expect(lines.map((l) => l.lineNo)).toEqual(Array.from({ length: closed.lineCount }, (_, i) => i + 1));
    expect(same(sum(lines.map((l) => l.amount)), one.invoice.linesAmount)).toBe(true);
  });

  it('costLines of a period (month or any date of it), by kind, matched and project, paged by cursor', async () => {
    type Line = {
      id: string;
      kind: string | null;
      amount: string;
      matched: boolean;
      unmatchedReason: string | null;
      resource: { id: string } | null;
    };
    const fetchAll = async (args: Record<string, unknown>): Promise<{ total: number; lines: Line[] }> => {
      const lines: Line[] = [];
      let after: string | null = null;
      let total = 0;
      for (let i = 0; i < 100; i++) {
        const data: { costLines: Page<Line> } = await adminQuery<{ costLines: Page<Line> }>(
          `query($period: String!, $kind: [String!], $matched: Boolean, $projectId: ID, $after: String) {
             costLines(period: $period, kind: $kind, matched: $matched, projectId: $projectId, first: 100, after: $after) {
               totalCount edges { node { id kind amount matched unmatchedReason resource { id } } } pageInfo { hasNextPage endCursor } } }`,
          { ...args, after },
        );
        total = data.costLines.totalCount;
        lines.push(...data.costLines.edges.map((e) => e.node));
        if (!data.costLines.pageInfo.hasNextPage) break;
        after = data.costLines.pageInfo.endCursor;
      }
      return { total, lines };
    };
    const month = await fetchAll({ period });
    const day = await fetchAll({ period: `${period}-01` });
    expect(day.lines.map((l) => l.id)).toEqual(month.lines.map((l) => l.id));
    expect(month.total).toBe(sim.billing.invoices[0]!.lineCount);
    expect(month.lines).toHaveLength(month.total);

    const droplets = await fetchAll({ period, kind: ['droplet'] });
    expect(droplets.lines.length).toBeGreaterThan(0);
    expect(droplets.lines.every((l) => l.kind === 'droplet')).toBe(true);
    const unmatched = await fetchAll({ period, matched: false });
    expect(unmatched.lines.every((l) => !l.matched && l.resource === null && l.unmatchedReason !== null)).toBe(true);
    expect(unmatched.total + (await fetchAll({ period, matched: true })).total).toBe(month.total);

    const top = await adminQuery<{
      costByProject: Array<{ amount: string; lineCount: number; project: { id: string } | null }>;
    }>('query($period: String!) { costByProject(period: $period) { amount lineCount project { id } } }', { period });
    const withProject = top.costByProject.find((row) => row.project !== null)!;
    const ofProject = await fetchAll({ period, projectId: withProject.project!.id });
    expect(ofProject.total).toBe(withProject.lineCount);
    expect(same(sum(ofProject.lines.map((l) => l.amount)), withProject.amount)).toBe(true);

    const bad = await gql(api.url, '{ costLines(period: "2026-13", first: 1) { totalCount } }', { token: admin });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'period' });
    const badDay = await gql(api.url, '{ costLines(period: "2026-02-30", first: 1) { totalCount } }', { token: admin });
    expect(badDay.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('cost by project, tenant and kind each add up to the period total; Project.cost and Resource.costLines agree', async () => {
    const data = await adminQuery<{
      costByProject: Array<{
        period: string;
        amount: string;
        matchedAmount: string;
        lineCount: number;
        provisional: boolean;
        project: { id: string; cost: string } | null;
      }>;
      costByTenant: Array<{ amount: string; lineCount: number; tenantId: string | null }>;
      costByKind: Array<{ amount: string; lineCount: number; kind: string | null; matchedCount: number }>;
    }>(
      `query($period: String!) {
         costByProject(period: $period) { period amount matchedAmount lineCount provisional project { id cost(period: $period) } }
         costByTenant(period: $period) { amount lineCount tenantId }
         costByKind(period: $period) { amount lineCount kind matchedCount } }`,
      { period },
    );
    const total = await api.pool.query<{ amount: string; n: number }>(
      `SELECT sum(amount)::text AS amount, count(*)::int AS n FROM cloud_cost_lines WHERE period = $1`,
      [period],
    );
    for (const rows of [data.costByProject, data.costByTenant, data.costByKind]) {
      expect(same(sum(rows.map((r) => r.amount)), total.rows[0]!.amount)).toBe(true);
      expect(rows.reduce((n, r) => n + r.lineCount, 0)).toBe(total.rows[0]!.n);
    }
    for (const row of data.costByProject) {
      expect(row.period).toBe(period);
      expect(row.provisional).toBe(false);
    }
    // Every attributed row's Project.cost agrees; at most one row holds the lines attributed to no project.
    const attributed = data.costByProject.filter((row) => row.project !== null);
    expect(attributed.length).toBeGreaterThan(1);
    expect(data.costByProject.length - attributed.length).toBeLessThanOrEqual(1);
    for (const row of attributed) expect(same(row.project!.cost, row.amount), row.project!.id).toBe(true);
    expect(data.costByTenant.map((r) => r.tenantId)).toEqual(expect.arrayContaining(['acme', 'globex', null]));
    expect(data.costByKind.find((r) => r.kind === null)?.matchedCount).toBe(0); // taxes and the like
    expect(data.costByKind.map((r) => r.kind)).toEqual(
      expect.arrayContaining(['droplet', 'snapshot', 'droplet_backup']),
    );

    const droplet = await api.pool.query<{ id: number; n: number; amount: string }>(
      `SELECT r.id, count(*)::int AS n, sum(l.amount)::text AS amount FROM cloud_cost_lines l JOIN cloud_resources r ON r.id = l.resource_id
        WHERE r.kind = 'droplet' GROUP BY r.id ORDER BY count(*) DESC, r.id LIMIT 1`,
    );
    const { id, n } = droplet.rows[0]!;
    const resource = await adminQuery<{ resource: { costLines: Page<{ amount: string; period: string }> } }>(
      'query($id: ID!) { resource(id: $id) { costLines(first: 100) { totalCount edges { node { amount period } } } } }',
      { id: String(id) },
    );
    expect(resource.resource.costLines.totalCount).toBe(n);
    expect(same(sum(resource.resource.costLines.edges.map((e) => e.node.amount)), droplet.rows[0]!.amount)).toBe(true);
    const periods = resource.resource.costLines.edges.map((e) => e.node.period);
    expect(periods).toEqual([...periods].sort().reverse());
  });

  it('costByProject reads its projects in the same statement; fields beyond those load through Prisma, correctly', async () => {
    const period = (await api.pool.query<{ period: string }>(`SELECT max(period) AS period FROM cloud_cost_lines`))
      .rows[0]!.period;
    api.resetStatements();
    const narrow = await adminQuery<{
      costByProject: Array<{ amount: string; project: { id: string; name: string; tenantId: string | null } | null }>;
    }>('query($period: String!) { costByProject(period: $period) { amount project { id name tenantId } } }', {
      period,
    });
    expect(api.statements).toHaveLength(1);
    const named = narrow.costByProject.filter((row) => row.project !== null);
    expect(named.length).toBeGreaterThan(0);
    const projects = await api.pool.query<{ id: number; name: string; tenant_id: string | null; provider_id: string }>(
      `SELECT id, name, tenant_id, provider_id FROM cloud_projects`,
    );
    const byId = new Map(projects.rows.map((p) => [String(p.id), p]));
    for (const row of named) {
      expect(row.project).toEqual({
        id: row.project!.id,
        name: byId.get(row.project!.id)!.name,
        tenantId: byId.get(row.project!.id)!.tenant_id,
      });
    }

    api.resetStatements();
    const wide = await adminQuery<{
      costByProject: Array<{ project: { id: string; providerId: string; resources: { totalCount: number } } | null }>;
    }>(
      'query($period: String!) { costByProject(period: $period) { project { id providerId resources { totalCount } } } }',
      {
        period,
      },
    );
    for (const row of wide.costByProject.filter((r) => r.project !== null)) {
      expect(row.project!.providerId).toBe(byId.get(row.project!.id)!.provider_id);
      const count = await api.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM cloud_resources WHERE cloud_project_id = $1`,
        [Number(row.project!.id)],
      );
      expect(row.project!.resources.totalCount).toBe(count.rows[0]!.n);
    }
  });

  it('REST: GET /api/v1/billing/balance and /api/v1/billing/cost-lines, platform admin only', async () => {
    const get = (path: string, bearer?: string) =>
      fetch(`${rest}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
    const balance = await get('/api/v1/billing/balance', admin);
    expect(balance.status).toBe(200);
    const body = (await balance.json()) as { balance: { monthToDateBalance: string; accountBalance: string } };
    expect(body.balance.monthToDateBalance).toMatch(DECIMAL);
    expect(same(body.balance.accountBalance, sim.billing.balance().account_balance)).toBe(true);

    const lines = await get(`/api/v1/billing/cost-lines?period=${period}-01&kind=droplet&limit=5`, admin);
    expect(lines.status).toBe(200);
    const page = (await lines.json()) as {
      period: string;
      costLines: Array<{ kind: string; amount: string; id: string }>;
      count: number;
      nextCursor: string | null;
    };
    expect(page.period).toBe(period);
    expect(page.count).toBe(5);
    expect(page.costLines.every((l) => l.kind === 'droplet' && DECIMAL.test(l.amount))).toBe(true);
    expect(page.nextCursor).toBe(page.costLines[4]!.id);
    const cursor = page.nextCursor!;
    const next = (await (
      await get(`/api/v1/billing/cost-lines?period=${period}-01&kind=droplet&limit=5&after=${cursor}`, admin)
    ).json()) as { costLines: Array<{ id: string }> };
    expect(Number(next.costLines[0]!.id)).toBeGreaterThan(Number(cursor));

    for (const path of ['/api/v1/billing/balance', `/api/v1/billing/cost-lines?period=${period}-01`]) {
      const forbidden = await get(path, tenant);
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({ error: 'forbidden' });
      expect((await get(path)).status).toBe(401);
    }
    expect((await get('/api/v1/billing/cost-lines', admin)).status).toBe(400);
    expect((await get('/api/v1/billing/cost-lines?period=2026-99-01', admin)).status).toBe(400);
  });

  it('triggerSync runs balance, billing history and one invoice by hand', async () => {
    for (const task of ['balance', 'billing_history', `invoice:${uuids[0]}`]) {
      const { body } = await gql<{ triggerSync: { task: string; jobIds: string[] } }>(
        api.url,
        'mutation($task: String!) { triggerSync(task: $task) { task jobIds } }',
        { token: admin, variables: { task } },
      );
      expect(body.errors, task).toBeUndefined();
      expect(body.data!.triggerSync).toMatchObject({ task, jobIds: [expect.any(String)] });
    }
    const jobs = await api.pool.query(`SELECT task_identifier, key, queue_name FROM graphile_worker.jobs ORDER BY id`);
    expect(jobs.rows).toEqual([
      { task_identifier: 'billing:balance', key: 'billing:balance', queue_name: 'billing:balance' },
      { task_identifier: 'billing:history', key: 'billing:history', queue_name: 'billing:history' },
      { task_identifier: 'billing:invoice', key: `billing:invoice:${uuids[0]}`, queue_name: 'billing:invoices' },
    ]);
    const bad = await gql(api.url, 'mutation { triggerSync(task: "invoice") { jobIds } }', { token: admin });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const runs = await adminQuery<{ syncRuns: Page<{ task: string }> }>(
      '{ syncRuns(task: "invoice", first: 100) { totalCount edges { node { task } } } }',
    );
    expect(runs.syncRuns.totalCount).toBe(uuids.length);
  });
});
