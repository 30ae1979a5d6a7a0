// Every paged list the schema can issue is served by an index for its filter and its order: each case below
// runs through the real GraphQL API (real JWTs), the SQL it sends is captured at the pool, and each SELECT is
// replayed under EXPLAIN ANALYZE against a database large enough that the planner cares. A sequential scan
// of a large table, or a scan that throws away more than ten rows for each row it returns, fails the case.
// The cases are checked against the schema: a connection field, an argument, a filter field or an order
// value without a case fails too, so a list added later cannot go unexamined.
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isObjectType,
  type GraphQLField,
  type GraphQLNamedType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';
import { startApi, token, type Api } from './helpers/api.js';
import { gql } from './helpers/graphql.js';
import { seedReadPath } from './helpers/read-path-fixture.js';

/** A table below this many rows may be read whole: that is what the planner should do with it. */
const SMALL_TABLE_ROWS = 1000;
/** A scan may discard at most this many rows per row it returns... */
const MAX_FILTER_RATIO = 10;
/**
 * ...once it discards this many at all. Below it (a tenant's few hundred rows filtered by a second condition)
 * the planner rightly filters rather than combine a second index; it combines them as the numbers grow.
 */
const MIN_REMOVED = 1000;

type Who = 'admin' | 'tenant';

interface Case {
  who: Who;
  /** The selection, with its arguments; `$resource`, `$project`, `$invoice` are replaced by seeded ids. */
  query: string;
}

const PAGE = '{ totalCount edges { cursor node { id } } }';
const root = (field: string, args: string): string => `{ ${field}${args ? `(${args})` : ''} ${PAGE} }`;

/**
 * The cases per connection field ("Type.field"). Each argument, each filter input field and each order value
 * of a field must appear in at least one case.
 */
