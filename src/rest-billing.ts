// The seed's billing REST routes, kept for old clients; platform admin only (like the GraphQL billing fields).
//   GET /api/v1/billing/balance                                   → { balance: {...} | null }
//   GET /api/v1/billing/cost-lines?period=YYYY-MM-DD&kind&limit&after → { costLines: [...], count, nextCursor }
// Money is a decimal string, never a JSON number.
import type http from 'node:http';
import { GraphQLError } from 'graphql';
import { AuthError, type Authenticator } from './auth.js';
import type { PrismaClient } from './db/client.js';
import { sendJson } from './http.js';
import { parsePeriod } from './schema/billing.js';

export const BILLING_REST_PATHS = ['/api/v1/billing/balance', '/api/v1/billing/cost-lines'] as const;

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 5000;

export async function handleBilling(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: { prisma: PrismaClient; authenticator: Authenticator },
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'method_not_allowed', message: 'Use GET' }, { allow: 'GET, HEAD' });
    return;
  }
  let viewer;
  try {
    viewer = await deps.authenticator.authenticate(req.headers.authorization);
  } catch (error) {
    if (error instanceof AuthError) return sendError(res, error);
    throw error;
  }
  if (!viewer) return sendError(res, new AuthError('Authentication required: send "Authorization: Bearer <token>"', 'UNAUTHENTICATED'));
  if (!viewer.admin) return sendError(res, new AuthError('Billing is platform admin only', 'FORBIDDEN'));

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
    if (!rawPeriod) throw new GraphQLError('period is required: "YYYY-MM-DD" (or "YYYY-MM")');
    period = parsePeriod(rawPeriod);
    kinds = query.has('kind') ? query.getAll('kind').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean) : undefined;
    if (kinds && kinds.length > 50) throw new GraphQLError('kind may list at most 50 values');
    limit = intParam(query.get('limit'), DEFAULT_LIMIT, 1, MAX_LIMIT, 'limit');
    after = intParam(query.get('after'), 0, 0, 2_147_483_647, 'after');
  } catch (error) {
    if (error instanceof GraphQLError) return sendJson(res, 400, { error: 'bad_request', message: error.message });
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

function sendError(res: http.ServerResponse, error: AuthError): void {
  const status = error.code === 'UNAUTHENTICATED' ? 401 : 403;
  sendJson(res, status, { error: error.code.toLowerCase(), message: error.message }, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
}

function intParam(raw: string | null, fallback: number, min: number, max: number, name: string): number {
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new GraphQLError(`${name} must be an integer between ${min} and ${max}`);
  return value;
}
