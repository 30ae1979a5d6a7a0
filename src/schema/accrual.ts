// Live accrual (platform admin only): the accrual query, Resource.accrual and Project.accrual. Money by day, project,
// tenant, kind and resource from the billing-insight points (src/domain/accrual.ts), month-end forecasts, movers, and
// the comparison with the balance and the month's invoice.
import type { ObjectFieldBuilder } from '@pothos/core';
import {
  accrualByDay,
  accrualByResource,
  dayBefore,
  dayCosts,
  DEFAULT_MOVER_MIN_CHANGE,
  DEFAULT_MOVER_RATIO,
  FORECAST_WINDOW_DAYS,
  findMovers,
  forecastMonth,
  lastObservedDay,
  monthBalance,
  monthDays,
  monthInvoice,
  monthOf,
  resourceDays,
  subtract,
  sumAmounts,
  type AccrualGroup,
  type Forecast,
  type GroupDayRow,
  type ResourceMove,
  type SkuChange,
} from '../domain/accrual.js';
import { parsePeriod, type UnmatchedReason as UnmatchedReasonValue } from '../domain/billing.js';
import { InvalidArgumentError } from '../domain/errors.js';
import { badInput, builder, MAX_PAGE_SIZE } from './builder.js';
import type { GraphQLContext } from './context.js';
import { UnmatchedReason } from './cost-line.js';
import { ProjectRef } from './project.js';
import { ResourceRef } from './resource.js';

type Types = typeof builder.$inferSchemaTypes;

const ADMIN = { admin: true } as const;
const FORECAST_DESCRIPTION = `Month-end forecast by run rate (method "run_rate"): monthToDate + dailyRate × daysRemaining, where dailyRate is the mean cost of the last windowDays observed days (${FORECAST_WINDOW_DAYS}, fewer early in the month; a day without points counts as zero) up to lastObservedDay, the last day the account has points for. Points are DigitalOcean's nightly estimates, so today is never observed.`;

const ForecastType = builder.objectRef<Forecast>('AccrualForecast').implement({
  description: FORECAST_DESCRIPTION,
  fields: (t) => ({
    method: t.exposeString('method', { description: 'run_rate: the inputs below, nothing else.' }),
    monthToDate: t.expose('monthToDate', { type: 'Decimal' }),
    lastObservedDay: t.exposeString('lastObservedDay', { nullable: true }),
    daysObserved: t.exposeInt('daysObserved', { description: 'Days of the month up to lastObservedDay.' }),
    windowDays: t.exposeInt('windowDays', { description: 'Days the daily rate averages.' }),
    dailyRate: t.expose('dailyRate', { type: 'Decimal' }),
    daysRemaining: t.exposeInt('daysRemaining'),
    forecast: t.expose('forecast', { type: 'Decimal', description: 'monthToDate + dailyRate × daysRemaining.' }),
  }),
});

interface DayRow {
  day: string;
  amount: string;
  matchedAmount: string;
  pointCount: number;
}

const AccrualDay = builder.objectRef<DayRow>('AccrualDay').implement({
  description: 'What one day cost (the nightly estimate).',
  fields: (t) => ({
    day: t.exposeString('day', { description: 'YYYY-MM-DD (UTC).' }),
    amount: t.expose('amount', { type: 'Decimal' }),
    matchedAmount: t.expose('matchedAmount', { type: 'Decimal', description: 'The part matched to a resource.' }),
    pointCount: t.exposeInt('pointCount'),
  }),
});

/** One group's (a project's, a tenant's, a kind's) month: its days, total and forecast. */
interface GroupAccrual {
  key: string | number | null;
  amount: string;
  matchedAmount: string;
  days: DayRow[];
  forecast: Forecast;
}

