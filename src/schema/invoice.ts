// Invoice: an invoice header with its ingest state, match rate and unmatched lines by reason; the invoices and
// invoice queries (platform admin only).
import {
  costLineWhere,
  invoiceWhere,
  UNMATCHED_REASONS,
  type UnmatchedReason as UnmatchedReasonValue,
} from '../domain/billing.js';
import { textArg } from '../domain/arguments.js';
import { builder } from './builder.js';
import { countedConnection } from './connection.js';
import { CostLineConnection, UnmatchedReason } from './cost-line.js';

const InvoiceIngestStatus = builder.enumType('InvoiceIngestStatus', {
  values: {
    PENDING: { value: 'pending' },
    INGESTING: { value: 'ingesting' },
    INGESTED: { value: 'ingested' },
    FAILED: {
      value: 'failed',
      description: 'The last ingest failed (see ingestError); the previous lines, if any, are kept.',
    },
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

const InvoiceRef = builder.prismaObject('CloudInvoice', {
  name: 'Invoice',
  description: 'An invoice header with its ingest state and how well its lines matched resources.',
  // Select mode: the summary JSON (kilobytes per invoice) and the other columns are read only when asked for.
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    invoiceUuid: t.exposeString('invoiceUuid'),
    invoiceId: t.exposeString('invoiceId', { nullable: true }),
    period: t.exposeString('period', { description: 'Billing month, YYYY-MM.' }),
    amount: t.expose('amount', { type: 'Decimal' }),
    provisional: t.exposeBoolean('provisional', {
      description: 'The month-to-date preview; replaced when the final invoice of its month is ingested.',
    }),
    providerUpdatedAt: t.expose('providerUpdatedAt', { type: 'DateTime', nullable: true }),
    ingestStatus: t.field({
      type: InvoiceIngestStatus,
      select: { ingestStatus: true },
      resolve: (invoice) =>
        (INGEST_STATUSES as readonly string[]).includes(invoice.ingestStatus)
          ? (invoice.ingestStatus as (typeof INGEST_STATUSES)[number])
          : 'failed',
    }),
    csvIngested: t.exposeBoolean('csvIngested', { description: 'The lines come from the CSV.' }),
    itemsIngested: t.exposeBoolean('itemsIngested', {
      description: 'The JSON items were used (their resource ids, or as the lines when there is no CSV).',
    }),
    ingestedAt: t.expose('ingestedAt', { type: 'DateTime', nullable: true }),
    ingestAttempts: t.exposeInt('ingestAttempts'),
    ingestError: t.exposeString('ingestError', { nullable: true }),
    lineCount: t.exposeInt('lineCount'),
    matchedCount: t.exposeInt('matchedCount'),
    linesAmount: t.expose('linesAmount', { type: 'Decimal' }),
    matchedAmount: t.expose('matchedAmount', { type: 'Decimal' }),
    matchRate: t.expose('matchRate', {
      type: 'Decimal',
      nullable: true,
      description: 'matchedCount / lineCount (0..1, six decimals); null without lines.',
    }),
    unmatched: t.field({
      type: [UnmatchedReasonCount],
      description: 'Unmatched lines by reason (from the last successful ingest).',
      select: { summary: true },
      resolve: (invoice) => {
        const byReason =
          (invoice.summary as { match?: { byReason?: Record<string, { count: number; amount: string }> } } | null)
            ?.match?.byReason ?? {};
        return UNMATCHED_REASONS.filter((reason) => (byReason[reason]?.count ?? 0) > 0).map((reason) => ({
          reason,
          count: byReason[reason]!.count,
          amount: byReason[reason]!.amount,
        }));
      },
    }),
    summary: t.expose('summary', {
      type: 'JSON',
      nullable: true,
      description: 'Invoice totals (no personal data), reconciliation and match details.',
    }),
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
        query: (args) => ({ where: { AND: costLineWhere(args) }, orderBy: { id: 'asc' } }),
      },
      CostLineConnection,
    ),
  }),
});

const InvoiceConnection = countedConnection(InvoiceRef, 'Invoice');

builder.queryFields((t) => ({
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
        ctx.prisma.cloudInvoice.findMany({
          ...query,
          where: invoiceWhere(args),
          orderBy: [{ period: 'desc' }, { id: 'desc' }],
        }),
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
      ctx.prisma.cloudInvoice.findFirst({
        ...query,
        where: { invoiceUuid: textArg(args.uuid, 'uuid') },
        orderBy: { id: 'asc' },
      }),
  }),
}));
