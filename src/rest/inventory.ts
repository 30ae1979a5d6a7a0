// GET /api/v1/inventory: the seed's REST listing, kept for old clients. The viewer's resources as JSON,
// with the same authentication, tenant visibility and filters as the GraphQL `resources` query.
import type http from 'node:http';
import { GraphQLError } from 'graphql';
import { AuthError, type Authenticator } from '../auth.js';
import type { PrismaClient } from '../db/client.js';
import { sendJson } from '../http.js';
import { canSeeTenant } from '../schema/access.js';
import { resourceWhere } from '../schema/resource.js';
import { authenticateRequest, BadRequestError, listParam, pageParams, sendBadRequest } from './common.js';

export async function handleInventory(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: { prisma: PrismaClient; authenticator: Authenticator },
): Promise<void> {
  const viewer = await authenticateRequest(req, res, deps.authenticator, { adminOnly: false });
  if (!viewer) return;

  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  let where;
  let limit: number;
  let after: number;
  try {
    const state = query.get('state')?.toUpperCase();
    if (state !== undefined && state !== 'LIVE' && state !== 'STALE' && state !== 'ALL') throw new BadRequestError('state must be live, stale or all');
    where = resourceWhere(
      {
        kind: listParam(query, 'kind'),
        status: listParam(query, 'status'),
        region: listParam(query, 'region'),
        state: state ?? 'ALL',
        projectId: query.get('project_id'),
        tenantId: query.get('tenant_id'),
        tag: query.get('tag'),
        search: query.get('search'),
      },
      viewer,
    );
    ({ limit, after } = pageParams(query));
  } catch (error) {
    // resourceWhere speaks GraphQL: FORBIDDEN for another tenant's filter, a plain GraphQLError for bad input.
    if (error instanceof AuthError) return sendJson(res, 403, { error: 'forbidden', message: error.message });
    if (error instanceof BadRequestError || error instanceof GraphQLError) return sendBadRequest(res, error.message);
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