function groupFields<T extends GroupAccrual>(t: ObjectFieldBuilder<Types, T>) {
  return {
    amount: t.field({ type: 'Decimal', description: 'Month to date.', resolve: (g) => g.amount }),
    matchedAmount: t.field({ type: 'Decimal', resolve: (g) => g.matchedAmount }),
    byDay: t.field({ type: [AccrualDay], resolve: (g) => g.days }),
    forecast: t.field({ type: ForecastType, resolve: (g) => g.forecast }),
  };
}

const ProjectAccrual = builder.objectRef<GroupAccrual>('ProjectAccrual').implement({
  description: "A project's accrual; project null: points matched to no resource, or to one in no project.",
  fields: (t) => ({
    ...groupFields(t),
    project: t.prismaField({
      type: ProjectRef,
      nullable: true,
      resolve: (query, g, _args, ctx) =>
        g.key === null ? null : ctx.prisma.cloudProject.findUnique({ ...query, where: { id: Number(g.key) } }),
    }),
  }),
});

const TenantAccrual = builder.objectRef<GroupAccrual>('TenantAccrual').implement({
  description: "A tenant's accrual; tenantId null: points attributed to no tenant.",
  fields: (t) => ({
    ...groupFields(t),
    tenantId: t.string({ nullable: true, resolve: (g) => (g.key === null ? null : String(g.key)) }),
  }),
});

const UnmatchedAccrual = builder.objectRef<GroupAccrual>('UnmatchedAccrual').implement({
  description: 'The points matched to no resource, for one reason (as for invoice lines).',
  fields: (t) => ({
    ...groupFields(t),
    reason: t.field({ type: UnmatchedReason, resolve: (g) => g.key as UnmatchedReasonValue }),
  }),
});

const KindAccrual = builder.objectRef<GroupAccrual>('KindAccrual').implement({
  description:
    'Accrual per derived kind (from the SKU and description, as for invoice lines); kind null: unknown SKUs.',
  fields: (t) => ({
    ...groupFields(t),
    kind: t.string({ nullable: true, resolve: (g) => (g.key === null ? null : String(g.key)) }),
  }),
});

interface ResourceRow {
  resourceId: number | null;
  kind: string | null;
  resourceName: string | null;
  amount: string;
  pointCount: number;
  days: number;
}

function resourceField<T extends { resourceId: number | null }>(t: ObjectFieldBuilder<Types, T>) {
  return t.prismaField({
    type: ResourceRef,
    nullable: true,
    description: 'The matched resource; null when the points matched none (see kind and resourceName).',
    resolve: (query, row, _args, ctx) =>
      row.resourceId === null ? null : ctx.prisma.cloudResource.findUnique({ ...query, where: { id: row.resourceId } }),
  });
}

const ResourceAccrual = builder.objectRef<ResourceRow>('ResourceAccrual').implement({
  description: "One resource's month to date (unmatched points: per kind and name).",
  fields: (t) => ({
    resource: resourceField(t),
    kind: t.exposeString('kind', { nullable: true }),
    resourceName: t.exposeString('resourceName', { nullable: true }),
    amount: t.expose('amount', { type: 'Decimal' }),
    pointCount: t.exposeInt('pointCount'),
    days: t.exposeInt('days', { description: 'Days with points.' }),
  }),
});

const ResourceMoveType = builder.objectRef<ResourceMove>('AccrualResourceMove').implement({
  description: 'A resource whose daily cost moved by more than the threshold from the day before.',
  fields: (t) => ({
    resource: resourceField(t),
    kind: t.exposeString('kind', { nullable: true }),
    resourceName: t.exposeString('resourceName', { nullable: true }),
    previousAmount: t.expose('previousAmount', { type: 'Decimal' }),
    amount: t.expose('amount', { type: 'Decimal' }),
    change: t.expose('change', { type: 'Decimal' }),
    ratio: t.exposeFloat('ratio', {
      nullable: true,
      description: 'change / previousAmount; null when it cost nothing the day before.',
    }),
  }),
});

