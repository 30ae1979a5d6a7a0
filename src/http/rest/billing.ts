// The billing REST routes, kept for old clients; platform admin only (like the GraphQL billing fields).
//   GET /api/v1/billing/balance                                   → { balance: {...} | null }
//   GET /api/v1/billing/cost-lines?period=YYYY-MM-DD&kind&limit&after → { costLines: [...], count, nextCursor }
// Money is a decimal string, never a JSON number.
import type http from 'node:http';
import type { Authenticator } from '../../auth.js';
import type { PrismaClient } from '../../db/client.js';
import { boundedKinds, LATEST_BALANCE_FIRST, parsePeriod } from '../../domain/billing.js';
import { InvalidArgumentError } from '../../domain/errors.js';
import { sendJson } from '../respond.js';
import { authenticateRequest, listParam, pageOf, pageParams, readParams } from './common.js';

export const BILLING_REST_PATHS = ['/api/v1/billing/balance', '/api/v1/billing/cost-lines'] as const;

export async function handleBilling(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: { prisma: PrismaClient; authenticator: Authenticator },
): Promise<void> {
  const viewer = await authenticateRequest(req, res, deps.authenticator, {
    adminOnly: true,
    forbiddenMessage: 'Billing is platform admin only',
  });
  if (!viewer) return;

  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/api/v1/billing/balance') {
    const snapshot = await deps.prisma.cloudBalanceSnapshot.findFirst({ orderBy: LATEST_BALANCE_FIRST });
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
  const params = readParams(res, () => {
    const rawPeriod = query.get('period');
    if (!rawPeriod) throw new InvalidArgumentError('period is required: "YYYY-MM-DD" (or "YYYY-MM")', 'period');
    const period = parsePeriod(rawPeriod);
    const kinds = listParam(query, 'kind');
    return { period, kinds: kinds && boundedKinds(kinds), ...pageParams(query) };
  });
  if (!params) return;
  const { period, kinds, limit, after } = params;

  const rows = await deps.prisma.cloudCostLine.findMany({
    where: { period, id: { gt: after }, ...(kinds ? { kind: { in: [...kinds] } } : {}) },
    orderBy: { id: 'asc' },
    take: limit + 1,
    include: { invoice: { select: { invoiceUuid: true, provisional: true } } },
  });
  const { page, nextCursor } = pageOf(rows, limit);
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
  sendJson(res, 200, { period, costLines, count: costLines.length, nextCursor });
}
