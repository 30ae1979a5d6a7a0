/**
 * The inventory sync's SQL, one typed function per statement: each page of a listing goes to the database as ONE
 * statement (a JSON array unpacked by `jsonb_to_recordset`), never a statement per row.
 *
 * Clock: every timestamp is the database's `now()`, and a run's start is the `started_at` the database gave its
 * `sync_runs` row. "Not seen in this run" is therefore `last_seen_at < started_at` on one clock, whatever the
 * worker machine's clock says.
 *
 * Counting created / updated / unchanged in the statement that writes: a CTE reads the old rows (`old`) in the
 * statement's snapshot, i.e. before the upsert, and the outer SELECT joins them to what the upsert returned.
 * `updated` means the fingerprint (hash of the normalized row) changed; a row seen again with the same fingerprint
 * is `unchanged` even though its last_seen_at moves.
 */

import type { QueryResult, QueryResultRow } from 'pg';
import { fingerprint, type NormalizedProject, type NormalizedResource } from './normalize.js';

/** What the inventory needs from a database handle: `pg.Pool` fits, and so does a wrapper that counts statements. */
export interface SqlClient {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/**
 * One page of one kind. $1 account, $2 kind, $3 JSON array of normalized rows
 * `{provider_id, name, region, status, size, tags, attrs, fingerprint, provider_created_at}` (provider ids unique
 * within the page). Seen again resets miss_count and stale_at. Attribution columns are not touched here: they
 * belong to the projects sync (and to operators).
 *
 * Counting without reading the old rows first (that read cost as much as the write): a row the statement inserted
 * has `xmax = 0` (PostgreSQL's own upsert idiom; PostgreSQL 18 has `RETURNING old.*` for this), and `updated_at`
 * moves to this statement's time only when the fingerprint changed, so a conflicting row whose updated_at is now
 * was updated and any other one is unchanged. (`now()::timestamptz(3)` rounds exactly as the column stores it.)
 */
const UPSERT_RESOURCES = `
WITH upserted AS (
  INSERT INTO cloud_resources AS r (
    account_id, kind, provider_id, name, region, status, size, tags, attrs, fingerprint, provider_created_at,
    first_seen_at, last_seen_at, miss_count, stale_at, created_at, updated_at)
  SELECT $1, $2, i.provider_id, i.name, i.region, i.status, i.size, coalesce(i.tags, '{}'), coalesce(i.attrs, '{}'),
    i.fingerprint, i.provider_created_at, now(), now(), 0, NULL, now(), now()
  FROM jsonb_to_recordset($3::jsonb) AS i(
    provider_id text, name text, region text, status text, size text, tags text[], attrs jsonb,
    fingerprint text, provider_created_at timestamptz)
  ON CONFLICT (account_id, kind, provider_id) DO UPDATE SET
    name = excluded.name, region = excluded.region, status = excluded.status, size = excluded.size,
    tags = excluded.tags, attrs = excluded.attrs, fingerprint = excluded.fingerprint,
    provider_created_at = excluded.provider_created_at,
    last_seen_at = excluded.last_seen_at, miss_count = 0, stale_at = NULL,
    updated_at = CASE WHEN r.fingerprint IS DISTINCT FROM excluded.fingerprint THEN excluded.updated_at ELSE r.updated_at END
  RETURNING r.xmax = 0 AS inserted, r.updated_at = now()::timestamptz(3) AS changed
)
SELECT
  count(*) FILTER (WHERE inserted)::int AS created,
  count(*) FILTER (WHERE NOT inserted AND changed)::int AS updated,
  count(*) FILTER (WHERE NOT inserted AND NOT changed)::int AS unchanged
FROM upserted`;

/** Consecutive complete listings a row may be missing from before it is stale. */
const MISSES_BEFORE_STALE = 3;

/**
 * One more miss for every row of `table` that `where` selects (rows not seen by a complete listing); the
 * MISSES_BEFORE_STALE-th consecutive miss sets stale_at. Returns `missed` and `marked_stale` (stale in this statement).
 */
function markStale(table: string, where: string): string {
  return `
WITH missed AS (
  UPDATE ${table} SET
    miss_count = miss_count + 1,
    stale_at = CASE WHEN stale_at IS NULL AND miss_count + 1 >= ${MISSES_BEFORE_STALE} THEN now() ELSE stale_at END,
    updated_at = now()
  WHERE ${where}
  RETURNING miss_count
)
SELECT count(*)::int AS missed, count(*) FILTER (WHERE miss_count = ${MISSES_BEFORE_STALE})::int AS marked_stale FROM missed`;
}

/**
 * After a COMPLETE listing: every row of the kinds ($2) not seen since the run started ($3) misses once more; the
 * third consecutive miss sets stale_at. Rows stay (deleted resources still appear on invoices). `missed` counts
 * the rows that missed, `marked_stale` those that became stale in this statement (their third miss).
 */
const MARK_STALE_RESOURCES = markStale(
  'cloud_resources',
  'account_id = $1 AND kind = ANY($2::text[]) AND last_seen_at < $3',
);

/** Like MARK_STALE_RESOURCES, for every kind NOT in $2: the rows the projects walk creates from URNs. */
const MARK_STALE_URN_RESOURCES = markStale(
  'cloud_resources',
  'account_id = $1 AND NOT (kind = ANY($2::text[])) AND last_seen_at < $3',
);

/**
 * One page of projects. $1 account, $2 JSON array of normalized projects. tenant_id is never written (operators
 * own it) but returned, with the local id, so the membership walk can attribute without another query.
 */
const UPSERT_PROJECTS = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(
    provider_id text, name text, description text, purpose text, environment text, is_default boolean,
    provider_created_at timestamptz, provider_updated_at timestamptz)
),
old AS (
  SELECT p.provider_id, p.name, p.description, p.purpose, p.environment, p.is_default, p.provider_created_at,
    p.provider_updated_at, p.stale_at
  FROM input i
  CROSS JOIN LATERAL (
    SELECT * FROM cloud_projects p WHERE p.account_id = $1 AND p.provider_id = i.provider_id LIMIT 1
  ) p
),
upserted AS (
  INSERT INTO cloud_projects AS p (
    account_id, provider_id, name, description, purpose, environment, is_default, provider_created_at,
    provider_updated_at, first_seen_at, last_seen_at, miss_count, stale_at, created_at, updated_at)
  SELECT $1, i.provider_id, i.name, i.description, i.purpose, i.environment, coalesce(i.is_default, false),
    i.provider_created_at, i.provider_updated_at, now(), now(), 0, NULL, now(), now()
  FROM input i
  ON CONFLICT (account_id, provider_id) DO UPDATE SET
    name = excluded.name, description = excluded.description, purpose = excluded.purpose,
    environment = excluded.environment, is_default = excluded.is_default,
    provider_created_at = excluded.provider_created_at, provider_updated_at = excluded.provider_updated_at,
    last_seen_at = excluded.last_seen_at, miss_count = 0, stale_at = NULL, updated_at = excluded.updated_at
  RETURNING p.id, p.provider_id, p.tenant_id, p.is_default
)
SELECT u.id, u.provider_id, u.tenant_id, u.is_default,
  CASE
    WHEN o.provider_id IS NULL THEN 'created'
    WHEN (o.name, o.description, o.purpose, o.environment, o.is_default, o.provider_created_at, o.provider_updated_at)
      IS DISTINCT FROM
      (i.name, i.description, i.purpose, i.environment, coalesce(i.is_default, false), i.provider_created_at,
       i.provider_updated_at)
    THEN 'updated'
    ELSE 'unchanged'
  END AS change,
  (o.stale_at IS NOT NULL) AS revived
