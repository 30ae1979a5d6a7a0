// Per-request loaders: fields that cannot be planned into the parent's Prisma query (aggregates) collect
// their keys for one tick and load them in one SQL statement, whatever the page size; project costs are
// computed once per period.
import type pg from 'pg';
import type { Viewer } from '../auth.js';
import type { PrismaClient } from '../db/client.js';
import { createProjectCosts, type ProjectCosts } from '../domain/cost-attribution.js';
import { countResourcesByKind, type KindCount } from '../domain/inventory.js';

export interface Loaders {
  /** Resource counts per kind in a project, limited to what the viewer may see. */
  projectKindCounts(projectId: number): Promise<KindCount[]>;
  /** Every project's cost in a period (Project.cost and costByProject). */
  projectCosts: ProjectCosts;
}

export function createLoaders(options: { prisma: PrismaClient; pool: pg.Pool; viewer: Viewer | null }): Loaders {
  return {
    projectKindCounts: batch(async (projectIds: number[]) => {
      const byProject = await countResourcesByKind(options.prisma, options.viewer, projectIds);
      return (id) => byProject.get(id) ?? [];
    }),
    projectCosts: createProjectCosts(options.pool),
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
