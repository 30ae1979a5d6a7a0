// What a billing month cost per project, tenant and derived kind (costByProject, costByTenant, costByKind) and
// Project.cost, platform admin only. Which project and tenant a line counts for: src/domain/cost-attribution.ts.
import type { ObjectFieldBuilder, ObjectRef } from '@pothos/core';
import { parsePeriod } from '../domain/billing.js';
import {
  costBy,
  type CostRow,
  type KindCostRow,
  type ProjectCostRow,
  type TenantCostRow,
} from '../domain/cost-attribution.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { ProjectRef } from './project.js';

type Types = typeof builder.$inferSchemaTypes;

function costFields<T extends CostRow>(t: ObjectFieldBuilder<Types, T>) {
  return {
    period: t.string({ description: 'Billing month, YYYY-MM.', resolve: (row) => row.period }),
    amount: t.field({
      type: 'Decimal',
      description: 'Sum of the lines (charges, taxes and credits).',
      resolve: (row) => row.amount,
    }),
    lineCount: t.int({ resolve: (row) => row.line_count }),
    matchedAmount: t.field({ type: 'Decimal', resolve: (row) => row.matched_amount }),
    matchedCount: t.int({ resolve: (row) => row.matched_count }),
    provisional: t.boolean({
      description: 'Some of these lines come from the month-to-date preview.',
      resolve: (row) => row.provisional,
    }),
  };
}

const ProjectCost = builder.objectRef<ProjectCostRow>('ProjectCost').implement({
  description: 'What one project cost in a period; project null: lines attributed to no project.',
  fields: (t) => ({
    ...costFields(t),
    // Read with the cost (the columns Project always selects); fields asking for more load it through Prisma.
    project: t.field({ type: ProjectRef, nullable: true, resolve: (row) => row.project }),
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

builder.queryFields((t) => {
  // The three breakdowns differ only in what they group by.
  const breakdown = <T extends CostRow>(
    type: ObjectRef<Types, T>,
    per: string,
    rows: (ctx: GraphQLContext, period: string) => Promise<T[]>,
  ) =>
    t.field({
      type: [type],
      authScopes: { admin: true },
      description: `Cost of a billing month per ${per} (largest first). Platform admin only.`,
      args: { period: t.arg.string({ required: true }) },
      resolve: (_root, args, ctx) => rows(ctx, parsePeriod(args.period)),
    });
  return {
    costByProject: breakdown(ProjectCost, 'project', async (ctx, period) => [
      ...(await ctx.loaders.projectCosts(period)).values(),
    ]),
    costByTenant: breakdown(TenantCost, 'tenant', (ctx, period) => costBy(ctx.pool, period, 'tenant_id')),
    costByKind: breakdown(KindCost, 'derived kind', (ctx, period) => costBy(ctx.pool, period, 'kind')),
  };
});

builder.prismaObjectField(ProjectRef, 'cost', (t) =>
  t.field({
    type: 'Decimal',
    authScopes: { admin: true },
    description:
      'What the project cost in a billing month (lines attributed to it: see costByProject). Platform admin only.',
    args: { period: t.arg.string({ required: true }) },
    select: { id: true },
    resolve: async (project, args, ctx) =>
      (await ctx.loaders.projectCosts(parsePeriod(args.period))).get(project.id)?.amount ?? '0',
  }),
);