FROM upserted u
JOIN input i ON i.provider_id = u.provider_id
LEFT JOIN old o ON o.provider_id = u.provider_id`;

/** After a complete projects listing: $1 account, $2 run start. Same rule as resources. */
const MARK_STALE_PROJECTS = markStale('cloud_projects', 'account_id = $1 AND last_seen_at < $2');

/**
 * One page of a project's members, in one statement. $1 account, $2 local project id, $3 the project's tenant,
 * $4 JSON array `{kind, provider_id, create_row, name, attrs, fingerprint}` (unique (kind, provider_id)).
 *
 * - `create_row` members (kinds no listing covers: spaces buckets, VPCs, unknown URN types kept verbatim) are
 *   upserted from the URN, attributed, and marked seen.
 * - the others (listable kinds) are only attributed, and only where something changes. A row that does not exist
 *   yet is left alone (its own listing creates it; the next walk attributes it) and counted as `unmatched`.
 * - DigitalOcean's placement wins over everything, an operator's manual classification included.
 *
 * `attributed` counts the rows whose project, tenant or attribution source changed (new URN rows included).
 */
const ATTRIBUTE_MEMBERS = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($4::jsonb) AS x(
    kind text, provider_id text, create_row boolean, name text, attrs jsonb, fingerprint text)
),
old AS (
  -- One index lookup per member (LIMIT 1 keeps the planner from turning this into a scan of the whole account).
  SELECT i.kind, i.provider_id, r.fingerprint, r.cloud_project_id, r.tenant_id, r.attribution_source
  FROM input i
  CROSS JOIN LATERAL (
    SELECT r.fingerprint, r.cloud_project_id, r.tenant_id, r.attribution_source FROM cloud_resources r
    WHERE r.account_id = $1 AND r.kind = i.kind AND r.provider_id = i.provider_id LIMIT 1
  ) r
),
from_urn AS (
  INSERT INTO cloud_resources AS r (
    account_id, kind, provider_id, name, attrs, fingerprint, cloud_project_id, tenant_id, attribution_source,
    first_seen_at, last_seen_at, miss_count, stale_at, created_at, updated_at)
  SELECT $1, i.kind, i.provider_id, i.name, coalesce(i.attrs, '{}'), i.fingerprint, $2::int, $3::text, 'project',
    now(), now(), 0, NULL, now(), now()
  FROM input i WHERE i.create_row
  ON CONFLICT (account_id, kind, provider_id) DO UPDATE SET
    name = excluded.name, attrs = excluded.attrs, fingerprint = excluded.fingerprint,
    cloud_project_id = excluded.cloud_project_id, tenant_id = excluded.tenant_id, attribution_source = 'project',
    last_seen_at = excluded.last_seen_at, miss_count = 0, stale_at = NULL,
    updated_at = CASE
      WHEN (r.fingerprint, r.cloud_project_id, r.tenant_id, r.attribution_source, r.miss_count, r.stale_at)
        IS DISTINCT FROM (excluded.fingerprint, excluded.cloud_project_id, excluded.tenant_id, 'project', 0,
          NULL::timestamptz)
      THEN excluded.updated_at ELSE r.updated_at END
  RETURNING r.kind, r.provider_id, r.fingerprint
),
attributed AS (
  UPDATE cloud_resources r SET
    cloud_project_id = $2::int, tenant_id = $3::text, attribution_source = 'project', updated_at = now()
  FROM input i
  WHERE NOT i.create_row AND r.account_id = $1 AND r.kind = i.kind AND r.provider_id = i.provider_id
    AND (r.cloud_project_id IS DISTINCT FROM $2::int OR r.tenant_id IS DISTINCT FROM $3::text
      OR r.attribution_source IS DISTINCT FROM 'project')
  RETURNING r.id
)
SELECT
  (SELECT count(*) FROM from_urn f LEFT JOIN old o ON o.kind = f.kind AND o.provider_id = f.provider_id
    WHERE o.provider_id IS NULL)::int AS created,
  (SELECT count(*) FROM from_urn f JOIN old o ON o.kind = f.kind AND o.provider_id = f.provider_id
    WHERE o.fingerprint IS DISTINCT FROM f.fingerprint)::int AS updated,
  (SELECT count(*) FROM from_urn f JOIN old o ON o.kind = f.kind AND o.provider_id = f.provider_id
    WHERE o.fingerprint IS NOT DISTINCT FROM f.fingerprint)::int AS unchanged,
  ((SELECT count(*) FROM attributed) + (SELECT count(*) FROM from_urn f LEFT JOIN old o
    ON o.kind = f.kind AND o.provider_id = f.provider_id
    WHERE (o.cloud_project_id, o.tenant_id, o.attribution_source) IS DISTINCT FROM ($2::int, $3::text, 'project')))::int
    AS attributed,
  (SELECT count(*) FROM input i WHERE NOT i.create_row
    AND EXISTS (SELECT 1 FROM old o WHERE o.kind = i.kind AND o.provider_id = i.provider_id))::int AS matched`;

