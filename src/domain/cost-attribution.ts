// Which project and tenant a cost line belongs to, and what each project, tenant and kind cost in a period.
//
// The rule: a line belongs to the project of the resource it matched; a line without a resource (or whose
// resource has no project) belongs to the account's project named by the line's project_name when exactly one
// project has that name; otherwise to none. Its tenant: the resource's tenant, else that project's tenant.
// It is written twice, in the two forms the callers need (a Prisma where for lists of lines, SQL for sums),
// and kept side by side here so that they stay one rule.
import type pg from 'pg';
import type { PrismaClient } from '../db/client.js';
import type { Prisma } from '../generated/prisma/client.js';

/** Cost lines attributed to a project, as a Prisma where. */
export async function projectLinesWhere(
  prisma: PrismaClient,
  projectId: number,
): Promise<Prisma.CloudCostLineWhereInput> {
  const project = await prisma.cloudProject.findUnique({
    where: { id: projectId },
    select: { accountId: true, name: true },
  });
  if (!project) return { id: { in: [] } };
  const namesakes = await prisma.cloudProject.count({ where: { accountId: project.accountId, name: project.name } });
  const byResource: Prisma.CloudCostLineWhereInput = { resource: { cloudProjectId: projectId } };
  if (namesakes !== 1) return byResource;
  return {
    OR: [
      byResource,
      {
        projectName: project.name,
        invoice: { accountId: project.accountId },
        OR: [{ resourceId: null }, { resource: { cloudProjectId: null } }],
      },
    ],
  };
}

/** One row per line of the period ($1) with its attributed project and tenant. */
const LINE_ATTRIBUTION = `
  SELECT l.amount, l.kind, l.resource_id,
         COALESCE(r.cloud_project_id, named.project_id) AS project_id,
         COALESCE(r.tenant_id, CASE WHEN r.cloud_project_id IS NOT NULL THEN rp.tenant_id ELSE named.tenant_id END) AS tenant_id,
         i.provisional
    FROM cloud_cost_lines l
    JOIN cloud_invoices i ON i.id = l.invoice_id
    LEFT JOIN cloud_resources r ON r.id = l.resource_id
    LEFT JOIN cloud_projects rp ON rp.id = r.cloud_project_id
    LEFT JOIN LATERAL (
      SELECT min(p.id) AS project_id, min(p.tenant_id) AS tenant_id
        FROM cloud_projects p
       WHERE p.account_id = i.account_id AND p.name = l.project_name
      HAVING count(*) = 1
    ) named ON r.cloud_project_id IS NULL AND l.project_name IS NOT NULL
   WHERE l.period = $1`;

const COST_COLUMNS = `
  sum(amount)::text AS amount, count(*)::int AS line_count,
  coalesce(sum(amount) FILTER (WHERE resource_id IS NOT NULL), 0)::text AS matched_amount,
  (count(*) FILTER (WHERE resource_id IS NOT NULL))::int AS matched_count,
  bool_or(provisional) AS provisional`;

/** What a group of lines of one period cost (money as decimal strings). */
export interface CostRow {
  period: string;
  amount: string;
  line_count: number;
  matched_amount: string;
  matched_count: number;
  /** Some of the lines come from the month-to-date preview. */
  provisional: boolean;
}
export interface ProjectCostRow extends CostRow {
  project_id: number | null;
  /** The project's columns every read of it needs (the rest is loaded by the fields that ask for more). */
  project: { id: number; name: string; tenantId: string | null } | null;
}
export interface TenantCostRow extends CostRow {
  tenant_id: string | null;
}
export interface KindCostRow extends CostRow {
  kind: string | null;
}

interface CostRows {
  project_id: Omit<ProjectCostRow, 'project'>;
  tenant_id: TenantCostRow;
  kind: KindCostRow;
}

/** The period's cost per project, tenant or kind, largest first (null: lines attributed to none). */
export async function costBy<K extends keyof CostRows>(
  pool: pg.Pool,
  period: string,
  key: K,
): Promise<Array<CostRows[K]>> {
  const { rows } = await pool.query(costBySql(key), [period]);
  return rows as Array<CostRows[K]>;
}

/** The statement costBy runs (the period is $1); the read-path benchmark serves the same SQL to its peers. */
export function costBySql(key: keyof CostRows): string {
  return `SELECT $1::text AS period, ${key}, ${COST_COLUMNS} FROM (${LINE_ATTRIBUTION}) lines GROUP BY ${key} ORDER BY sum(amount) DESC, ${key} NULLS LAST`;
}

/** Project costs by period, each period computed once (for one request, where many projects ask for theirs). */
export type ProjectCosts = (period: string) => Promise<Map<number | null, ProjectCostRow>>;

/** The period's cost per project with the project itself, in the same statement (largest first). */
const PROJECT_COSTS = `
  SELECT c.*, CASE WHEN p.id IS NULL THEN NULL
                   ELSE json_build_object('id', p.id, 'name', p.name, 'tenantId', p.tenant_id) END AS project
    FROM (${costBySql('project_id')}) c LEFT JOIN cloud_projects p ON p.id = c.project_id
   ORDER BY c.amount::numeric DESC, c.project_id NULLS LAST`;

export function createProjectCosts(pool: pg.Pool): ProjectCosts {
  const byPeriod = new Map<string, Promise<Map<number | null, ProjectCostRow>>>();
  return (period) => {
    let costs = byPeriod.get(period);
    if (!costs) {
      costs = pool
        .query<ProjectCostRow>(PROJECT_COSTS, [period])
        .then(({ rows }) => new Map(rows.map((row) => [row.project_id, row])));
      byPeriod.set(period, costs);
    }
    return costs;
  };
}
