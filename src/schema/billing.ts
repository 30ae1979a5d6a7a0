// Billing, platform admin only: balance snapshots, invoices (with match rate and the reason for every unmatched
// line), cost lines, and cost by project, tenant and kind for a period; Resource.costLines and Project.cost.
//
// Money is the Decimal scalar: a decimal string ("1234.56"), never a Float.
//
// A period is a billing month: "YYYY-MM", or any date of it as "YYYY-MM-DD" (the seed's REST took the first day).
//
// Which project a cost line belongs to: the project of the resource it matched; for a line without a resource (or
// whose resource has no project), the account's project named by the line's project_name when exactly one project
// has that name; otherwise none. Its tenant: the resource's tenant, else that project's tenant. costByProject,
// costByTenant, costLines(projectId) and Project.cost all follow this one rule (LINE_ATTRIBUTION below).
import type { ObjectFieldBuilder } from '@pothos/core';
import { GraphQLError, Kind } from 'graphql';
import type pg from 'pg';
import type { Prisma } from '../generated/prisma/client.js';
import { UNMATCHED_REASONS } from '../jobs/billing/match.js';
import { badInput, builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { parseId, textArg } from './inputs.js';
import { ProjectRef } from './project.js';
import { ResourceRef } from './resource.js';

// ---------------------------------------------------------------------------------------------------------------
// Decimal

const DECIMAL = /^-?\d+(\.\d+)?$/;

function decimalOut(value: unknown): string {
  const text = typeof value === 'string' ? value : value !== null && typeof value === 'object' ? String(value) : undefined;
  if (text === undefined || !DECIMAL.test(text)) throw new GraphQLError(`Decimal cannot represent ${typeof value}`);
  return text;
}

function decimalIn(value: unknown): string {
  if (typeof value !== 'string' || !DECIMAL.test(value.trim())) throw new GraphQLError('Decimal must be a decimal string such as "12.34"');
  return value.trim();
}

builder.scalarType('Decimal', {
  description: 'An exact decimal number as a string, e.g. "1234.56" (money is in USD). Never a float.',
  serialize: decimalOut,
  parseValue: decimalIn,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('Decimal must be a string literal such as "12.34"');
    return decimalIn(ast.value);
  },
});

// ---------------------------------------------------------------------------------------------------------------
// Periods

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])(?:-(\d{2}))?$/;