/**
 * After a complete walk of every project: resources placed in no project. $1 account, $2 JSON array of the
 * (kind, provider_id) pairs that ARE placed (or whose membership was uncertain: those are left alone too),
 * $3 fallback local project id, $4 fallback tenant, $5 whether a fallback is configured, $6 kinds that never
 * fall back (DNS zones wait for an operator).
 *
 * Left alone: manual classifications, stale rows and rows already missed by a listing (a deleted resource leaves
 * its projects before its listing notices; it keeps its last attribution for the invoices that still bill it).
 */
const ATTRIBUTE_UNPLACED = `
WITH target AS (
  SELECT r.id,
    CASE WHEN $5::boolean AND NOT (r.kind = ANY($6::text[])) THEN $3::int END AS project_id,
    CASE WHEN $5::boolean AND NOT (r.kind = ANY($6::text[])) THEN $4::text END AS tenant_id,
    CASE WHEN $5::boolean AND NOT (r.kind = ANY($6::text[])) THEN 'fallback' END AS source
  FROM cloud_resources r
  WHERE r.account_id = $1 AND r.stale_at IS NULL AND r.miss_count = 0
    AND r.attribution_source IS DISTINCT FROM 'manual'
    -- NOT IN over the set becomes a hashed subplan: one hash probe per row, whatever the planner believes about the
    -- table (NOT EXISTS was planned as a nested loop over both sets on a young table: minutes at 30,000 rows).
    AND (r.kind, r.provider_id) NOT IN (SELECT x.kind, x.provider_id FROM jsonb_to_recordset($2::jsonb) AS x(kind text, provider_id text))
),
changed AS (
  UPDATE cloud_resources r SET
    cloud_project_id = t.project_id, tenant_id = t.tenant_id, attribution_source = t.source, updated_at = now()
  FROM target t
  WHERE r.id = t.id
    AND (r.cloud_project_id, r.tenant_id, r.attribution_source) IS DISTINCT FROM (t.project_id, t.tenant_id, t.source)
  RETURNING t.source
)
SELECT
  (SELECT count(*) FROM target)::int AS unplaced,
  (SELECT count(*) FROM changed WHERE source = 'fallback')::int AS to_fallback,
  (SELECT count(*) FROM changed WHERE source IS NULL)::int AS unattributed`;

