// Billing reads shared by GraphQL and REST: billing periods, the filters of cost lines and invoices, and the
// order of balance snapshots. Which project a line belongs to is in cost-attribution.ts.
import type { PrismaClient } from '../db/client.js';
import type { Prisma } from '../generated/prisma/client.js';
import { boundedList, parseId, textListArg } from './arguments.js';
import { projectLinesWhere } from './cost-attribution.js';
import { InvalidArgumentError } from './errors.js';

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])(?:-(\d{2}))?$/;

/** A billing month: "2026-10", or any date of it, "2026-10-15", → "2026-10". Errors name the argument. */
export function parsePeriod(value: string, argument = 'period'): string {
  const text = value.trim();
  const match = PERIOD.exec(text);
  if (match?.[3] !== undefined) {
    const day = Number(match[3]);
    const days = new Date(Date.UTC(Number(match[1]), Number(match[2]), 0)).getUTCDate();
    if (day < 1 || day > days)
      throw new InvalidArgumentError(`${argument} "${text.slice(0, 20)}" is not a valid date`, argument);
  }
  if (!match)
    throw new InvalidArgumentError(
      `${argument} must be a month "YYYY-MM" or a date "YYYY-MM-DD" (got "${text.slice(0, 20)}")`,
      argument,
    );
  return `${match[1]}-${match[2]}`;
}

/** Why a cost line has no resource. */
export const UNMATCHED_REASONS = [
  'historic',
  'ambiguous',
  'kind_not_synced',
  'tax',
  'credit',
  'unknown_product',
  'account_level',
] as const;
export type UnmatchedReason = (typeof UNMATCHED_REASONS)[number];

/** Newest balance snapshot first. */
export const LATEST_BALANCE_FIRST: Prisma.CloudBalanceSnapshotOrderByWithRelationInput[] = [
  { polledAt: 'desc' },
  { id: 'desc' },
];

/** At most this many derived kinds per cost line filter (REST checks the same bound). */
export function boundedKinds(kinds: readonly string[]): readonly string[] {
  return boundedList(kinds, 'kind');
}

export interface CostLineFilter {
  kind?: readonly string[] | null | undefined;
  matched?: boolean | null | undefined;
  unmatchedReason?: UnmatchedReason | null | undefined;
}

export function costLineWhere(filter: CostLineFilter): Prisma.CloudCostLineWhereInput[] {
  const and: Prisma.CloudCostLineWhereInput[] = [];
  if (filter.kind != null) and.push({ kind: { in: textListArg(filter.kind, 'kind') } });
  if (filter.matched === true) and.push({ resourceId: { not: null } });
  if (filter.matched === false) and.push({ resourceId: null });
  if (filter.unmatchedReason != null) and.push({ unmatchedReason: filter.unmatchedReason });
  return and;
}

/** The cost lines of a period, filtered, optionally only those attributed to a project. */
export async function periodLinesWhere(
  prisma: PrismaClient,
  filter: CostLineFilter & { period: string; projectId?: string | number | null | undefined },
): Promise<Prisma.CloudCostLineWhereInput> {
  const and: Prisma.CloudCostLineWhereInput[] = [{ period: parsePeriod(filter.period) }, ...costLineWhere(filter)];
  if (filter.projectId != null) and.push(await projectLinesWhere(prisma, parseId(filter.projectId, 'projectId')));
  return { AND: and };
}

export function invoiceWhere(filter: {
  period?: string | null | undefined;
  status?: string | null | undefined;
  provisional?: boolean | null | undefined;
}): Prisma.CloudInvoiceWhereInput {
  return {
    ...(filter.period != null ? { period: parsePeriod(filter.period) } : {}),
    ...(filter.status != null ? { ingestStatus: filter.status } : {}),
    ...(filter.provisional != null ? { provisional: filter.provisional } : {}),
  };
}