const CASES: Record<string, Case[]> = {
  'Query.resources': [
    { who: 'admin', query: root('resources', 'first: 20') },
    { who: 'tenant', query: root('resources', 'first: 20') },
    { who: 'admin', query: root('resources', 'first: 20, after: "$cursor"') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { kind: ["volume"] }') },
    { who: 'tenant', query: root('resources', 'first: 20, filter: { kind: ["volume"] }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { kind: ["volume", "container_registry"] }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { region: ["sgp1"] }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { status: ["off"] }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { state: LIVE }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { state: STALE }') },
    { who: 'tenant', query: root('resources', 'first: 20, filter: { state: STALE }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { state: ALL }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { projectId: "$project" }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { unattributed: true }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { unattributed: false }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { tenantId: "tenant-7" }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { tag: "team:7" }') },
    { who: 'tenant', query: root('resources', 'first: 20, filter: { tag: "team:7" }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { search: "$search" }') },
    { who: 'tenant', query: root('resources', 'first: 20, filter: { search: "$search" }') },
    { who: 'admin', query: root('resources', 'first: 20, filter: { search: "pid-4711" }') },
    ...['ID', 'KIND', 'NAME', 'REGION', 'STATUS', 'PROVIDER_CREATED_AT', 'FIRST_SEEN_AT', 'LAST_SEEN_AT'].flatMap(
      (field) =>
        (['ASC', 'DESC'] as const).map((direction): Case => ({
          who: 'admin',
          query: root('resources', `first: 20, orderBy: { field: ${field}, direction: ${direction} }`),
        })),
    ),
  ],
  'Query.projects': [
    { who: 'admin', query: root('projects', 'first: 20') },
    { who: 'tenant', query: root('projects', 'first: 20') },
    { who: 'admin', query: root('projects', 'first: 20, after: "$cursor"') },
    { who: 'admin', query: root('projects', 'first: 20, filter: { tenantId: "tenant-7" }') },
    { who: 'admin', query: root('projects', 'first: 20, filter: { unassigned: true }') },
    { who: 'admin', query: root('projects', 'first: 20, filter: { unassigned: false }') },
    { who: 'admin', query: root('projects', 'first: 20, filter: { search: "$psearch" }') },
    { who: 'admin', query: root('projects', 'first: 20, filter: { includeStale: false }') },
  ],
  'Project.resources': [
    { who: 'admin', query: `{ project(id: "$project") { resources(first: 20) ${PAGE} } }` },
    { who: 'tenant', query: `{ project(id: "$project") { resources(first: 20) ${PAGE} } }` },
    {
      who: 'admin',
      query: `{ project(id: "$project") { resources(first: 20, filter: { kind: ["droplet"], state: LIVE }) ${PAGE} } }`,
    },
    { who: 'admin', query: `{ projects(first: 20) { edges { node { id resources(first: 5) ${PAGE} } } } }` },
    ...[
      'region: ["sgp1"]',
      'status: ["off"]',
      'state: STALE',
      'projectId: "$project"',
      'unattributed: false',
      'tenantId: "tenant-7"',
      'tag: "team:7"',
      'search: "$search"',
    ].map((filter): Case => ({
      who: 'admin',
      query: `{ project(id: "$project") { resources(first: 20, filter: { ${filter} }) ${PAGE} } }`,
    })),
    {
      who: 'admin',
      query: `{ project(id: "$project") { resources(first: 5, after: "$cursor") ${PAGE} } }`,
    },
  ],
  'Query.invoices': [
    { who: 'admin', query: root('invoices', 'first: 20') },
    { who: 'admin', query: root('invoices', 'first: 20, period: "2026-11"') },
    { who: 'admin', query: root('invoices', 'first: 20, status: INGESTED') },
    { who: 'admin', query: root('invoices', 'first: 20, provisional: true') },
    { who: 'admin', query: root('invoices', 'first: 5, after: "$cursor"') },
  ],
  'Invoice.costLines': [
    { who: 'admin', query: `{ invoice(uuid: "$invoice") { costLines(first: 50) ${PAGE} } }` },
    { who: 'admin', query: `{ invoice(uuid: "$invoice") { costLines(first: 50, after: "$cursor") ${PAGE} } }` },
    { who: 'admin', query: `{ invoice(uuid: "$invoice") { costLines(first: 50, kind: ["volume"]) ${PAGE} } }` },
    { who: 'admin', query: `{ invoice(uuid: "$invoice") { costLines(first: 50, matched: false) ${PAGE} } }` },
    { who: 'admin', query: `{ invoice(uuid: "$invoice") { costLines(first: 50, matched: true) ${PAGE} } }` },
    {
      who: 'admin',
      query: `{ invoice(uuid: "$invoice") { costLines(first: 50, unmatchedReason: KIND_NOT_SYNCED) ${PAGE} } }`,
    },
    { who: 'admin', query: `{ invoices(first: 3) { edges { node { id costLines(first: 10) ${PAGE} } } } }` },
  ],
  'Query.costLines': [
    { who: 'admin', query: root('costLines', 'first: 50, period: "2026-11"') },
    { who: 'admin', query: root('costLines', 'first: 50, period: "2026-11", after: "$cursor"') },
    { who: 'admin', query: root('costLines', 'first: 50, period: "2026-11", kind: ["volume"]') },
    { who: 'admin', query: root('costLines', 'first: 50, period: "2026-11", matched: false') },
    { who: 'admin', query: root('costLines', 'first: 50, period: "2026-11", matched: true') },
    { who: 'admin', query: root('costLines', 'first: 50, period: "2026-11", unmatchedReason: KIND_NOT_SYNCED') },
    { who: 'admin', query: root('costLines', 'first: 50, period: "2026-11", projectId: "$project"') },
  ],
  'Resource.costLines': [
    { who: 'admin', query: `{ resource(id: "$resource") { costLines(first: 20) ${PAGE} } }` },
    { who: 'admin', query: `{ resource(id: "$resource") { costLines(first: 20, period: "2026-11") ${PAGE} } }` },
    { who: 'admin', query: `{ resource(id: "$resource") { costLines(first: 5, after: "$cursor") ${PAGE} } }` },
  ],
  'Query.syncRuns': [
    { who: 'admin', query: root('syncRuns', 'first: 20') },
    { who: 'admin', query: root('syncRuns', 'first: 20, after: "$cursor"') },
    { who: 'admin', query: root('syncRuns', 'first: 20, task: "volume"') },
    { who: 'admin', query: root('syncRuns', 'first: 20, status: FAILED') },
  ],
  'Query.balanceHistory': [
    { who: 'admin', query: root('balanceHistory', 'first: 20') },
    { who: 'admin', query: root('balanceHistory', 'first: 20, after: "$cursor"') },
    { who: 'admin', query: root('balanceHistory', 'first: 20, since: "2026-11-20T00:00:00Z"') },
  ],
};

/**
 * Findings accepted, each for one case and one plan shape, with the reason. Printed on every run; a finding that
 * no longer occurs is reported too, so the list does not outlive its reasons.
 */
const ALLOWED: Array<{ field: string; query: string; problem: RegExp; reason: string }> = [
  {
    field: 'Query.resources',
    query: 'kind: ["volume", "container_registry"]',
    problem: /Index Scan on cloud_resources using cloud_resources_pkey removed/,
    reason:
      'several kinds: no btree yields rows of two kinds in id order, so the planner chooses between walking the id order with a filter (here ~2,000 rows, under 1 ms) and reading every row of those kinds and sorting; one kind uses (kind, id)',
  },
  ...['ASC', 'DESC'].map((direction) => ({
    field: 'Query.resources',
    query: `field: LAST_SEEN_AT, direction: ${direction}`,
    problem: /Seq Scan on cloud_resources/,
    reason:
      'last_seen_at has no index on purpose: every sync rewrites it on every row, and an index on it would make each of those updates write every index of the table',
  })),
  {
    field: 'Query.costLines',
    query: 'projectId: "$project"',
    problem: /Hash Join on \(join\) removed/,
    reason:
      "a project's lines are those of its resources OR those naming it without a resource: an OR across two joined tables no index serves; the scan is bounded by one period's lines (period, id), not by history",
  },
];

const PAGING_ARGS = new Set(['first', 'last', 'before', 'after']);

/** Every field of every object type whose type is a connection: "Type.field" with the field. */
function connectionFields(): Map<string, GraphQLField<unknown, unknown>> {
  const found = new Map<string, GraphQLField<unknown, unknown>>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (getNamedType(field.type).name.endsWith('Connection')) found.set(`${type.name}.${field.name}`, field);
    }
  }
  return found;
}