/** The local id and tenant of the configured fallback project (by its DigitalOcean id). */
const FIND_PROJECT = `
SELECT id, tenant_id FROM cloud_projects WHERE account_id = $1 AND provider_id = $2`;

// ---------------------------------------------------------------------------------------------------------------
// The statements as functions

export interface WriteCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface StaleCounts {
  missed: number;
  markedStale: number;
}

function staleCounts(result: QueryResult<{ missed: number; marked_stale: number }>): StaleCounts {
  const row = result.rows[0];
  return { missed: row?.missed ?? 0, markedStale: row?.marked_stale ?? 0 };
}

function isoOrNull(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/** Writes one page of one kind (provider ids unique within the page). */
export async function upsertResources(
  db: SqlClient,
  accountId: string,
  kind: string,
  resources: readonly NormalizedResource[],
): Promise<WriteCounts> {
  const rows = resources.map((n) => {
    // name, region, status, size, tags, attrs go as they are.
    const { kind: _kind, providerId, providerCreatedAt, ...fields } = n;
    return {
      provider_id: providerId,
      ...fields,
      fingerprint: fingerprint(n),
      provider_created_at: isoOrNull(providerCreatedAt),
    };
  });
  const result = await db.query<WriteCounts>(UPSERT_RESOURCES, [accountId, kind, JSON.stringify(rows)]);
  return result.rows[0] ?? { created: 0, updated: 0, unchanged: 0 };
}

/** After a complete listing of `kinds`: their rows not seen since `since` miss once more. */
export async function markStaleResources(
  db: SqlClient,
  accountId: string,
  kinds: readonly string[],
  since: Date,
): Promise<StaleCounts> {
  return staleCounts(await db.query(MARK_STALE_RESOURCES, [accountId, kinds, since]));
}

/** After a complete walk of every project: rows of kinds NOT in `listedKinds` (made from URNs) not seen since `since`. */
export async function markStaleUrnResources(
  db: SqlClient,
  accountId: string,
  listedKinds: readonly string[],
  since: Date,
): Promise<StaleCounts> {
  return staleCounts(await db.query(MARK_STALE_URN_RESOURCES, [accountId, listedKinds, since]));
}

export interface ProjectRow {
  id: number;
  providerId: string;
  tenantId: string | null;
  isDefault: boolean;
  change: 'created' | 'updated' | 'unchanged';
  revived: boolean;
}

/** Writes one page of projects; returns each with its local id and tenant. */
export async function upsertProjects(
  db: SqlClient,
  accountId: string,
  projects: readonly NormalizedProject[],
): Promise<ProjectRow[]> {
  const rows = projects.map((p) => ({
    provider_id: p.providerId,
    name: p.name,
    description: p.description,
    purpose: p.purpose,
    environment: p.environment,
    is_default: p.isDefault,
    provider_created_at: isoOrNull(p.providerCreatedAt),
    provider_updated_at: isoOrNull(p.providerUpdatedAt),
  }));
  const result = await db.query<{
    id: number;
    provider_id: string;
    tenant_id: string | null;
    is_default: boolean;
    change: ProjectRow['change'];
    revived: boolean;
  }>(UPSERT_PROJECTS, [accountId, JSON.stringify(rows)]);
  return result.rows.map((r) => ({
    id: r.id,
    providerId: r.provider_id,
    tenantId: r.tenant_id,
    isDefault: r.is_default,
    change: r.change,
    revived: r.revived,
  }));
}

/** After a complete projects listing: projects not seen since `since` miss once more. */
export async function markStaleProjects(db: SqlClient, accountId: string, since: Date): Promise<StaleCounts> {
  return staleCounts(await db.query(MARK_STALE_PROJECTS, [accountId, since]));
}

/** One member of a project, as ATTRIBUTE_MEMBERS reads it. */
export interface MemberRow {
  kind: string;
  provider_id: string;
  /** True for kinds no listing covers: the row is made from the URN. */
  create_row: boolean;
  name: string | null;
  attrs: Record<string, unknown> | null;
  fingerprint: string | null;
}

export interface MemberCounts extends WriteCounts {
  attributed: number;
  matched: number;
}

/** Attributes one page of a project's members to it (and upserts the members made from URNs). */
export async function attributeMembers(
  db: SqlClient,
  accountId: string,
  project: { id: number; tenantId: string | null },
  members: readonly MemberRow[],
): Promise<MemberCounts | undefined> {
  const result = await db.query<MemberCounts>(ATTRIBUTE_MEMBERS, [
    accountId,
    project.id,
    project.tenantId,
    JSON.stringify(members),
  ]);
  return result.rows[0];
}

export interface Fallback {
  configured: boolean;
  projectId: number | null;
  tenantId: string | null;
}

/** Resources placed in no project go to the fallback (or lose an attribution DigitalOcean no longer gives). */
export async function attributeUnplaced(
  db: SqlClient,
  accountId: string,
  placed: ReadonlyArray<{ kind: string; provider_id: string }>,
  fallback: Fallback,
  noFallbackKinds: readonly string[],
): Promise<{ unplaced: number; toFallback: number; unattributed: number }> {
  const result = await db.query<{ unplaced: number; to_fallback: number; unattributed: number }>(ATTRIBUTE_UNPLACED, [
    accountId,
    JSON.stringify(placed),
    fallback.projectId,
    fallback.tenantId,
    fallback.configured,
    noFallbackKinds,
  ]);
  const row = result.rows[0];
  return { unplaced: row?.unplaced ?? 0, toFallback: row?.to_fallback ?? 0, unattributed: row?.unattributed ?? 0 };
}

/** The local id and tenant of a project, by its DigitalOcean id. */
export async function findProject(
  db: SqlClient,
  accountId: string,
  providerId: string,
): Promise<{ id: number; tenantId: string | null } | undefined> {
  const result = await db.query<{ id: number; tenant_id: string | null }>(FIND_PROJECT, [accountId, providerId]);
  const row = result.rows[0];
  return row && { id: row.id, tenantId: row.tenant_id };
}