const SkuChangeType = builder.objectRef<SkuChange>('AccrualSkuChange').implement({
  description: 'A SKU of a resource billed on one of the two days only.',
  fields: (t) => ({
    sku: t.exposeString('sku'),
    description: t.exposeString('description'),
    resource: resourceField(t),
    kind: t.exposeString('kind', { nullable: true }),
    resourceName: t.exposeString('resourceName', { nullable: true }),
    amount: t.expose('amount', { type: 'Decimal', description: "That day's amount." }),
  }),
});

interface MoversRow {
  day: string | null;
  previousDay: string | null;
  ratio: number;
  minChange: string;
  resources: ResourceMove[];
  newSkus: SkuChange[];
  vanishedSkus: SkuChange[];
}

const MoversType = builder.objectRef<MoversRow>('AccrualMovers').implement({
  description: 'What changed from previousDay to day.',
  fields: (t) => ({
    day: t.exposeString('day', { nullable: true }),
    previousDay: t.exposeString('previousDay', { nullable: true }),
    ratio: t.exposeFloat('ratio', { description: 'The relative threshold used.' }),
    minChange: t.expose('minChange', { type: 'Decimal', description: 'The absolute threshold used.' }),
    resources: t.field({ type: [ResourceMoveType], description: 'Largest change first.', resolve: (m) => m.resources }),
    newSkus: t.field({ type: [SkuChangeType], resolve: (m) => m.newSkus }),
    vanishedSkus: t.field({ type: [SkuChangeType], resolve: (m) => m.vanishedSkus }),
  }),
});

interface BalanceComparison {
  monthToDateUsage: string;
  generatedAt: Date;
  accrual: string;
  difference: string;
  forecast: string;
}

const BalanceComparisonType = builder.objectRef<BalanceComparison>('AccrualBalanceComparison').implement({
  description:
    "The month's accrual and forecast beside the latest balance of the month. The balance counts up to its generatedAt, taxes included; the points up to the last observed day: the difference is reported as it is.",
  fields: (t) => ({
    monthToDateUsage: t.expose('monthToDateUsage', { type: 'Decimal' }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime' }),
    accrual: t.expose('accrual', { type: 'Decimal', description: 'Month to date from the points.' }),
    difference: t.expose('difference', { type: 'Decimal', description: 'monthToDateUsage − accrual.' }),
    forecast: t.expose('forecast', { type: 'Decimal', description: "The account's month-end forecast." }),
  }),
});

interface InvoiceReconciliation {
  invoiceUuid: string;
  provisional: boolean;
  invoiceAmount: string;
  chargesAmount: string;
  taxesAndCredits: string;
  accrual: string;
  difference: string;
  chargesDifference: string;
}

const InvoiceReconciliationType = builder.objectRef<InvoiceReconciliation>('AccrualInvoiceReconciliation').implement({
  description:
    "The month's accrual against its ingested invoice (the final one, else the preview). The nightly estimates leave out taxes and credits, so chargesDifference is the one expected near zero; neither is hidden.",
  fields: (t) => ({
    invoiceUuid: t.exposeString('invoiceUuid'),
    provisional: t.exposeBoolean('provisional'),
    invoiceAmount: t.expose('invoiceAmount', { type: 'Decimal' }),
    chargesAmount: t.expose('chargesAmount', {
      type: 'Decimal',
      description: 'The invoice lines but taxes and credits.',
    }),
    taxesAndCredits: t.expose('taxesAndCredits', { type: 'Decimal' }),
    accrual: t.expose('accrual', { type: 'Decimal' }),
    difference: t.expose('difference', { type: 'Decimal', description: 'invoiceAmount − accrual.' }),
    chargesDifference: t.expose('chargesDifference', { type: 'Decimal', description: 'chargesAmount − accrual.' }),
  }),
});

// ---------------------------------------------------------------------------------------------------------------
// The month

/** One month's reads, each made once per request however many fields ask. */
class MonthAccrual {
  private readonly cache = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ctx: GraphQLContext,
    readonly month: string,
  ) {}

  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let hit = this.cache.get(key) as Promise<T> | undefined;
    if (!hit) {
      hit = load();
      this.cache.set(key, hit);
    }
    return hit;
  }

  private get accountId(): string {
    return this.ctx.config.digitalocean.accountId;
  }

  lastDay(): Promise<string | null> {
    return this.once('last', () => lastObservedDay(this.ctx.pool, this.accountId, this.month));
  }

  groups(group: AccrualGroup | null): Promise<GroupAccrual[]> {
    return this.once(`group:${group}`, async () => {
      const [rows, last] = await Promise.all([
        accrualByDay(this.ctx.pool, this.accountId, this.month, group),
        this.lastDay(),
      ]);
      return groupsOf(this.month, rows, last, group === null);
    });
  }

  async total(): Promise<GroupAccrual> {
    const [account] = await this.groups(null);
    return account!;
  }

  resources(limit: number): Promise<ResourceRow[]> {
    return this.once(`resources:${limit}`, async () =>
      (await accrualByResource(this.ctx.pool, this.accountId, this.month, limit)).map((r) => ({
        resourceId: r.resource_id,
        kind: r.kind,
        resourceName: r.resource_name,
        amount: r.amount,
        pointCount: r.point_count,
        days: r.days,
      })),
    );
  }
}