/**
 * What a case list must mention: each argument, each field of an input argument, and each value of an order
 * (an enum inside an `...Order` input). Other enum values filter the same column as each other: one will do.
 */
function requiredMentions(field: GraphQLField<unknown, unknown>): string[] {
  const mentions: string[] = [];
  const visitInput = (type: GraphQLNamedType, seen: Set<string>, inOrder = false): void => {
    if (seen.has(type.name)) return;
    seen.add(type.name);
    if (isEnumType(type) && inOrder && type.name !== 'OrderDirection')
      for (const value of type.getValues()) mentions.push(value.name);
    if (isInputObjectType(type))
      for (const inner of Object.values(type.getFields())) {
        mentions.push(`${inner.name}:`);
        visitInput(getNamedType(inner.type), seen, type.name.endsWith('Order'));
      }
  };
  for (const arg of field.args) {
    if (PAGING_ARGS.has(arg.name)) continue;
    mentions.push(`${arg.name}:`);
    visitInput(getNamedType(arg.type), new Set());
  }
  mentions.push('after:');
  return mentions;
}

/** The edges of the innermost connection of a response (the one the case pages through). */
function innermostEdges(value: unknown): Array<{ cursor: string }> {
  let found: Array<{ cursor: string }> = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const edges = (node as { edges?: unknown }).edges;
      if (Array.isArray(edges) && edges.length > 0) found = edges as Array<{ cursor: string }>;
      Object.values(node).forEach(walk);
    }
  };
  walk(value);
  return found;
}

