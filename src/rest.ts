// GET /api/v1/inventory: the seed's REST listing, kept for old clients. The viewer's resources as JSON,
// with the same authentication, tenant visibility and filters as the GraphQL `resources` query.
import type http from 'node:http';
import { GraphQLError } from 'graphql';
import { AuthError, type Authenticator } from './auth.js';
import type { PrismaClient } from './db/client.js';
import { sendJson } from './http.js';
import { canSeeTenant } from './schema/access.js';
import { resourceWhere } from './schema/resource.js';

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 5000;

export async function handleInventory(
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
  if (!viewer.admin && viewer.tenantId === null) return sendError(res, new AuthError('The token names no tenant', 'FORBIDDEN'));

  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  let where;
  let limit: number;
  let after: number;
  try {
    const list = (name: string): string[] | undefined => (query.has(name) ? query.getAll(name).flatMap((v) => v.split(',')).filter(Boolean) : undefined);
    const state = query.get('state')?.toUpperCase();
    if (state !== undefined && state !== 'LIVE' && state !== 'STALE' && state !== 'ALL') throw badParam('state must be live, stale or all');
    where = resourceWhere(
      {
        kind: list('kind'),
        status: list('status'),
        region: list('region'),
        state: state ?? 'ALL',
        projectId: query.get('project_id'),
        tenantId: query.get('tenant_id'),
        tag: query.get('tag'),
        search: query.get('search'),
      },
      viewer,
    );
    limit = intParam(query.get('limit'), DEFAULT_LIMIT, 1, MAX_LIMIT, 'limit');
    after = intParam(query.get('after'), 0, 0, 2_147_483_647, 'after');
  } catch (error) {
    if (error instanceof AuthError) return sendError(res, error);
    if (error instanceof GraphQLError) return sendJson(res, 400, { error: 'bad_request', message: error.message });
    throw error;
  }

  // One statement: the page (one more row than asked, to know whether another page follows) with each project.
  const rows = await deps.prisma.cloudResource.findMany({
    where: { AND: [where, { id: { gt: after } }] },
    orderBy: { id: 'asc' },
    take: limit + 1,
    select: {
      id: true,
      kind: true,
      providerId: true,
      name: true,
      region: true,
      status: true,
      size: true,
      tags: true,
      tenantId: true,
      attributionSource: true,
      providerCreatedAt: true,
      firstSeenAt: true,
      lastSeenAt: true,
      staleAt: true,
      attrs: viewer.admin,
      cloudProject: { select: { id: true, providerId: true, name: true, tenantId: true } },
    },
  });
  const page = rows.slice(0, limit);
  const resources = page.map(({ cloudProject, id, ...row }) => ({
    id: String(id),
    ...row,
    stale: row.staleAt !== null,
    project:
      cloudProject && canSeeTenant(viewer, cloudProject.tenantId)
        ? { id: String(cloudProject.id), providerId: cloudProject.providerId, name: cloudProject.name }
        : null,
  }));
  sendJson(res, 200, {
    resources,
    count: resources.length,
    nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
  });
}

function sendError(res: http.ServerResponse, error: AuthError): void {
  const status = error.code === 'UNAUTHENTICATED' ? 401 : 403;
  sendJson(res, status, { error: error.code.toLowerCase(), message: error.message }, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
}

function badParam(message: string): GraphQLError {
  return new GraphQLError(message);
}

function intParam(raw: string | null, fallback: number, min: number, max: number, name: string): number {
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw badParam(`${name} must be an integer between ${min} and ${max}`);
  return value;
}
