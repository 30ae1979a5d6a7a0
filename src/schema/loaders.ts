// Per-request batch loaders: fields that cannot be planned into the parent's Prisma query (aggregates)
// collect their keys for one tick and load them in one SQL statement, whatever the page size.
import type { Viewer } from '../auth.js';
import type { PrismaClient } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';

export interface KindCount {
  kind: string;
  total: number;
  live: number;
  stale: number;
}

export interface Loaders {
  /** Resource counts per kind in a project, limited to what the viewer may see. */
  projectKindCounts(projectId: number): Promise<KindCount[]>;
}

export function createLoaders(prisma: PrismaClient, viewer: Viewer | null): Loaders {
  return {
    projectKindCounts: batch(async (projectIds: number[]) => {
      const tenantClause = viewer?.admin ? Prisma.empty : Prisma.sql`AND tenant_id = ${viewer?.tenantId ?? null}`;
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
      return (id) => byProject.get(id) ?? [];
    }),
  };
}

/** Collects the keys asked for until the current tick's resolvers have run, then loads them together. */
function batch<K, V>(load: (keys: K[]) => Promise<(key: K) => V>): (key: K) => Promise<V> {
  let pending: { keys: Set<K>; result: Promise<(key: K) => V> } | undefined;
  return (key) => {
    if (!pending) {
      const keys = new Set<K>();
      const current = {
        keys,
        result: new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          if (pending === current) pending = undefined;
          return load([...keys]);
        }),
      };
      pending = current;
    }
    pending.keys.add(key);
    return pending.result.then((lookup) => lookup(key));
  };
}