interface Statement {
  text: string;
  values: unknown[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

interface Finding {
  indexes: string[];
  problems: string[];
}

/**
 * What a plan reads and what is wrong with it. A table below SMALL_TABLE_ROWS may be read any way. A Seq Scan
 * of a larger table is allowed only in a count that returns most of the table (an unfiltered count: reading
 * every row is the answer), never under a Limit (a page). A scan that discards more than MAX_FILTER_RATIO rows by filter for each row it returns
 * (walking an index in order and filtering, the failure this test exists for) fails, past MIN_REMOVED.
 */
function inspect(plan: PlanNode, tableRows: Map<string, number>): Finding {
  const finding: Finding = { indexes: [], problems: [] };
  // A page (a Limit anywhere in the plan) must not read a large table whole, whatever it returns.
  const paged = JSON.stringify(plan).includes('"Node Type":"Limit"');
  const walk = (node: PlanNode): void => {
    const relation = node['Relation Name'];
    const rows = relation === undefined ? undefined : tableRows.get(relation);
    const large = rows === undefined || rows >= SMALL_TABLE_ROWS;
    const returned = (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1);
    const removed = (node['Rows Removed by Filter'] ?? 0) * (node['Actual Loops'] ?? 1);
    if (node['Index Name']) finding.indexes.push(node['Index Name']);
    if (node['Node Type'] === 'Seq Scan' && large && (paged || returned < (rows ?? 0) / 2))
      finding.problems.push(`Seq Scan on ${relation} (${rows} rows) returned ${returned}`);
    else if (large && removed >= MIN_REMOVED && removed > MAX_FILTER_RATIO * Math.max(returned, 1))
      finding.problems.push(
        `${node['Node Type']} on ${relation ?? '(join)'}${node['Index Name'] ? ` using ${node['Index Name']}` : ''} removed ${removed} rows by filter for ${returned} returned`,
      );
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return finding;
}

describe('read path indexes', () => {
  let api: Api;
  const captured: Statement[] = [];
  let capturing = false;
  const tokens: Record<Who, string> = { admin: '', tenant: '' };
  const ids: Record<string, string> = {};
  const tableRows = new Map<string, number>();

  beforeAll(async () => {
    api = await startApi();
    api.pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        const [first, second] = args as [unknown, unknown];
        if (capturing) {
          const text = typeof first === 'string' ? first : ((first as { text?: string }).text ?? '');
          const values =
            typeof first === 'string' ? (second as unknown[] | undefined) : (first as { values?: unknown[] }).values;
          captured.push({ text, values: Array.isArray(values) ? values : [] });
        }
        return query(...args);
      };
    });
    await seedReadPath(api.pool);
    const { rows } = await api.pool.query<{ relname: string; n: number }>(
      `SELECT relname, reltuples::int AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`,
    );
    for (const row of rows) tableRows.set(row.relname, row.n);
    tokens.admin = await token({ admin: true, sub: 'ops' });
    tokens.tenant = await token({ tenant: 'tenant-7', sub: 'user-7' });
    const one = async (sql: string): Promise<string> =>
      String((await api.pool.query<{ v: string | number }>(sql)).rows[0]!.v);
    ids.project = await one(`SELECT id AS v FROM cloud_projects WHERE tenant_id = 'tenant-7' ORDER BY id LIMIT 1`);
    // A resource matched by a line of every month (the fixture matches ids 1 + 5n).
    ids.resource = await one(`SELECT id AS v FROM cloud_resources WHERE id = 4006`);
    ids.invoice = 'inv-2026-11';
    // A part of one resource's (and one project's) name; `pid-4711` is the exact provider id of another.
    ids.search = await one(`SELECT substr(md5('4711'), 3, 6) AS v`);
    ids.psearch = await one(`SELECT substr(md5('p1234'), 3, 6) AS v`);
  }, 300_000);

  afterAll(async () => {
    await api?.close();
  });

  it('has a case for every connection field, argument, filter field and order value of the schema', () => {
    const missing: string[] = [];
    for (const [name, field] of connectionFields()) {
      const cases = CASES[name];
      if (!cases?.length) {
        missing.push(`${name}: no case`);
        continue;
      }
      const text = cases.map((c) => c.query).join('\n');
      for (const mention of requiredMentions(field)) if (!text.includes(mention)) missing.push(`${name}: ${mention}`);
    }
    for (const name of Object.keys(CASES))
      if (!connectionFields().has(name)) missing.push(`${name}: not in the schema`);
    expect(missing).toEqual([]);
  });

  it('serves every case from an index', async () => {
    const report: string[] = [];
    const failures: string[] = [];
    const usedAllowances = new Set<(typeof ALLOWED)[number]>();
    for (const [name, cases] of Object.entries(CASES)) {
      for (const c of cases) {
        let query = c.query.replace(/\$(project|resource|invoice|psearch|search)/g, (_m, key: string) => ids[key]!);
        if (query.includes('$cursor')) {
          // The cursor of the 20th row of the same list without `after`.
          const first = await gql(api.url, query.replace(/, after: "\$cursor"/, ''), { token: tokens[c.who] });
          const edges = innermostEdges(first.body.data);
          query = query.replace('$cursor', edges[edges.length - 1]!.cursor);
        }
        captured.splice(0);
        capturing = true;
        const response = await gql(api.url, query, { token: tokens[c.who] });
        capturing = false;
        expect(response.body.errors, `${name} ${query}`).toBeUndefined();
        const selects = captured.filter((s) => /^\s*(SELECT|WITH)\b/i.test(s.text));
        expect(selects.length, `${name}: ${query} sent no SELECT`).toBeGreaterThan(0);
        for (const statement of selects) {
          const { rows } = await api.pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
            `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`,
            statement.values,
          );
          const finding = inspect(rows[0]!['QUERY PLAN'][0]!.Plan, tableRows);
          const label = `${name} [${c.who}] ${query.replace(/\s+/g, ' ').slice(0, 140)}`;
          const notes: string[] = [];
          let failed = false;
          for (const problem of finding.problems) {
            const allowed = ALLOWED.find(
              (a) => a.field === name && c.query.includes(a.query) && a.problem.test(problem),
            );
            if (allowed) {
              usedAllowances.add(allowed);
              notes.push(`       allowed: ${problem}: ${allowed.reason}`);
              continue;
            }
            failed = true;
            failures.push(
              `${label}\n    ${problem}\n    SQL: ${statement.text} -- ${JSON.stringify(statement.values)}`,
            );
          }
          report.push(
            `${failed ? 'FAIL' : 'ok  '} ${label}\n       indexes: ${[...new Set(finding.indexes)].join(', ') || '(none)'}`,
            ...notes,
          );
        }
      }
    }
    console.log(report.join('\n'));
    if (failures.length) console.log(failures.join('\n'));
    for (const allowance of ALLOWED)
      if (!usedAllowances.has(allowance))
        failures.push(`allowance no longer needed: ${allowance.field} ${allowance.query}`);
    expect(failures.map((failure) => failure.split('\n    SQL')[0])).toEqual([]);
  }, 300_000);
});