/** "2026-10" or "2026-10-15" → "2026-10" (the billing month). Throws BAD_USER_INPUT naming the argument. */
export function parsePeriod(value: string, argument = 'period'): string {
  const text = value.trim();
  const match = PERIOD.exec(text);
  if (match?.[3] !== undefined) {
    const day = Number(match[3]);
    const days = new Date(Date.UTC(Number(match[1]), Number(match[2]), 0)).getUTCDate();
    if (day < 1 || day > days) throw badInput(`${argument} "${text.slice(0, 20)}" is not a valid date`, argument);
  }
  if (!match) throw badInput(`${argument} must be a month "YYYY-MM" or a date "YYYY-MM-DD" (got "${text.slice(0, 20)}")`, argument);
  return `${match[1]}-${match[2]}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Balance

export const BalanceSnapshotRef = builder.prismaObject('CloudBalanceSnapshot', {
  name: 'BalanceSnapshot',
  description: 'One poll of the account balance (hourly).',
  fields: (t) => ({
    id: t.exposeID('id'),
    monthToDateBalance: t.expose('monthToDateBalance', { type: 'Decimal', description: 'accountBalance + monthToDateUsage.' }),
    accountBalance: t.expose('accountBalance', { type: 'Decimal', description: 'Balance as of the last invoice.' }),
    monthToDateUsage: t.expose('monthToDateUsage', { type: 'Decimal' }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime', description: 'When DigitalOcean computed the balance.' }),
    polledAt: t.expose('polledAt', { type: 'DateTime' }),
  }),
});

const BalanceSnapshotConnection = builder.connectionObject(
  {
    type: BalanceSnapshotRef,
    name: 'BalanceSnapshotConnection',
    fields: (t) => ({
      totalCount: t.int({
        resolve: (connection) => (typeof connection.totalCount === 'function' ? connection.totalCount() : (connection.totalCount ?? 0)),
      }),
    }),
  },
  { name: 'BalanceSnapshotEdge' },
);

// ---------------------------------------------------------------------------------------------------------------
// Cost lines

const UnmatchedReason = builder.enumType('UnmatchedReason', {
  description: 'Why a cost line has no resource.',
  values: {
    HISTORIC: { value: 'historic', description: 'No resource of that kind and name (deleted before it was ever synced, or a line without a name).' },
    AMBIGUOUS: { value: 'ambiguous', description: 'Several resources could have produced the line; none is guessed.' },
    KIND_NOT_SYNCED: { value: 'kind_not_synced', description: 'The line’s kind is not mirrored (bandwidth, container registry, ...).' },
    TAX: { value: 'tax' },
    CREDIT: { value: 'credit', description: 'A credit, promotion or negative adjustment.' },
    UNKNOWN_PRODUCT: { value: 'unknown_product', description: 'A product cloud-ops does not know.' },
  } as const,
});
type UnmatchedReasonValue = (typeof UNMATCHED_REASONS)[number];

const MatchMethod = builder.enumType('MatchMethod', {
  values: {
    ID: { value: 'id', description: 'The JSON items’ resource uuid/id.' },
    NAME: { value: 'name', description: 'Kind and the name taken from the description.' },
    PARENT: { value: 'parent', description: 'A backup, matched to the droplet it backs up.' },
  } as const,
});

export const CostLineRef = builder.prismaObject('CloudCostLine', {
  name: 'CostLine',
  description: 'One invoice line, with its derived kind, the resource name taken from it, and the resource it matched.',
  fields: (t) => ({
    id: t.exposeID('id'),
    lineNo: t.exposeInt('lineNo', { description: 'Position in its source, 1-based.' }),
    source: t.exposeString('source', { description: 'csv or json: where the line came from.' }),
    period: t.exposeString('period', { description: 'Billing month, YYYY-MM.' }),
    product: t.exposeString('product'),
    groupDescription: t.exposeString('groupDescription', { nullable: true }),
    description: t.exposeString('description'),
    kind: t.exposeString('kind', { nullable: true, description: 'Derived kind (droplet, droplet_backup, snapshot, ...); null for taxes and unknown products.' }),
    resourceName: t.exposeString('resourceName', { nullable: true }),
    resourceUuid: t.exposeString('resourceUuid', { nullable: true }),
    resourceProviderId: t.exposeString('resourceProviderId', { nullable: true }),
    hours: t.expose('hours', { type: 'Decimal', nullable: true }),
    startAt: t.expose('startAt', { type: 'DateTime', nullable: true }),
    endAt: t.expose('endAt', { type: 'DateTime', nullable: true }),
    amount: t.expose('amount', { type: 'Decimal' }),
    projectName: t.exposeString('projectName', { nullable: true, description: 'The project name DigitalOcean printed on the line.' }),
    category: t.exposeString('category', { nullable: true }),
    matched: t.boolean({ select: { resourceId: true }, resolve: (line) => line.resourceId !== null }),
    matchMethod: t.field({
      type: MatchMethod,
      nullable: true,
      select: { matchMethod: true },
      resolve: (line) => (line.matchMethod === 'id' || line.matchMethod === 'name' || line.matchMethod === 'parent' ? line.matchMethod : null),
    }),
    unmatchedReason: t.field({
      type: UnmatchedReason,
      nullable: true,
      select: { unmatchedReason: true },
      resolve: (line) => ((UNMATCHED_REASONS as readonly string[]).includes(line.unmatchedReason ?? '') ? (line.unmatchedReason as UnmatchedReasonValue) : null),
    }),
    resource: t.relation('resource', { nullable: true }),
    invoice: t.relation('invoice'),
  }),
});

const CostLineConnection = builder.connectionObject(
  {
    type: CostLineRef,
    name: 'CostLineConnection',
    fields: (t) => ({
      totalCount: t.int({
        resolve: (connection) => (typeof connection.totalCount === 'function' ? connection.totalCount() : (connection.totalCount ?? 0)),
      }),
    }),
  },
  { name: 'CostLineEdge' },
);

const MAX_KINDS = 50;

interface CostLineFilterArgs {
  kind?: readonly string[] | null;
  matched?: boolean | null;
  unmatchedReason?: UnmatchedReasonValue | null;
}

function costLineFilter(args: CostLineFilterArgs): Prisma.CloudCostLineWhereInput[] {
  const and: Prisma.CloudCostLineWhereInput[] = [];
  if (args.kind != null) {
    if (args.kind.length > MAX_KINDS) throw badInput(`kind may list at most ${MAX_KINDS} values`, 'kind');
    and.push({ kind: { in: args.kind.map((kind) => textArg(kind, 'kind')) } });
  }
  if (args.matched === true) and.push({ resourceId: { not: null } });
  if (args.matched === false) and.push({ resourceId: null });
  if (args.unmatchedReason != null) and.push({ unmatchedReason: args.unmatchedReason });
  return and;
}

/** Cost lines attributed to a project (see the module comment), as a Prisma where. */
async function projectLinesWhere(ctx: GraphQLContext, projectId: number): Promise<Prisma.CloudCostLineWhereInput> {
  const project = await ctx.prisma.cloudProject.findUnique({ where: { id: projectId }, select: { accountId: true, name: true } });
  if (!project) return { id: { in: [] } };
  const namesakes = await ctx.prisma.cloudProject.count({ where: { accountId: project.accountId, name: project.name } });
  const byResource: Prisma.CloudCostLineWhereInput = { resource: { cloudProjectId: projectId } };
  if (namesakes !== 1) return byResource;
  return {
    OR: [
      byResource,
      {
        projectName: project.name,
        invoice: { accountId: project.accountId },
        OR: [{ resourceId: null }, { resource: { cloudProjectId: null } }],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Invoices

const InvoiceIngestStatus = builder.enumType('InvoiceIngestStatus', {
  values: {
    PENDING: { value: 'pending' },
    INGESTING: { value: 'ingesting' },
    INGESTED: { value: 'ingested' },
    FAILED: { value: 'failed', description: 'The last ingest failed (see ingestError); the previous lines, if any, are kept.' },
  } as const,
});
const INGEST_STATUSES = ['pending', 'ingesting', 'ingested', 'failed'] as const;

interface ReasonCount {
  reason: UnmatchedReasonValue;
  count: number;
  amount: string;
}

const UnmatchedReasonCount = builder.objectRef<ReasonCount>('UnmatchedReasonCount').implement({
  description: 'How many lines of an invoice are unmatched for one reason, and their amount.',
  fields: (t) => ({
    reason: t.field({ type: UnmatchedReason, resolve: (row) => row.reason }),
    count: t.exposeInt('count'),
    amount: t.field({ type: 'Decimal', resolve: (row) => row.amount }),
  }),
});

export const InvoiceRef = builder.prismaObject('CloudInvoice', {
  name: 'Invoice',
  description: 'An invoice header with its ingest state and how well its lines matched resources.',
  fields: (t) => ({
    id: t.exposeID('id'),
    invoiceUuid: t.exposeString('invoiceUuid'),
    invoiceId: t.exposeString('invoiceId', { nullable: true }),
    period: t.exposeString('period', { description: 'Billing month, YYYY-MM.' }),
    amount: t.expose('amount', { type: 'Decimal' }),
    provisional: t.exposeBoolean('provisional', { description: 'The month-to-date preview; replaced when the final invoice of its month is ingested.' }),
    providerUpdatedAt: t.expose('providerUpdatedAt', { type: 'DateTime', nullable: true }),
    ingestStatus: t.field({
      type: InvoiceIngestStatus,
      select: { ingestStatus: true },
      resolve: (invoice) => ((INGEST_STATUSES as readonly string[]).includes(invoice.ingestStatus) ? (invoice.ingestStatus as (typeof INGEST_STATUSES)[number]) : 'failed'),
    }),
    csvIngested: t.exposeBoolean('csvIngested', { description: 'The lines come from the CSV.' }),
    itemsIngested: t.exposeBoolean('itemsIngested', { description: 'The JSON items were used (their resource ids, or as the lines when there is no CSV).' }),
    ingestedAt: t.expose('ingestedAt', { type: 'DateTime', nullable: true }),
    ingestAttempts: t.exposeInt('ingestAttempts'),
    ingestError: t.exposeString('ingestError', { nullable: true }),
    lineCount: t.exposeInt('lineCount'),
    matchedCount: t.exposeInt('matchedCount'),
    linesAmount: t.expose('linesAmount', { type: 'Decimal' }),
    matchedAmount: t.expose('matchedAmount', { type: 'Decimal' }),
    matchRate: t.expose('matchRate', { type: 'Decimal', nullable: true, description: 'matchedCount / lineCount (0..1, six decimals); null without lines.' }),
    unmatched: t.field({
      type: [UnmatchedReasonCount],
      description: 'Unmatched lines by reason (from the last successful ingest).',
      select: { summary: true },
      resolve: (invoice) => {
        const byReason = (invoice.summary as { match?: { byReason?: Record<string, { count: number; amount: string }> } } | null)?.match?.byReason ?? {};
        return UNMATCHED_REASONS.filter((reason) => (byReason[reason]?.count ?? 0) > 0).map((reason) => ({
          reason,
          count: byReason[reason]!.count,
          amount: byReason[reason]!.amount,
        }));
      },
    }),
    summary: t.expose('summary', { type: 'JSON', nullable: true, description: 'Invoice totals (no personal data), reconciliation and match details.' }),
    costLines: t.relatedConnection(
      'costLines',
      {
        cursor: 'id',
        totalCount: true,
        description: 'The invoice’s lines, in invoice order.',
        args: {
          kind: t.arg.stringList(),
          matched: t.arg.boolean(),
          unmatchedReason: t.arg({ type: UnmatchedReason }),
        },
        query: (args) => ({ where: { AND: costLineFilter(args) }, orderBy: { id: 'asc' } }),
      },
      CostLineConnection,
    ),
  }),
});

const InvoiceConnection = builder.connectionObject(
  {
    type: InvoiceRef,
    name: 'InvoiceConnection',
    fields: (t) => ({
      totalCount: t.int({
        resolve: (connection) => (typeof connection.totalCount === 'function' ? connection.totalCount() : (connection.totalCount ?? 0)),
      }),
    }),
  },
  { name: 'InvoiceEdge' },
);

function invoiceWhere(args: { period?: string | null; status?: string | null; provisional?: boolean | null }): Prisma.CloudInvoiceWhereInput {
  return {
    ...(args.period != null ? { period: parsePeriod(args.period) } : {}),
    ...(args.status != null ? { ingestStatus: args.status } : {}),
    ...(args.provisional != null ? { provisional: args.provisional } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Cost by project, tenant and kind

/** One row per line of the period with its attributed project and tenant (the module comment's rule). */
const LINE_ATTRIBUTION = `
  SELECT l.amount, l.kind, l.resource_id,
         COALESCE(r.cloud_project_id, named.project_id) AS project_id,
         COALESCE(r.tenant_id, CASE WHEN r.cloud_project_id IS NOT NULL THEN rp.tenant_id ELSE named.tenant_id END) AS tenant_id,
         i.provisional
    FROM cloud_cost_lines l
    JOIN cloud_invoices i ON i.id = l.invoice_id
    LEFT JOIN cloud_resources r ON r.id = l.resource_id
    LEFT JOIN cloud_projects rp ON rp.id = r.cloud_project_id
    LEFT JOIN LATERAL (
      SELECT min(p.id) AS project_id, min(p.tenant_id) AS tenant_id
        FROM cloud_projects p
       WHERE p.account_id = i.account_id AND p.name = l.project_name
      HAVING count(*) = 1
    ) named ON r.cloud_project_id IS NULL AND l.project_name IS NOT NULL
   WHERE l.period = $1`;

interface CostRow {
  amount: string;
  line_count: number;
  matched_amount: string;
  matched_count: number;
  provisional: boolean;
}

const COST_COLUMNS = `
  sum(amount)::text AS amount, count(*)::int AS line_count,
  coalesce(sum(amount) FILTER (WHERE resource_id IS NOT NULL), 0)::text AS matched_amount,
  (count(*) FILTER (WHERE resource_id IS NOT NULL))::int AS matched_count,
  bool_or(provisional) AS provisional`;

interface ProjectCostRow extends CostRow {
  period: string;
  project_id: number | null;
}
interface TenantCostRow extends CostRow {
  period: string;
  tenant_id: string | null;
}
interface KindCostRow extends CostRow {
  period: string;
  kind: string | null;
}

type Types = typeof builder.$inferSchemaTypes;

function costFields<T extends CostRow & { period: string }>(t: ObjectFieldBuilder<Types, T>) {
  return {
    period: t.string({ description: 'Billing month, YYYY-MM.', resolve: (row) => row.period }),
    amount: t.field({ type: 'Decimal', description: 'Sum of the lines (charges, taxes and credits).', resolve: (row) => row.amount }),
    lineCount: t.int({ resolve: (row) => row.line_count }),
    matchedAmount: t.field({ type: 'Decimal', resolve: (row) => row.matched_amount }),
    matchedCount: t.int({ resolve: (row) => row.matched_count }),
    provisional: t.boolean({ description: 'Some of these lines come from the month-to-date preview.', resolve: (row) => row.provisional }),
  };
}

const ProjectCost = builder.objectRef<ProjectCostRow>('ProjectCost').implement({
  description: 'What one project cost in a period; project null: lines attributed to no project.',
  fields: (t) => ({
    ...costFields(t),
    project: t.prismaField({
      type: ProjectRef,
      nullable: true,
      resolve: (query, row, _args, ctx) => (row.project_id === null ? null : ctx.prisma.cloudProject.findUnique({ ...query, where: { id: row.project_id } })),
    }),
  }),
});

const TenantCost = builder.objectRef<TenantCostRow>('TenantCost').implement({
  description: 'What one tenant cost in a period; tenantId null: lines attributed to no tenant.',
  fields: (t) => ({
    ...costFields(t),
    tenantId: t.string({ nullable: true, resolve: (row) => row.tenant_id }),
  }),
});

const KindCost = builder.objectRef<KindCostRow>('KindCost').implement({
  description: 'What one derived kind cost in a period; kind null: taxes and unknown products.',
  fields: (t) => ({
    ...costFields(t),
    kind: t.string({ nullable: true, resolve: (row) => row.kind }),
  }),
});

async function costBy<T>(pool: pg.Pool, period: string, key: 'project_id' | 'tenant_id' | 'kind'): Promise<T[]> {
  const { rows } = await pool.query(
    `SELECT $1::text AS period, ${key}, ${COST_COLUMNS} FROM (${LINE_ATTRIBUTION}) lines GROUP BY ${key} ORDER BY sum(amount) DESC, ${key} NULLS LAST`,
    [period],
  );
  return rows as T[];
}

/** Project costs of a period, computed once per request and period (Project.cost asks for many projects). */
const projectCostCache = new WeakMap<GraphQLContext, Map<string, Promise<Map<number | null, ProjectCostRow>>>>();

function projectCosts(ctx: GraphQLContext, period: string): Promise<Map<number | null, ProjectCostRow>> {
  let byPeriod = projectCostCache.get(ctx);
  if (!byPeriod) projectCostCache.set(ctx, (byPeriod = new Map()));
  let costs = byPeriod.get(period);
  if (!costs) {
    costs = costBy<ProjectCostRow>(ctx.pool, period, 'project_id').then((rows) => new Map(rows.map((row) => [row.project_id, row])));
    byPeriod.set(period, costs);
  }
  return costs;
}

// ---------------------------------------------------------------------------------------------------------------
// Root fields

builder.queryFields((t) => ({
  balance: t.prismaField({
    type: BalanceSnapshotRef,
    nullable: true,
    authScopes: { admin: true },
    description: 'The latest balance snapshot. Platform admin only.',
    resolve: (query, _root, _args, ctx) => ctx.prisma.cloudBalanceSnapshot.findFirst({ ...query, orderBy: [{ polledAt: 'desc' }, { id: 'desc' }] }),
  }),
  balanceHistory: t.prismaConnection(
    {
      type: BalanceSnapshotRef,
      cursor: 'id',
      authScopes: { admin: true },
      description: 'Balance snapshots, newest first. Platform admin only.',
      args: { since: t.arg({ type: 'DateTime', description: 'Only snapshots polled at or after this instant.' }) },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.cloudBalanceSnapshot.findMany({ ...query, where: args.since ? { polledAt: { gte: args.since } } : {}, orderBy: { id: 'desc' } }),
      totalCount: (_connection, args, ctx) => ctx.prisma.cloudBalanceSnapshot.count({ where: args.since ? { polledAt: { gte: args.since } } : {} }),
    },
    BalanceSnapshotConnection,
  ),
  invoices: t.prismaConnection(
    {
      type: InvoiceRef,
      cursor: 'id',
      authScopes: { admin: true },
      description: 'Invoices, newest period first, with ingest status and match rate. Platform admin only.',
      args: {
        period: t.arg.string({ description: '"YYYY-MM" or a date of that month.' }),
        status: t.arg({ type: InvoiceIngestStatus }),
        provisional: t.arg.boolean(),
      },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.cloudInvoice.findMany({ ...query, where: invoiceWhere(args), orderBy: [{ period: 'desc' }, { id: 'desc' }] }),
      totalCount: (_connection, args, ctx) => ctx.prisma.cloudInvoice.count({ where: invoiceWhere(args) }),
    },
    InvoiceConnection,
  ),
  invoice: t.prismaField({
    type: InvoiceRef,
    nullable: true,
    authScopes: { admin: true },
    description: 'One invoice by its DigitalOcean uuid. Platform admin only.',
    args: { uuid: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.cloudInvoice.findFirst({ ...query, where: { invoiceUuid: textArg(args.uuid, 'uuid') }, orderBy: { id: 'asc' } }),
  }),
  costLines: t.prismaConnection(
    {
      type: CostLineRef,
      cursor: 'id',
      authScopes: { admin: true },
      description: 'Cost lines of a billing month, filtered, in invoice order. Platform admin only.',
      args: {
        period: t.arg.string({ required: true, description: '"YYYY-MM", or a date "YYYY-MM-DD" of that month.' }),
        kind: t.arg.stringList({ description: 'Any of these derived kinds.' }),
        projectId: t.arg.id({ description: 'Lines attributed to this project.' }),
        matched: t.arg.boolean(),
        unmatchedReason: t.arg({ type: UnmatchedReason }),
      },
      resolve: async (query, _root, args, ctx) =>
        ctx.prisma.cloudCostLine.findMany({ ...query, where: await costLinesWhere(ctx, args), orderBy: { id: 'asc' } }),
      totalCount: async (_connection, args, ctx) => ctx.prisma.cloudCostLine.count({ where: await costLinesWhere(ctx, args) }),
    },
    CostLineConnection,
  ),
  costByProject: t.field({
    type: [ProjectCost],
    authScopes: { admin: true },
    description: 'Cost of a billing month per project (largest first). Platform admin only.',
    args: { period: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => [...(await projectCosts(ctx, parsePeriod(args.period))).values()],
  }),
  costByTenant: t.field({
    type: [TenantCost],
    authScopes: { admin: true },
    description: 'Cost of a billing month per tenant (largest first). Platform admin only.',
    args: { period: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => costBy<TenantCostRow>(ctx.pool, parsePeriod(args.period), 'tenant_id'),
  }),
  costByKind: t.field({
    type: [KindCost],
    authScopes: { admin: true },
    description: 'Cost of a billing month per derived kind (largest first). Platform admin only.',
    args: { period: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => costBy<KindCostRow>(ctx.pool, parsePeriod(args.period), 'kind'),
  }),
}));

async function costLinesWhere(
  ctx: GraphQLContext,
  args: CostLineFilterArgs & { period: string; projectId?: string | number | null },
): Promise<Prisma.CloudCostLineWhereInput> {
  const and: Prisma.CloudCostLineWhereInput[] = [{ period: parsePeriod(args.period) }, ...costLineFilter(args)];
  if (args.projectId != null) and.push(await projectLinesWhere(ctx, parseId(args.projectId, 'projectId')));
  return { AND: and };
}

// ---------------------------------------------------------------------------------------------------------------
// On the inventory types (admin only)

builder.prismaObjectField(ResourceRef, 'costLines', (t) =>
  t.relatedConnection(
    'costLines',
    {
      cursor: 'id',
      totalCount: true,
      authScopes: { admin: true },
      description: 'Invoice lines matched to this resource, newest first. Platform admin only.',
      args: { period: t.arg.string({ description: '"YYYY-MM" or a date of that month.' }) },
      query: (args) => ({ where: args.period != null ? { period: parsePeriod(args.period) } : {}, orderBy: { id: 'desc' } }),
    },
    CostLineConnection,
  ),
);

builder.prismaObjectField(ProjectRef, 'cost', (t) =>
  t.field({
    type: 'Decimal',
    authScopes: { admin: true },
    description: 'What the project cost in a billing month (lines attributed to it: see costByProject). Platform admin only.',
    args: { period: t.arg.string({ required: true }) },
    select: { id: true },
    resolve: async (project, args, ctx) => (await projectCosts(ctx, parsePeriod(args.period))).get(project.id)?.amount ?? '0',
  }),
);