function groupsOf(month: string, rows: readonly GroupDayRow[], last: string | null, whole: boolean): GroupAccrual[] {
  const byKey = new Map<string | number | null, DayRow[]>();
  if (whole) byKey.set(null, []);
  for (const row of rows) {
    const list = byKey.get(row.key) ?? [];
    list.push({ day: row.day, amount: row.amount, matchedAmount: row.matched_amount, pointCount: row.point_count });
    byKey.set(row.key, list);
  }
  const groups = [...byKey].map(([key, days]) => ({
    key,
    amount: sumAmounts(days.map((d) => d.amount)),
    matchedAmount: sumAmounts(days.map((d) => d.matchedAmount)),
    days,
    forecast: forecastMonth(month, days, last),
  }));
  return groups.sort((a, b) => Number(subtract(b.amount, a.amount)) || String(a.key).localeCompare(String(b.key)));
}

interface AccrualRoot {
  data: MonthAccrual;
}

function monthArgument(value: string | null | undefined): string {
  if (value === null || value === undefined) return monthOf(new Date());
  return parsePeriod(value, 'month');
}

function dayArgument(value: string, month: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))
    throw new InvalidArgumentError(`day must be a date YYYY-MM-DD (got "${value.slice(0, 20)}")`, 'day');
  const { first, last } = monthDays(month);
  if (value < first || value > last) throw new InvalidArgumentError(`day ${value} is not in ${month}`, 'day');
  return value;
}

