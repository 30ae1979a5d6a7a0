// CostLine: one invoice line with its derived kind, extracted name and matched resource; the costLines query
// and Resource.costLines (platform admin only).
import {
  parsePeriod,
  periodLinesWhere,
  UNMATCHED_REASONS,
  type UnmatchedReason as UnmatchedReasonValue,
} from '../domain/billing.js';
import { builder } from './builder.js';
import { countedConnection } from './connection.js';
import { ResourceRef } from './resource.js';

export const UnmatchedReason = builder.enumType('UnmatchedReason', {
  description: 'Why a cost line has no resource.',
  values: {
    HISTORIC: {
      value: 'historic',
      description: 'No resource of that kind and name (deleted before it was ever synced, or a line without a name).',
    },
    AMBIGUOUS: { value: 'ambiguous', description: 'Several resources could have produced the line; none is guessed.' },
    KIND_NOT_SYNCED: {
      value: 'kind_not_synced',
      description: 'The line’s kind is not mirrored (bandwidth, container registry, functions, NFS, ...).',
    },
    TAX: { value: 'tax' },
    CREDIT: { value: 'credit', description: 'A credit, promotion or negative adjustment.' },
    UNKNOWN_PRODUCT: { value: 'unknown_product', description: 'A product cloud-ops does not know.' },
    ACCOUNT_LEVEL: {
      value: 'account_level',
      description: 'A charge of the account as a whole (the Spaces subscription), never of one resource.',
    },
  } as const satisfies Record<string, { value: UnmatchedReasonValue; description?: string }>,
});

const MatchMethod = builder.enumType('MatchMethod', {
  values: {
    ID: { value: 'id', description: 'The JSON items’ resource uuid/id.' },
    NAME: { value: 'name', description: 'Kind and the name taken from the description.' },
    PARENT: { value: 'parent', description: 'A backup, matched to the droplet it backs up.' },
  } as const,
});

const CostLineRef = builder.prismaObject('CloudCostLine', {
  name: 'CostLine',
  description: 'One invoice line, with its derived kind, the resource name taken from it, and the resource it matched.',
  // Select mode: a line reads the columns a page of lines shows (their fields resolve without plugin-prisma's
  // per-row check), the others only when asked for (each exposed field selects its own), and its resource only when
  // asked: on a page of 100 lines, Prisma's mapping of unread columns was most of the cost.
  select: {
    id: true,
    lineNo: true,
    product: true,
    description: true,
    kind: true,
    resourceName: true,
    hours: true,
    amount: true,
    projectName: true,
    resourceId: true,
    unmatchedReason: true,
  },
  fields: (t) => ({
    id: t.id({ resolve: (line) => line.id }),
    lineNo: t.int({ description: 'Position in its source, 1-based.', resolve: (line) => line.lineNo }),
    source: t.exposeString('source', { description: 'csv or json: where the line came from.' }),
    period: t.exposeString('period', { description: 'Billing month, YYYY-MM.' }),
    product: t.string({ resolve: (line) => line.product }),
    groupDescription: t.exposeString('groupDescription', { nullable: true }),
    description: t.string({ resolve: (line) => line.description }),
    kind: t.string({
      nullable: true,
      description: 'Derived kind (droplet, droplet_backup, snapshot, ...); null for taxes and unknown products.',
      resolve: (line) => line.kind,
    }),
    resourceName: t.string({ nullable: true, resolve: (line) => line.resourceName }),
    resourceUuid: t.exposeString('resourceUuid', { nullable: true }),
    resourceProviderId: t.exposeString('resourceProviderId', { nullable: true }),
    hours: t.field({ type: 'Decimal', nullable: true, resolve: (line) => line.hours }),
    startAt: t.expose('startAt', { type: 'DateTime', nullable: true }),
    endAt: t.expose('endAt', { type: 'DateTime', nullable: true }),
    amount: t.field({ type: 'Decimal', resolve: (line) => line.amount }),
    projectName: t.string({
      nullable: true,
      description: 'The project name DigitalOcean printed on the line.',
      resolve: (line) => line.projectName,
    }),
    category: t.exposeString('category', { nullable: true }),
    matched: t.boolean({ resolve: (line) => line.resourceId !== null }),
    matchMethod: t.field({
      type: MatchMethod,
      nullable: true,
      select: { matchMethod: true },
      resolve: (line) =>
        line.matchMethod === 'id' || line.matchMethod === 'name' || line.matchMethod === 'parent'
          ? line.matchMethod
          : null,
    }),
    unmatchedReason: t.field({
      type: UnmatchedReason,
      nullable: true,
      resolve: (line) =>
        (UNMATCHED_REASONS as readonly string[]).includes(line.unmatchedReason ?? '')
          ? (line.unmatchedReason as UnmatchedReasonValue)
          : null,
    }),
    resource: t.relation('resource', { nullable: true }),
    invoice: t.relation('invoice'),
  }),
});

export const CostLineConnection = countedConnection(CostLineRef, 'CostLine');

builder.queryFields((t) => ({
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
        ctx.prisma.cloudCostLine.findMany({
          ...query,
          where: await periodLinesWhere(ctx.prisma, args),
          orderBy: { id: 'asc' },
        }),
      totalCount: async (_connection, args, ctx) =>
        ctx.prisma.cloudCostLine.count({ where: await periodLinesWhere(ctx.prisma, args) }),
    },
    CostLineConnection,
  ),
}));

builder.prismaObjectField(ResourceRef, 'costLines', (t) =>
  t.relatedConnection(
    'costLines',
    {
      cursor: 'id',
      totalCount: true,
      authScopes: { admin: true },
      description: 'Invoice lines matched to this resource, newest first. Platform admin only.',
      args: { period: t.arg.string({ description: '"YYYY-MM" or a date of that month.' }) },
      query: (args) => ({
        where: args.period != null ? { period: parsePeriod(args.period) } : {},
        orderBy: { id: 'desc' },
      }),
    },
    CostLineConnection,
  ),
);
