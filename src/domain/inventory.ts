// Inventory queries shared by GraphQL and REST: the resource and project filters (always combined with what
// the viewer may see), the resource order, the columns every listing reads, and per-kind counts of a project.
import type { Viewer } from '../auth.js';
import type { PrismaClient } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { escapeLike, parseOptionalId, parseTenantId, textArg, textListArg } from './arguments.js';
import { assertTenantFilter, projectVisibility, resourceVisibility, visibleTenant } from './visibility.js';

/** Which resources a listing asks for; every field is optional ("any"). Argument names in errors: filter.<field>. */
export interface ResourceFilter {
  kind?: readonly string[] | null | undefined;
  status?: readonly string[] | null | undefined;
  region?: readonly string[] | null | undefined;
  state?: 'LIVE' | 'STALE' | 'ALL' | null | undefined;
  projectId?: string | number | null | undefined;
  /** true: neither a project nor a tenant; false: one of them. */
  unattributed?: boolean | null | undefined;
  tenantId?: string | null | undefined;
  tag?: string | null | undefined;
  /** Case-insensitive part of the name, or the exact provider id. */
  search?: string | null | undefined;
}

/** The filter as a Prisma where, always combined with what the viewer may see. */
export function resourceWhere(
  filter: ResourceFilter | null | undefined,
  viewer: Viewer | null,
): Prisma.CloudResourceWhereInput {
  const and: Prisma.CloudResourceWhereInput[] = [resourceVisibility(viewer)];
  if (filter) {
    const list = (values: readonly string[] | null | undefined, name: string) =>
      values == null ? undefined : textListArg(values, `filter.${name}`);
    const kinds = list(filter.kind, 'kind');
    if (kinds) and.push({ kind: { in: kinds } });
    const statuses = list(filter.status, 'status');
    if (statuses) and.push({ status: { in: statuses } });
    const regions = list(filter.region, 'region');
    if (regions) and.push({ region: { in: regions } });
    if (filter.state === 'LIVE') and.push({ staleAt: null });
    if (filter.state === 'STALE') and.push({ staleAt: { not: null } });
    const projectId = parseOptionalId(filter.projectId, 'filter.projectId');
    if (projectId !== undefined) and.push({ cloudProjectId: projectId });
    if (filter.unattributed === true) and.push({ cloudProjectId: null, tenantId: null });
    if (filter.unattributed === false)
      and.push({ OR: [{ cloudProjectId: { not: null } }, { tenantId: { not: null } }] });
    if (filter.tenantId != null) and.push({ tenantId: tenantFilter(filter.tenantId, viewer) });
    if (filter.tag != null) and.push({ tags: { has: textArg(filter.tag, 'filter.tag') } });
    if (filter.search != null) {
      const search = textArg(filter.search, 'filter.search');
      and.push({ OR: [{ name: { contains: escapeLike(search), mode: 'insensitive' } }, { providerId: search }] });
    }
  }
  return and.length === 1 ? and[0]! : { AND: and };
}

export type ResourceOrderField =
  'id' | 'kind' | 'name' | 'region' | 'status' | 'providerCreatedAt' | 'firstSeenAt' | 'lastSeenAt';

/** A total order (the id breaks ties), so cursors page without gaps or repeats; nulls sort last either way. */
export function resourceOrder(
  order: { field: ResourceOrderField; direction?: 'ASC' | 'DESC' | null | undefined } | null | undefined,
): Prisma.CloudResourceOrderByWithRelationInput[] {
  const direction = order?.direction === 'DESC' ? 'desc' : 'asc';
  const field = order?.field ?? 'id';
  if (field === 'id') return [{ id: direction }];
  const nullable = field === 'name' || field === 'region' || field === 'status' || field === 'providerCreatedAt';
  return [{ [field]: nullable ? { sort: direction, nulls: 'last' } : direction }, { id: direction }];
}

/** The resource columns every listing reads (GraphQL selects them for every row; REST adds its own). */
export const RESOURCE_COLUMNS = {
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
} as const satisfies Prisma.CloudResourceSelect;

export interface ProjectFilter {
  tenantId?: string | null | undefined;
  /** true: projects without a tenant; false: with one. */
  unassigned?: boolean | null | undefined;
  /** Case-insensitive part of the name. */
  search?: string | null | undefined;
  /** false: only projects still listed by DigitalOcean. */
  includeStale?: boolean | null | undefined;
}

export function projectWhere(
  filter: ProjectFilter | null | undefined,
  viewer: Viewer | null,
): Prisma.CloudProjectWhereInput {
  const and: Prisma.CloudProjectWhereInput[] = [projectVisibility(viewer)];
  if (filter?.tenantId != null) and.push({ tenantId: tenantFilter(filter.tenantId, viewer) });
  if (filter?.unassigned === true) and.push({ tenantId: null });
  if (filter?.unassigned === false) and.push({ tenantId: { not: null } });
  if (filter?.search != null)
    and.push({ name: { contains: escapeLike(textArg(filter.search, 'filter.search')), mode: 'insensitive' } });
  if (filter?.includeStale === false) and.push({ staleAt: null });
  return and.length === 1 ? and[0]! : { AND: and };
}

/** filter.tenantId, checked, and refused (ForbiddenError) when it names a tenant the viewer may not see. */
function tenantFilter(value: string, viewer: Viewer | null): string {
  const tenantId = parseTenantId(value, 'filter.tenantId');
  assertTenantFilter(viewer, tenantId);
  return tenantId;
}

export interface KindCount {
  kind: string;
  total: number;
  live: number;
  stale: number;
}

/** Resource counts per kind of each project, limited to what the viewer may see: one statement for all. */
export async function countResourcesByKind(
  prisma: PrismaClient,
  viewer: Viewer | null,
  projectIds: number[],
): Promise<Map<number, KindCount[]>> {
  const tenantId = visibleTenant(viewer);
  const tenantClause = tenantId === undefined ? Prisma.empty : Prisma.sql`AND tenant_id = ${tenantId}`;
  const rows = await prisma.$queryRaw<Array<{ projectId: number; kind: string; total: number; live: number }>>`
    SELECT cloud_project_id AS "projectId", kind, count(*)::int AS total, count(*) FILTER (WHERE stale_at IS NULL)::int AS live
    FROM cloud_resources
    WHERE cloud_project_id = ANY(${projectIds}::int[]) ${tenantClause}
    GROUP BY cloud_project_id, kind
    ORDER BY cloud_project_id, kind`;
  const byProject = new Map<number, KindCount[]>();
  for (const row of rows) {
    const list = byProject.get(row.projectId) ?? [];
    list.push({ kind: row.kind, total: row.total, live: row.live, stale: row.total - row.live });
    byProject.set(row.projectId, list);
  }
  return byProject;
}
