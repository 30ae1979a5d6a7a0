// BalanceSnapshot: the hourly polls of the account balance, and the balance/balanceHistory queries
// (platform admin only).
import { LATEST_BALANCE_FIRST } from '../domain/billing.js';
import { builder } from './builder.js';
import { countedConnection } from './connection.js';

const BalanceSnapshotRef = builder.prismaObject('CloudBalanceSnapshot', {
  name: 'BalanceSnapshot',
  description: 'One poll of the account balance (hourly).',
  fields: (t) => ({
    id: t.exposeID('id'),
    monthToDateBalance: t.expose('monthToDateBalance', {
      type: 'Decimal',
      description: 'accountBalance + monthToDateUsage.',
    }),
    accountBalance: t.expose('accountBalance', { type: 'Decimal', description: 'Balance as of the last invoice.' }),
    monthToDateUsage: t.expose('monthToDateUsage', { type: 'Decimal' }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime', description: 'When DigitalOcean computed the balance.' }),
    polledAt: t.expose('polledAt', { type: 'DateTime' }),
  }),
});

const BalanceSnapshotConnection = countedConnection(BalanceSnapshotRef, 'BalanceSnapshot');

builder.queryFields((t) => ({
  balance: t.prismaField({
    type: BalanceSnapshotRef,
    nullable: true,
    authScopes: { admin: true },
    description: 'The latest balance snapshot. Platform admin only.',
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.cloudBalanceSnapshot.findFirst({ ...query, orderBy: LATEST_BALANCE_FIRST }),
  }),
  balanceHistory: t.prismaConnection(
    {
      type: BalanceSnapshotRef,
      cursor: 'id',
      authScopes: { admin: true },
      description: 'Balance snapshots, newest first. Platform admin only.',
      args: { since: t.arg({ type: 'DateTime', description: 'Only snapshots polled at or after this instant.' }) },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.cloudBalanceSnapshot.findMany({
          ...query,
          where: args.since ? { polledAt: { gte: args.since } } : {},
          orderBy: { id: 'desc' },
        }),
      totalCount: (_connection, args, ctx) =>
        ctx.prisma.cloudBalanceSnapshot.count({ where: args.since ? { polledAt: { gte: args.since } } : {} }),
    },
    BalanceSnapshotConnection,
  ),
}));
