// GET /api/v1/inventory: the REST listing, kept for old clients. The viewer's resources as JSON, with the same
// authentication, tenant visibility and filters as the GraphQL `resources` query (src/domain/inventory.ts).
import type http from 'node:http';
import type { Authenticator } from '../../auth.js';
import type { PrismaClient } from '../../db/client.js';
import { InvalidArgumentError } from '../../domain/errors.js';
import { RESOURCE_COLUMNS, resourceWhere } from '../../domain/inventory.js';
import { canSeeTenant } from '../../domain/visibility.js';
import { sendJson } from '../respond.js';
import { authenticateRequest, listParam, pageOf, pageParams, readParams } from './common.js';

export async function handleInventory(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: { prisma: PrismaClient; authenticator: Authenticator },
): Promise<void> {
  const viewer = await authenticateRequest(req, res, deps.authenticator, { adminOnly: false });
  if (!viewer) return;

  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const params = readParams(res, () => {
    const state = query.get('state')?.toUpperCase();
    if (state !== undefined && state !== 'LIVE' && state !== 'STALE' && state !== 'ALL')
      throw new InvalidArgumentError('state must be live, stale or all', 'state');
    const where = resourceWhere(
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
    return { where, ...pageParams(query) };
  });
  if (!params) return;
  const { where, limit, after } = params;

  // One statement: the page (one more row than asked, to know whether another page follows) with each project.
  const rows = await deps.prisma.cloudResource.findMany({
    where: { AND: [where, { id: { gt: after } }] },
    orderBy: { id: 'asc' },
    take: limit + 1,
    select: {
      ...RESOURCE_COLUMNS,
      providerCreatedAt: true,
      firstSeenAt: true,
      lastSeenAt: true,
      staleAt: true,
      attrs: viewer.admin,
      cloudProject: { select: { id: true, providerId: true, name: true, tenantId: true } },
    },
  });
  const { page, nextCursor } = pageOf(rows, limit);
  const resources = page.map(({ cloudProject, id, ...row }) => ({
    id: String(id),
    ...row,
    stale: row.staleAt !== null,
    project:
      cloudProject && canSeeTenant(viewer, cloudProject.tenantId)
        ? { id: String(cloudProject.id), providerId: cloudProject.providerId, name: cloudProject.name }
        : null,
  }));
  sendJson(res, 200, { resources, count: resources.length, nextCursor });
}
