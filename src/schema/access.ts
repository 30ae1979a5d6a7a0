// Row-level visibility: a platform admin sees every row; anyone else only the rows of their tenant.
// Every root field and nested list applies these, so no query path reaches another tenant's rows.
import type { Viewer } from '../auth.js';
import { AuthError } from '../auth.js';
import type { Prisma } from '../generated/prisma/client.js';

/** Matches no row: for a viewer without a tenant (the scopes already refuse such a viewer; this is the backstop). */
const NOTHING = { id: { in: [] as number[] } };

export function resourceVisibility(viewer: Viewer | null): Prisma.CloudResourceWhereInput {
  if (viewer?.admin) return {};
  return viewer?.tenantId ? { tenantId: viewer.tenantId } : NOTHING;
}

export function projectVisibility(viewer: Viewer | null): Prisma.CloudProjectWhereInput {
  if (viewer?.admin) return {};
  return viewer?.tenantId ? { tenantId: viewer.tenantId } : NOTHING;
}

export function canSeeTenant(viewer: Viewer | null, tenantId: string | null): boolean {
  return viewer?.admin === true || (viewer?.tenantId != null && viewer.tenantId === tenantId);
}

/** A non-admin naming another tenant in a filter is told so, rather than silently getting nothing. */
export function assertTenantFilter(viewer: Viewer | null, tenantId: string | null | undefined): void {
  if (tenantId == null || viewer?.admin) return;
  if (viewer?.tenantId !== tenantId) throw new AuthError('Not allowed to read another tenant’s rows: platform admin only', 'FORBIDDEN');
}
