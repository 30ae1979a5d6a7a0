// Row-level visibility: a platform admin sees every row; anyone else only the rows of their tenant.
// Every GraphQL root field and nested list, and every REST route, applies these, so no path reaches another
// tenant's rows.
import type { Viewer } from '../auth.js';
import type { Prisma } from '../generated/prisma/client.js';
import { ForbiddenError } from './errors.js';

/** Matches no row: for a viewer without a tenant (the scopes already refuse such a viewer; this is the backstop). */
const NOTHING = { id: { in: [] as number[] } };

/** The tenant whose rows the viewer sees; undefined: every tenant's (an admin); null: none. */
export function visibleTenant(viewer: Viewer | null): string | null | undefined {
  if (viewer?.admin) return undefined;
  return viewer?.tenantId ? viewer.tenantId : null;
}

function tenantScope(viewer: Viewer | null): { tenantId?: string } | typeof NOTHING {
  const tenantId = visibleTenant(viewer);
  if (tenantId === undefined) return {};
  return tenantId === null ? NOTHING : { tenantId };
}

export function resourceVisibility(viewer: Viewer | null): Prisma.CloudResourceWhereInput {
  return tenantScope(viewer);
}

export function projectVisibility(viewer: Viewer | null): Prisma.CloudProjectWhereInput {
  return tenantScope(viewer);
}

export function canSeeTenant(viewer: Viewer | null, tenantId: string | null): boolean {
  return viewer?.admin === true || (viewer?.tenantId != null && viewer.tenantId === tenantId);
}

/** A non-admin naming another tenant in a filter is told so, rather than silently getting nothing. */
export function assertTenantFilter(viewer: Viewer | null, tenantId: string | null | undefined): void {
  if (tenantId == null || viewer?.admin) return;
  if (viewer?.tenantId !== tenantId)
    throw new ForbiddenError('Not allowed to read another tenant’s rows: platform admin only');
}
