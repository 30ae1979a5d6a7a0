// The seed's billing REST routes, kept for old clients; platform admin only (like the GraphQL billing fields).
//   GET /api/v1/billing/balance                                   → { balance: {...} | null }
//   GET /api/v1/billing/cost-lines?period=YYYY-MM-DD&kind&limit&after → { costLines: [...], count, nextCursor }
// Money is a decimal string, never a JSON number.
import type http from 'node:http';
import { GraphQLError } from 'graphql';
import type { Authenticator } from '../auth.js';
import type { PrismaClient } from '../db/client.js';
import { sendJson } from '../http.js';
import { parsePeriod } from '../schema/billing.js';
import { authenticateRequest, BadRequestError, listParam, pageParams, sendBadRequest } from './common.js';

export const BILLING_REST_PATHS = ['/api/v1/billing/balance', '/api/v1/billing/cost-lines'] as const;

export async function handleBilling(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: { prisma: PrismaClient; authenticator: Authenticator },
): Promise<void> {
  const viewer = await authenticateRequest(req, res, deps.authenticator, { adminOnly: true, forbiddenMessage: 'Billing is platform admin only' });
  if (!viewer) return;

  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/api/v1/billing/balance') {
    const snapshot = await deps.prisma.cloudBalanceSnapshot.findFirst({ orderBy: [{ polledAt: 'desc' }, { id: 'desc' }] });
    sendJson(res, 200, {
      balance: snapshot && {
        monthToDateBalance: snapshot.monthToDateBalance.toString(),
        accountBalance: snapshot.accountBalance.toString(),
        monthToDateUsage: snapshot.monthToDateUsage.toString(),
        generatedAt: snapshot.generatedAt.toISOString(),
        polledAt: snapshot.polledAt.toISOString(),
      },
    });
    return;
  }

  const query = url.searchParams;
  let period: string;
  let kinds: string[] | undefined;
  let limit: number;
  let after: number;
  try {
    const rawPeriod = query.get('period');
    if (!rawPeriod) throw new BadRequestError('period is required: "YYYY-MM-DD" (or "YYYY-MM")');
    period = parsePeriod(rawPeriod);
    kinds = listParam(query, 'kind');
    if (kinds && kinds.length > 50) throw new BadRequestError('kind may list at most 50 values');
    ({ limit, after } = pageParams(query));
  } catch (error) {
    // parsePeriod is shared with GraphQL and reports bad input as a GraphQLError.
    if (error instanceof BadRequestError || error instanceof GraphQLError) return sendBadRequest(res, error.message);
    throw error;
  }

  const rows = await deps.prisma.cloudCostLine.findMany({
    where: { period, id: { gt: after }, ...(kinds ? { kind: { in: kinds } } : {}) },
    orderBy: { id: 'asc' },
    take: limit + 1,
    include: { invoice: { select: { invoiceUuid: true, provisional: true } } },
  });
  const page = rows.slice(0, limit);
  const costLines = page.map((line) => ({
    id: String(line.id),
    invoiceUuid: line.invoice.invoiceUuid,
    provisional: line.invoice.provisional,
    lineNo: line.lineNo,
    source: line.source,
    period: line.period,
    product: line.product,
    groupDescription: line.groupDescription,
    description: line.description,
    kind: line.kind,
    resourceName: line.resourceName,
    resourceUuid: line.resourceUuid,
    resourceProviderId: line.resourceProviderId,
    hours: line.hours?.toString() ?? null,
    startAt: line.startAt?.toISOString() ?? null,
    endAt: line.endAt?.toISOString() ?? null,
    amount: line.amount.toString(),
    projectName: line.projectName,
    category: line.category,
    resourceId: line.resourceId === null ? null : String(line.resourceId),
    matchMethod: line.matchMethod,
    unmatchedReason: line.unmatchedReason,
  }));
  sendJson(res, 200, { period, costLines, count: costLines.length, nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null });
}