const AccrualType = builder.objectRef<AccrualRoot>('Accrual').implement({
  description:
    "A month's live accrual from DigitalOcean's billing insights (nightly estimates per invoice item and day, refreshed daily by billing:insights). By day, project, tenant and kind it reads the daily rollups; by resource, the month's points.",
  fields: (t) => ({
    month: t.string({ description: 'YYYY-MM.', resolve: (a) => a.data.month }),
    monthToDate: t.field({
      type: 'Decimal',
      description: 'Every point of the month so far.',
      resolve: async (a) => (await a.data.total()).amount,
    }),
    matchedAmount: t.field({ type: 'Decimal', resolve: async (a) => (await a.data.total()).matchedAmount }),
    lastObservedDay: t.string({ nullable: true, resolve: (a) => a.data.lastDay() }),
    byDay: t.field({ type: [AccrualDay], resolve: async (a) => (await a.data.total()).days }),
    byProject: t.field({
      type: [ProjectAccrual],
      description: 'Largest first.',
      resolve: (a) => a.data.groups('project_id'),
    }),
    byTenant: t.field({
      type: [TenantAccrual],
      description: 'Largest first.',
      resolve: (a) => a.data.groups('tenant_id'),
    }),
    unmatched: t.field({
      type: [UnmatchedAccrual],
      description: 'What matched no resource, per reason, largest first (from the rollups).',
      resolve: async (a) => (await a.data.groups('unmatched_reason')).filter((g) => g.key !== null),
    }),
    byKind: t.field({ type: [KindAccrual], description: 'Largest first.', resolve: (a) => a.data.groups('kind') }),
    byResource: t.field({
      type: [ResourceAccrual],
      description: `The most expensive resources of the month, largest first (first ≤ ${MAX_PAGE_SIZE}).`,
      args: { first: t.arg.int({ defaultValue: 20 }) },
      resolve: (a, args) => {
        const first = args.first ?? 20;
        if (first < 1 || first > MAX_PAGE_SIZE) throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, 'first');
        return a.data.resources(first);
      },
    }),
    forecast: t.field({
      type: ForecastType,
      description: `The whole account. ${FORECAST_DESCRIPTION}`,
      resolve: async (a) => (await a.data.total()).forecast,
    }),
    movers: t.field({
      type: MoversType,
      description:
        'Resources whose daily cost changed from the day before by more than ratio of it and by at least minChange, and SKUs billed on one of the two days only. day: default the last observed day.',
      args: {
        day: t.arg.string({ required: false }),
        ratio: t.arg.float({ defaultValue: DEFAULT_MOVER_RATIO }),
        minChange: t.arg({ type: 'Decimal', defaultValue: DEFAULT_MOVER_MIN_CHANGE }),
      },
      resolve: async (a, args, ctx) => {
        const ratio = args.ratio ?? DEFAULT_MOVER_RATIO;
        if (!(ratio >= 0)) throw badInput('ratio must be 0 or more', 'ratio');
        const minChange = args.minChange ?? DEFAULT_MOVER_MIN_CHANGE;
        const day = args.day ? dayArgument(args.day, a.data.month) : await a.data.lastDay();
        if (day === null)
          return { day, previousDay: null, ratio, minChange, resources: [], newSkus: [], vanishedSkus: [] };
        const previousDay = dayBefore(day);
        const accountId = ctx.config.digitalocean.accountId;
        const [before, after] = await Promise.all([
          dayCosts(ctx.pool, accountId, previousDay),
          dayCosts(ctx.pool, accountId, day),
        ]);
        return { day, previousDay, ratio, minChange, ...findMovers(before, after, { ratio, minChange }) };
      },
    }),
    balance: t.field({
      type: BalanceComparisonType,
      nullable: true,
      description: 'The latest balance snapshot of the month beside the accrual; null when none was polled.',
      resolve: async (a, _args, ctx) => {
        const balance = await monthBalance(ctx.pool, ctx.config.digitalocean.accountId, a.data.month);
        if (!balance) return null;
        const total = await a.data.total();
        return {
          ...balance,
          accrual: total.amount,
          difference: subtract(balance.monthToDateUsage, total.amount),
          forecast: total.forecast.forecast,
        };
      },
    }),
    invoice: t.field({
      type: InvoiceReconciliationType,
      nullable: true,
      description: "The accrual against the month's ingested invoice; null until one is ingested.",
      resolve: async (a, _args, ctx) => {
        const invoice = await monthInvoice(ctx.pool, ctx.config.digitalocean.accountId, a.data.month);
        if (!invoice) return null;
        const accrual = (await a.data.total()).amount;
        return {
          ...invoice,
          accrual,
          difference: subtract(invoice.invoiceAmount, accrual),
          chargesDifference: subtract(invoice.chargesAmount, accrual),
        };
      },
    }),
  }),
});

/** Per request: the months asked for. */
const months = new WeakMap<GraphQLContext, Map<string, MonthAccrual>>();

function monthAccrual(ctx: GraphQLContext, month: string): MonthAccrual {
  let byMonth = months.get(ctx);
  if (!byMonth) {
    byMonth = new Map();
    months.set(ctx, byMonth);
  }
  let data = byMonth.get(month);
  if (!data) {
    data = new MonthAccrual(ctx, month);
    byMonth.set(month, data);
  }
  return data;
}

