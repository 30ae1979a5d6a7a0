// The questions bench/peers asks, each written once per peer (cloud-ops, PostGraphile's Amber schema, the raw-pg
// floor's SQL) so that all three read the same rows and columns, and a canonical form of each answer (ids as
// strings, amounts to six decimals, enum values in lower case) in which the three must be equal.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument --
   the answers are foreign JSON, read by shape per peer; the row check that follows is what verifies them */
import type pg from 'pg';
import { costBySql } from '../../src/domain/cost-attribution.js';

/** `cloudops` runs with its response cache off (every request executes); `cached` is the same build with it on. */
export type Peer = 'floor' | 'postgraphile' | 'cloudops' | 'cached';
export const PEERS: readonly Peer[] = ['floor', 'postgraphile', 'cloudops', 'cached'];

export interface Variables {
  newestUuid: string;
  oldestUuid: string;
  period: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read by shape, per peer
type Json = any;

export interface Query {
  name: string;
  label: string;
  cloudops: string;
  postgraphile: string;
  variables(v: Variables): Record<string, string>;
  /** The floor: the fewest statements that read the canonical answer directly. */
  floor(client: pg.Pool, variables: Record<string, string>): Promise<Json>;
  canon: Record<Exclude<Peer, 'floor' | 'cached'>, (data: Json) => Json>;
}

const money = (value: string | number | null): string | null => (value === null ? null : Number(value).toFixed(6));
const id = (value: string | number | null | undefined): string | null => (value == null ? null : String(value));
const nodes = (connection: Json): Json[] =>
  connection.nodes ?? connection.edges.map((edge: { node: unknown }) => edge.node);

const RESOURCE_PAGE_SQL = `
  SELECT r.id::text AS id, r.kind, r.name, r.region, r.status, r.tags,
         CASE WHEN p.id IS NULL THEN NULL ELSE json_build_object('id', p.id::text, 'name', p.name) END AS project
  FROM cloud_resources r LEFT JOIN cloud_projects p ON p.id = r.cloud_project_id
  ORDER BY r.id LIMIT 100`;

const resourcePage: Query = {
  name: 'A',
  label: 'resources(first: 100) with project name',
  cloudops: `{ resources(first: 100) { edges { node { id kind name region status tags project { id name } } } } }`,
  postgraphile: `{ allCloudResources(first: 100, orderBy: PRIMARY_KEY_ASC) { nodes { rowId kind name region status tags
    cloudProjectByCloudProjectId { rowId name } } } }`,
  variables: () => ({}),
  floor: async (pool) => (await pool.query(RESOURCE_PAGE_SQL)).rows,
  canon: {
    cloudops: (data) => nodes(data.resources),
    postgraphile: (data) =>
      nodes(data.allCloudResources).map(({ rowId, cloudProjectByCloudProjectId: p, ...rest }: Json) => ({
        id: id(rowId),
        ...rest,
        project: p && { id: id(p.rowId), name: p.name },
      })),
  },
};

const PROJECTS_SQL = `
  SELECT p.id::text AS id, p.name,
    (SELECT coalesce(json_agg(k ORDER BY k.kind), '[]') FROM (
       SELECT kind, count(*)::int AS total, (count(*) FILTER (WHERE stale_at IS NULL))::int AS live,
              (count(*) FILTER (WHERE stale_at IS NOT NULL))::int AS stale
       FROM cloud_resources WHERE cloud_project_id = p.id GROUP BY kind) k) AS "resourceCounts",
    (SELECT coalesce(json_agg(r ORDER BY r.id::int), '[]') FROM (
       SELECT c.id::text AS id, c.kind, c.name FROM cloud_resources c WHERE c.cloud_project_id = p.id ORDER BY c.id LIMIT 20) r) AS resources
  FROM cloud_projects p ORDER BY p.name, p.id LIMIT 20`;

const INVOICE_LINES_SQL = `
  SELECT l.id::text AS id, l.line_no AS "lineNo", l.amount::text AS amount, l.kind,
         CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object('id', r.id::text, 'name', r.name) END AS resource
  FROM cloud_cost_lines l LEFT JOIN cloud_resources r ON r.id = l.resource_id
  WHERE l.invoice_id = (SELECT id FROM cloud_invoices WHERE account_id = 'default' AND invoice_uuid = $1)
  ORDER BY l.id LIMIT 100`;

function dashboard(name: string, label: string, uuid: (v: Variables) => string): Query {
  return {
    name,
    label,
    cloudops: `query ($uuid: String!) {
      projects(first: 20) { edges { node { id name resourceCounts { kind total live stale }
        resources(first: 20) { edges { node { id kind name } } } } } }
      invoice(uuid: $uuid) { costLines(first: 100) { edges { node { id lineNo amount kind resource { id name } } } } } }`,
    postgraphile: `query ($uuid: String!) {
      allCloudProjects(first: 20, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) { nodes { rowId name
        resourceCounts { nodes { kind total live stale } }
        cloudResourcesByCloudProjectId(first: 20, orderBy: PRIMARY_KEY_ASC) { nodes { rowId kind name } } } }
      allCloudInvoices(condition: { accountId: "default", invoiceUuid: $uuid }, first: 1) { nodes {
        cloudCostLinesByInvoiceId(first: 100, orderBy: PRIMARY_KEY_ASC) { nodes { rowId lineNo amount kind
          cloudResourceByResourceId { rowId name } } } } } }`,
    variables: (v) => ({ uuid: uuid(v) }),
    floor: async (pool, variables) => {
      const [projects, lines] = await Promise.all([
        pool.query(PROJECTS_SQL),
        pool.query(INVOICE_LINES_SQL, [variables.uuid]),
      ]);
      return canonDashboard(projects.rows, lines.rows);
    },
    canon: {
      cloudops: (data) =>
        canonDashboard(
          nodes(data.projects).map((p: Json) => ({ ...p, resources: nodes(p.resources) })),
          nodes(data.invoice.costLines),
        ),
      postgraphile: (data) =>
        canonDashboard(
          nodes(data.allCloudProjects).map((p: Json) => ({
            id: p.rowId,
            name: p.name,
            resourceCounts: nodes(p.resourceCounts),
            resources: nodes(p.cloudResourcesByCloudProjectId).map((r: Json) => ({
              id: r.rowId,
              kind: r.kind,
              name: r.name,
            })),
          })),
          nodes(nodes(data.allCloudInvoices)[0].cloudCostLinesByInvoiceId).map((l: Json) => ({
            id: l.rowId,
            lineNo: l.lineNo,
            amount: l.amount,
            kind: l.kind,
            resource: l.cloudResourceByResourceId && {
              id: l.cloudResourceByResourceId.rowId,
              name: l.cloudResourceByResourceId.name,
            },
          })),
        ),
    },
  };
}

function canonDashboard(projects: Json[], lines: Json[]): Json {
  return {
    projects: projects.map((p) => ({
      id: id(p.id),
      name: p.name,
      counts: p.resourceCounts.map((k: Json) => [k.kind, k.total, k.live, k.stale]),
      resources: p.resources.map((r: Json) => [id(r.id), r.kind, r.name]),
    })),
    lines: lines.map((l) => [
      id(l.id),
      l.lineNo,
      money(l.amount),
      l.kind,
      id(l.resource?.id),
      l.resource?.name ?? null,
    ]),
  };
}

const LINE_PAGE_SQL = `
  SELECT l.id::text AS id, l.line_no AS "lineNo", l.product, l.description, l.kind, l.resource_name AS "resourceName",
         l.hours::text AS hours, l.amount::text AS amount, l.project_name AS "projectName",
         l.unmatched_reason AS "unmatchedReason",
         CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object('id', r.id::text, 'name', r.name) END AS resource
  FROM cloud_cost_lines l LEFT JOIN cloud_resources r ON r.id = l.resource_id
  WHERE l.invoice_id = (SELECT id FROM cloud_invoices WHERE account_id = 'default' AND invoice_uuid = $1)
  ORDER BY l.id LIMIT 100`;

const LINE_FIELDS = 'lineNo product description kind resourceName hours amount projectName unmatchedReason';
const canonLine = (l: Json): Json => ({
  ...l,
  id: id(l.id),
  hours: money(l.hours),
  amount: money(l.amount),
  unmatchedReason: l.unmatchedReason?.toLowerCase() ?? null,
  resource: l.resource && { id: id(l.resource.id), name: l.resource.name },
});

const linePage: Query = {
  name: 'lines',
  label: 'cost-lines page (100) of the newest invoice',
  cloudops: `query ($uuid: String!) { invoice(uuid: $uuid) { costLines(first: 100) { edges { node { id ${LINE_FIELDS}
    resource { id name } } } } } }`,
  postgraphile: `query ($uuid: String!) { allCloudInvoices(condition: { accountId: "default", invoiceUuid: $uuid }, first: 1) {
    nodes { cloudCostLinesByInvoiceId(first: 100, orderBy: PRIMARY_KEY_ASC) { nodes { rowId ${LINE_FIELDS}
      cloudResourceByResourceId { rowId name } } } } } }`,
  variables: (v) => ({ uuid: v.newestUuid }),
  floor: async (pool, variables) => (await pool.query(LINE_PAGE_SQL, [variables.uuid])).rows.map(canonLine),
  canon: {
    cloudops: (data) => nodes(data.invoice.costLines).map(canonLine),
    postgraphile: (data) =>
      nodes(nodes(data.allCloudInvoices)[0].cloudCostLinesByInvoiceId).map(
        ({ rowId, cloudResourceByResourceId: r, ...rest }: Json) =>
          canonLine({ id: rowId, ...rest, resource: r && { id: r.rowId, name: r.name } }),
      ),
  },
};

const COST = 'amount lineCount matchedAmount matchedCount';
const canonCost = (key: Json, row: Json): Json => [
  key,
  money(row.amount),
  row.lineCount ?? row.line_count,
  money(row.matchedAmount ?? row.matched_amount),
  row.matchedCount ?? row.matched_count,
];

function rollup(name: 'costByProject' | 'costByTenant' | 'costByKind'): Query {
  const key = { costByProject: 'project_id', costByTenant: 'tenant_id', costByKind: 'kind' } as const;
  const field = { costByProject: 'project { id name }', costByTenant: 'tenantId', costByKind: 'kind' }[name];
  const pgField = { costByProject: 'projectId projectName', costByTenant: 'tenantId', costByKind: 'kind' }[name];
  const keyOf = {
    cloudops: (row: Json) =>
      name === 'costByProject'
        ? row.project && [id(row.project.id), row.project.name]
        : name === 'costByTenant'
          ? row.tenantId
          : row.kind,
    postgraphile: (row: Json) =>
      name === 'costByProject'
        ? row.projectId === null
          ? null
          : [id(row.projectId), row.projectName]
        : name === 'costByTenant'
          ? row.tenantId
          : row.kind,
  };
  return {
    name,
    label: `${name}(period) of the newest month`,
    cloudops: `query ($period: String!) { ${name}(period: $period) { ${field} ${COST} } }`,
    postgraphile: `query ($period: String!) { ${name}(period: $period) { nodes { ${pgField} ${COST} } } }`,
    variables: (v) => ({ period: v.period }),
    floor: async (pool, variables) => {
      const sql =
        name === 'costByProject'
          ? `SELECT c.*, p.name FROM (${costBySql('project_id')}) c LEFT JOIN cloud_projects p ON p.id = c.project_id
             ORDER BY c.amount::numeric DESC, c.project_id NULLS LAST`
          : costBySql(key[name]);
      const { rows } = await pool.query(sql, [variables.period]);
      return rows.map((row: Json) =>
        canonCost(
          name === 'costByProject' ? (row.project_id === null ? null : [id(row.project_id), row.name]) : row[key[name]],
          row,
        ),
      );
    },
    canon: {
      cloudops: (data) => data[name].map((row: Json) => canonCost(keyOf.cloudops(row), row)),
      postgraphile: (data) => nodes(data[name]).map((row: Json) => canonCost(keyOf.postgraphile(row), row)),
    },
  };
}

export const QUERIES: readonly Query[] = [
  resourcePage,
  dashboard(
    'B',
    'dashboard: 20 projects with per-kind counts and 20 resources, 100 lines of the newest invoice',
    (v) => v.newestUuid,
  ),
  dashboard('B2', 'the same dashboard on the oldest invoice', (v) => v.oldestUuid),
  linePage,
  rollup('costByProject'),
  rollup('costByTenant'),
  rollup('costByKind'),
];