builder.queryField('accrual', (t) =>
  t.field({
    type: AccrualType,
    authScopes: ADMIN,
    description: 'Live accrual of a month (default: the current one, UTC). Platform admin only.',
    args: { month: t.arg.string({ required: false, description: 'YYYY-MM (or any date of it).' }) },
    resolve: (_root, args, ctx) => ({ data: monthAccrual(ctx, monthArgument(args.month)) }),
  }),
);

// ---------------------------------------------------------------------------------------------------------------
// Resource.accrual and Project.accrual

interface SeriesRow {
  month: string;
  amount: string;
  days: DayRow[];
  forecast: Forecast;
}

const AccrualSeries = builder.objectRef<SeriesRow>('AccrualSeries').implement({
  description: "One resource's or project's accrual in a month: total, days and forecast.",
  fields: (t) => ({
    month: t.exposeString('month'),
    amount: t.expose('amount', { type: 'Decimal', description: 'Month to date.' }),
    byDay: t.field({ type: [AccrualDay], resolve: (s) => s.days }),
    forecast: t.field({ type: ForecastType, resolve: (s) => s.forecast }),
  }),
});

/** Resource ids asked for in one tick, loaded in one statement per month. */
const resourceBatches = new WeakMap<
  GraphQLContext,
  Map<string, { ids: Set<number>; result: Promise<Map<number, DayRow[]>> }>
>();

function resourceSeries(ctx: GraphQLContext, month: string, id: number): Promise<DayRow[]> {
  let byMonth = resourceBatches.get(ctx);
  if (!byMonth) {
    byMonth = new Map();
    resourceBatches.set(ctx, byMonth);
  }
  let pending = byMonth.get(month);
  if (!pending) {
    const ids = new Set<number>();
    const batch = {
      ids,
      result: new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        if (byMonth.get(month) === batch) byMonth.delete(month);
        const days = await resourceDays(ctx.pool, [...ids], month);
        return new Map(
          [...days].map(([resourceId, list]) => [
            resourceId,
            list.map((d) => ({ day: d.day, amount: d.amount, matchedAmount: d.amount, pointCount: d.pointCount })),
          ]),
        );
      }),
    };
    pending = batch;
    byMonth.set(month, batch);
  }
  pending.ids.add(id);
  return pending.result.then((map) => map.get(id) ?? []);
}

builder.prismaObjectField(ResourceRef, 'accrual', (t) =>
  t.field({
    type: AccrualSeries,
    authScopes: ADMIN,
    description: `What the resource accrued in a month (default: the current one) from the billing insights. ${FORECAST_DESCRIPTION} Platform admin only.`,
    args: { month: t.arg.string({ required: false }) },
    select: { id: true },
    resolve: async (resource, args, ctx) => {
      const month = monthArgument(args.month);
      const [days, last] = await Promise.all([
        resourceSeries(ctx, month, resource.id),
        monthAccrual(ctx, month).lastDay(),
      ]);
      const forecast = forecastMonth(month, days, last);
      return { month, amount: forecast.monthToDate, days, forecast };
    },
  }),
);

builder.prismaObjectField(ProjectRef, 'accrual', (t) =>
  t.field({
    type: AccrualSeries,
    authScopes: ADMIN,
    description: `What the project accrued in a month (default: the current one): the points of its resources. ${FORECAST_DESCRIPTION} Platform admin only.`,
    args: { month: t.arg.string({ required: false }) },
    select: { id: true },
    resolve: async (project, args, ctx) => {
      const month = monthArgument(args.month);
      const groups = await monthAccrual(ctx, month).groups('project_id');
      const group = groups.find((g) => g.key === project.id);
      const days = group?.days ?? [];
      const forecast = group?.forecast ?? forecastMonth(month, [], await monthAccrual(ctx, month).lastDay());
      return { month, amount: forecast.monthToDate, days, forecast };
    },
  }),
);
