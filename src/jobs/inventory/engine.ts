/**
 * The inventory sync engine: ONE implementation of list → normalize → upsert → mark stale, driven by the kind
 * table (kinds.ts), plus the projects sync (projects, then each project's members → attribution).
 *
 * Each run:
 * 1. makes sure the account row exists and opens a `sync_runs` row (status `running`; its `started_at`, the
 *    database's clock, is the run's start for staleness);
 * 2. walks every listing of the task page by page (pagination.ts `walkList`, which says whether a listing is
 *    complete); each page is normalized as it arrives and written with ONE statement (sql.ts), which also counts
 *    created / updated / unchanged; a progress event follows each page;
 * 3. only when every listing of the task was complete: one statement marks the rows not seen as missed (stale at
 *    the third consecutive miss). An incomplete listing (status `incomplete`) or a failed one (`failed`) moves no
 *    staleness at all;
 * 4. closes the run row (status, timings, pages, API calls, counts, error, details) and publishes `finished` or
 *    `failed`.
 *
 * Pipelining: while page N is being written, page N+1 is already being fetched (one page in flight at most, so
 * memory stays bounded and an error stops the walk at the next page). `pipeline: false` turns it off.
 *
 * The engine talks to the database only through `db.query` (a pg Pool or anything shaped like it), so a caller can
 * count its statements, and to DigitalOcean only through the transport (shared per process: one rate limiter per
 * token). It never throws for a failed sync: the failure is recorded in the run row and returned.
 */
import type { QueryResult, QueryResultRow } from 'pg';
import { DigitalOceanError } from '../../digitalocean/errors.js';
import { walkList, type Listing, type ListSpec, type PageInfo } from '../../digitalocean/pagination.js';
import type { CallCounter, LoggerLike, Transport } from '../../digitalocean/transport.js';
import type { Project, ProjectResource } from '../../digitalocean/types.js';
import { parseUrn, urnKindToLocalKind } from '../../digitalocean/urn.js';
import { publishEvent, type SyncEvent } from '../../events.js';
import {
  INVENTORY_KINDS,
  PROJECTS_SYNC,
  URN_ONLY_KINDS,
  kindSpecByTask,
  type KindSpec,
  type Listing as KindListing,
} from './kinds.js';
import {
  fingerprint,
  normalizeFromUrn,
  normalizeProject,
  type NormalizedProject,
  type NormalizedResource,
} from './normalize.js';
import * as sql from './sql.js';
import { closeRun, openRun, type RunCounts } from '../runs.js';
import type { RunTrigger as SyncTrigger } from '../context.js';

/** What the engine needs from a database handle: `pg.Pool` fits, and so does a wrapper that counts statements. */
export interface SqlClient {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

export type { SyncTrigger };
export type SyncStatus = 'succeeded' | 'incomplete' | 'failed';

/** Every sync task name: one per listed kind, then `projects`. `sync_runs.task` holds these. */
export const SYNC_TASK_NAMES: readonly string[] = Object.freeze([...INVENTORY_KINDS.map((k) => k.task), PROJECTS_SYNC.task]);

export function isSyncTaskName(task: string): boolean {
  return SYNC_TASK_NAMES.includes(task);
}

/** Kinds that listings cover; every other kind in cloud_resources comes from project URNs. */
const LISTED_KINDS: readonly string[] = INVENTORY_KINDS.map((k) => k.kind);
const LISTED_KIND_SET = new Set(LISTED_KINDS);
/** Kinds that stay unattributed rather than going to the fallback (DNS zones). */
const NO_FALLBACK_KINDS: readonly string[] = INVENTORY_KINDS.filter((k) => k.fallbackAttribution === false).map((k) => k.kind);

/** Statuses that mean "this endpoint does not exist here": what sends reserved IPs to /v2/floating_ips. */
const ENDPOINT_UNAVAILABLE = new Set([404, 405, 410, 501]);

export interface SyncEngineOptions {
  db: SqlClient;
  /** cloud_accounts.id of the mirrored account. */
  accountId: string;
  /** The DigitalOcean transport; undefined when no token is configured (every run then fails, saying so). */
  transport: Transport | undefined;
  /** Where resources in no project go: a DigitalOcean project id and/or a tenant id. */
  fallback?: { projectId?: string | undefined; tenantId?: string | undefined };
  logger?: LoggerLike;
  /** Sees every event the engine publishes, in process (the CLI's progress display). */
  onEvent?: (event: SyncEvent) => void;
  /** Fetch the next page while the current one is written. Default true. */
  pipeline?: boolean;
}

export interface SyncRunOptions {
  trigger: SyncTrigger;
  jobId?: string;
  signal?: AbortSignal;
}

export type SyncCounts = Required<RunCounts>;

export interface SyncRunResult extends SyncCounts {
  runId: number;
  task: string;
  status: SyncStatus;
  /** Every listing of the run was complete (staleness moved). */
  complete: boolean;
  durationMs: number;
  /** Why the run failed or is incomplete; never contains the token. */
  error?: string;
  details: Record<string, unknown>;
}

export interface SyncEngine {
  /** Runs one task (a kind's task name, or `projects`). Records and returns failures; throws only for bad input. */
  run(task: string, options: SyncRunOptions): Promise<SyncRunResult>;
}

/** What one listing walk reported, for the run's details. */
interface ListingReport {
  path: string;
  query?: Record<string, string>;
  complete: boolean;
  incompleteReason?: string;
  pages: number;
  apiCalls: number;
  count: number;
  total?: number;
  duplicates: number;
  error?: string;
}

interface RunState {
  runId: number;
  /** The run's published events, in order (see emit). */
  events: Promise<void>;
  task: string;
  startedAt: Date;
  counts: SyncCounts;
  details: Record<string, unknown>;
  signal?: AbortSignal;
}

const silentLogger: LoggerLike = { debug() {}, info() {}, warn() {}, error() {} };

function zeroCounts(): SyncCounts {
  return { pages: 0, apiCalls: 0, listed: 0, created: 0, updated: 0, unchanged: 0, markedStale: 0 };
}

class IncompleteRun {
  constructor(readonly reasons: string[]) {}
}

export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { db, accountId, transport } = options;
  const log = options.logger ?? silentLogger;
  const pipeline = options.pipeline ?? true;
  const redact = (text: string): string => (transport ? transport.redact(text) : text);

  /**
   * Publishes an event without holding up the run: events of a run go out one after the other, in order, on a
   * chain of their own (a NOTIFY per page would otherwise sit between each page's write and the next), and the run
   * waits for the chain before it ends. Progress is best effort; the run row is the record.
   */
  function emit(state: { events: Promise<void> }, event: Omit<SyncEvent, 'at'>): void {
    const full: SyncEvent = { ...event, at: new Date().toISOString() };
    options.onEvent?.(full);
    state.events = state.events.then(async () => {
      try {
        await publishEvent(db, full);
      } catch (error) {
        log.warn({ task: event.task, err: errorText(error) }, 'sync: could not publish a progress event');
      }
    });
  }

  /**
   * Every statement of the engine is atomic on its own, so one that lost a deadlock (the projects walk and a
   * listing writing the same rows at the same moment lock them in different orders) is simply sent again.
   */
  async function query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[]): Promise<QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.query<R>(text, values);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (attempt >= 4 || (code !== '40P01' && code !== '40001')) throw error;
        log.warn({ attempt, code }, 'sync: statement lost a deadlock; sending it again');
        await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 40));
      }
    }
  }

  function errorText(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    return redact(text).slice(0, 2000);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Listing one kind

  /** A ListSpec that normalizes as the page arrives and identifies items by their provider id. */
  function listSpecOf(spec: KindSpec, listing: KindListing): ListSpec<NormalizedResource> {
    return {
      path: listing.path,
      key: listing.listKey,
      paginated: spec.paginated,
      ...(listing.query && { query: { ...listing.query } }),
      map: (raw) => spec.normalize(raw),
      idOf: (n) => n.providerId,
    };
  }

  function reportOf(listing: KindListing, result: Listing<unknown> | undefined, counter: CallCounter, error?: unknown): ListingReport {
    const report: ListingReport = {
      path: listing.path,
      complete: result?.complete ?? false,
      pages: result?.pages ?? 0,
      apiCalls: counter.apiCalls,
      count: result?.count ?? 0,
      duplicates: result?.duplicates ?? 0,
    };
    if (listing.query) report.query = { ...listing.query };
    if (result?.incompleteReason) report.incompleteReason = result.incompleteReason;
    if (result?.total !== undefined) report.total = result.total;
    if (error !== undefined) {
      report.error = errorText(error);
      if (error instanceof DigitalOceanError && error.listing) {
        report.pages = error.listing.pages;
        report.count = error.listing.count;
        if (error.listing.total !== undefined) report.total = error.listing.total;
      }
    }
    return report;
  }

  async function syncKind(spec: KindSpec, state: RunState): Promise<void> {
    const t = transport as Transport;
    const { counts } = state;
    const seen = new Set<string>();
    const reports: ListingReport[] = [];
    state.details.listings = reports;
    let skipped = 0;
    /** Items of earlier listings of this run, for progress totals. */
    let doneBefore = 0;

    const walk = async (listing: KindListing, counter: CallCounter): Promise<Listing<NormalizedResource>> => {
      let pending: Promise<void> = Promise.resolve();
      let failure: { error: unknown } | undefined;
      const onPage = async (items: NormalizedResource[], info: PageInfo): Promise<void> => {
        await pending;
        if (failure) throw failure.error;
        counts.pages += 1;
        const rows: NormalizedResource[] = [];
        for (const item of items) {
          if (item.providerId === '') {
            skipped += 1;
            continue;
          }
          if (seen.has(item.providerId)) continue; // listed by an earlier listing of the same kind
          seen.add(item.providerId);
          rows.push(item);
        }
        const total = info.total !== undefined ? doneBefore + info.total : info.done ? doneBefore + info.count : null;
        const write = async (): Promise<void> => {
          if (rows.length > 0) {
            const result = await query<{ created: number; updated: number; unchanged: number }>(
              sql.UPSERT_RESOURCES,
              [accountId, spec.kind, JSON.stringify(rows.map(toRow))],
            );
            const r = result.rows[0];
            if (r) {
              counts.created += r.created;
              counts.updated += r.updated;
              counts.unchanged += r.unchanged;
            }
            counts.listed += rows.length;
          }
          emit(state, { type: 'progress', task: state.task, runId: state.runId, done: counts.listed, total, page: counts.pages });
        };
        if (pipeline) {
          pending = write().catch((error: unknown) => {
            failure = { error };
          });
        } else {
          await write();
        }
      };
      const settle = async (): Promise<void> => {
        await pending;
        if (failure) throw failure.error;
      };
      try {
        const result = await walkList(t, listSpecOf(spec, listing), {
          collect: false,
          onPage,
          ...(state.signal && { signal: state.signal }),
        }, counter);
        await settle();
        return result;
      } catch (error) {
        await settle().catch(() => undefined); // the first error is the one that counts
        throw error;
      }
    };

    const listings: KindListing[] = [spec, ...(spec.extraListings ?? [])];
    for (const listing of listings) {
      const counter: CallCounter = { apiCalls: 0 };
      let used: KindListing = listing;
      try {
        let result: Listing<NormalizedResource>;
        try {
          result = await walk(listing, counter);
        } catch (error) {
          // The table's fallback (reserved IPs → /v2/floating_ips): only when the endpoint itself is missing.
          const fallback = listing === spec ? spec.fallback : undefined;
          if (
            fallback &&
            error instanceof DigitalOceanError &&
            error.kind === 'http' &&
            error.status !== undefined &&
            ENDPOINT_UNAVAILABLE.has(error.status) &&
            (error.listing?.pages ?? 0) === 0
          ) {
            log.info({ status: error.status, path: listing.path, fallback: fallback.path }, 'sync: listing unavailable, using its fallback');
            used = fallback;
            result = await walk(fallback, counter);
          } else {
            throw error;
          }
        }
        reports.push(reportOf(used, result, counter));
        doneBefore = counts.listed;
      } catch (error) {
        reports.push(reportOf(used, undefined, counter, error));
        throw error;
      } finally {
        counts.apiCalls += counter.apiCalls;
        if (skipped > 0) state.details.skippedWithoutId = skipped;
      }
    }

    const incomplete = reports.filter((r) => !r.complete);
    if (incomplete.length > 0) {
      throw new IncompleteRun(incomplete.map((r) => `${r.path}${r.query ? `?${new URLSearchParams(r.query)}` : ''}: ${r.incompleteReason ?? 'incomplete'}`));
    }
    const stale = await query<{ missed: number; marked_stale: number }>(sql.MARK_STALE_RESOURCES, [
      accountId,
      [spec.kind],
      state.startedAt,
    ]);
    counts.markedStale += stale.rows[0]?.marked_stale ?? 0;
    state.details.missed = stale.rows[0]?.missed ?? 0;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Projects: pass 1 (projects), pass 2 (members → attribution)

  interface LocalProject {
    id: number;
    providerId: string;
    tenantId: string | null;
    isDefault: boolean;
  }

  async function upsertProjects(
    items: NormalizedProject[],
    projects: Map<string, LocalProject>,
    tally: { created: number; updated: number; unchanged: number; revived: number },
  ): Promise<void> {
    const rows = items.filter((p) => p.providerId !== '');
    if (rows.length === 0) return;
    const result = await query<{ id: number; provider_id: string; tenant_id: string | null; is_default: boolean; change: string; revived: boolean }>(
      sql.UPSERT_PROJECTS,
      [accountId, JSON.stringify(rows.map(toProjectRow))],
    );
    for (const r of result.rows) {
      projects.set(r.provider_id, { id: r.id, providerId: r.provider_id, tenantId: r.tenant_id, isDefault: r.is_default });
      if (r.change === 'created') tally.created += 1;
      else if (r.change === 'updated') tally.updated += 1;
      else tally.unchanged += 1;
      if (r.revived) tally.revived += 1;
    }
  }

  async function syncProjects(state: RunState): Promise<void> {
    const t = transport as Transport;
    const { counts } = state;
    const reasons: string[] = [];
    const projects = new Map<string, LocalProject>();
    const projectTally = { listed: 0, created: 0, updated: 0, unchanged: 0, revived: 0, markedStale: 0 };
    const members = {
      entries: 0,
      /** Members whose row exists (listed kinds) or was upserted from the URN. */
      matched: 0,
      /** Rows whose project/tenant changed. */
      attributed: 0,
      /** Members of a listed kind with no row yet (their listing has not seen them). */
      unmatched: 0,
      /** Entries whose status was not ok: membership uncertain, nothing changes for them. */
      uncertain: 0,
      malformed: 0,
      fromUrn: { created: 0, updated: 0, unchanged: 0 },
      unknownKinds: [] as string[],
    };
    const walks = { projects: 0, complete: 0, incomplete: 0, failed: 0, errors: [] as string[] };
    state.details.projects = projectTally;
    state.details.members = members;
    state.details.walks = walks;

    // Pass 1: the projects.
    const counter: CallCounter = { apiCalls: 0 };
    let listing: Listing<NormalizedProject>;
    try {
      listing = await walkList(
        t,
        {
          path: PROJECTS_SYNC.path,
          key: PROJECTS_SYNC.listKey,
          paginated: PROJECTS_SYNC.paginated,
          map: (raw) => normalizeProject(raw as Project),
          idOf: (p) => p.providerId,
        },
        {
          collect: false,
          ...(state.signal && { signal: state.signal }),
          onPage: async (items, info) => {
            counts.pages += 1;
            await upsertProjects(items, projects, projectTally);
            projectTally.listed = projects.size;
            emit(state, { type: 'progress', task: state.task, runId: state.runId, done: projects.size, total: info.total ?? null, page: counts.pages, message: 'projects' });
          },
        },
        counter,
      );
    } finally {
      counts.apiCalls += counter.apiCalls;
      counts.listed = projectTally.listed;
      counts.created = projectTally.created;
      counts.updated = projectTally.updated;
      counts.unchanged = projectTally.unchanged;
    }
    if (listing.complete) {
      const stale = await query<{ missed: number; marked_stale: number }>(sql.MARK_STALE_PROJECTS, [accountId, state.startedAt]);
      projectTally.markedStale = stale.rows[0]?.marked_stale ?? 0;
    } else {
      reasons.push(`${PROJECTS_SYNC.path}: ${listing.incompleteReason ?? 'incomplete'}`);
    }

    // The default project is walked through /v2/projects/default/resources. If the listing did not deliver it
    // (incomplete), ask for it, so its members are not mistaken for resources in no project.
    if (![...projects.values()].some((p) => p.isDefault)) {
      const c: CallCounter = { apiCalls: 0 };
      try {
        const response = await t.getJson('/v2/projects/default', { counter: c, ...(state.signal && { signal: state.signal }) });
        const raw = (response.body as { project?: unknown }).project;
        if (raw && typeof raw === 'object') await upsertProjects([{ ...normalizeProject(raw as Project), isDefault: true }], projects, projectTally);
      } catch (error) {
        reasons.push(`/v2/projects/default: ${errorText(error)}`);
      } finally {
        counts.apiCalls += c.apiCalls;
      }
    }

    // Pass 2: each project's members. `placed` collects every (kind, provider id) DigitalOcean puts in a project,
    // plus those whose membership is uncertain: neither kind falls back or loses its attribution.
    const placed = new Map<string, { kind: string; provider_id: string }>();
    const toWalk = [...projects.values()];
    walks.projects = toWalk.length;
    let walked = 0;
    for (const project of toWalk) {
      const c: CallCounter = { apiCalls: 0 };
      const pathId = project.isDefault ? 'default' : project.providerId;
      const path = PROJECTS_SYNC.resourcesPath.replace('{id}', encodeURIComponent(pathId));
      try {
        const result = await walkList<ProjectResource>(
          t,
          { path, key: PROJECTS_SYNC.resourcesListKey, paginated: true, idOf: (r) => String(r.urn) },
          {
            collect: false,
            ...(state.signal && { signal: state.signal }),
            onPage: async (items) => {
              counts.pages += 1;
              const rows = new Map<string, MemberRow>();
              for (const item of items) {
                members.entries += 1;
                const parsed = parseUrn(item.urn);
                if (!parsed) {
                  members.malformed += 1;
                  continue;
                }
                const kind = urnKindToLocalKind(parsed.type);
                const key = `${kind}\u0000${parsed.id}`;
                placed.set(key, { kind, provider_id: parsed.id });
                if ((item.status ?? 'ok') !== 'ok') {
                  members.uncertain += 1;
                  continue;
                }
                if (LISTED_KIND_SET.has(kind)) {
                  rows.set(key, { kind, provider_id: parsed.id, create_row: false, name: null, attrs: null, fingerprint: null });
                } else {
                  const n = normalizeFromUrn(parsed);
                  if (!isKnownLocalKind(kind) && !members.unknownKinds.includes(kind)) members.unknownKinds.push(kind);
                  rows.set(key, { kind, provider_id: n.providerId, create_row: true, name: n.name, attrs: n.attrs, fingerprint: fingerprint(n) });
                }
              }
              if (rows.size === 0) return;
              const r = (
                await query<{ created: number; updated: number; unchanged: number; attributed: number; matched: number }>(
                  sql.ATTRIBUTE_MEMBERS,
                  [accountId, project.id, project.tenantId, JSON.stringify([...rows.values()])],
                )
              ).rows[0];
              if (!r) return;
              const listedRows = [...rows.values()].filter((x) => !x.create_row).length;
              const urnRows = rows.size - listedRows;
              members.fromUrn.created += r.created;
              members.fromUrn.updated += r.updated;
              members.fromUrn.unchanged += r.unchanged;
              members.attributed += r.attributed;
              members.matched += r.matched + urnRows;
              members.unmatched += listedRows - r.matched;
              counts.listed += urnRows;
              counts.created += r.created;
              counts.updated += r.updated;
              counts.unchanged += r.unchanged;
            },
          },
          c,
        );
        if (result.complete) walks.complete += 1;
        else {
          walks.incomplete += 1;
          reasons.push(`${path}: ${result.incompleteReason ?? 'incomplete'}`);
        }
      } catch (error) {
        if (error instanceof DigitalOceanError && error.kind === 'aborted') throw error;
        walks.failed += 1;
        const text = errorText(error);
        walks.errors.push(text);
        reasons.push(`${path}: ${text}`);
        log.warn({ path, err: text }, 'sync: a project walk failed; nothing is un-attributed this run');
      } finally {
        counts.apiCalls += c.apiCalls;
      }
      walked += 1;
      emit(state, { type: 'progress', task: state.task, runId: state.runId, done: walked, total: toWalk.length, page: counts.pages, message: 'members' });
    }

    if (reasons.length > 0) {
      state.details.unplaced = 'skipped: the projects listing or a project walk was not complete';
      counts.markedStale = projectTally.markedStale;
      throw new IncompleteRun(reasons);
    }

    // Every project was walked completely: URN-made rows not seen miss once more, and resources placed in no
    // project go to the fallback (or lose a project attribution DigitalOcean no longer gives).
    const stale = await query<{ missed: number; marked_stale: number }>(sql.MARK_STALE_URN_RESOURCES, [
      accountId,
      LISTED_KINDS,
      state.startedAt,
    ]);
    const urnStale = stale.rows[0]?.marked_stale ?? 0;
    counts.markedStale = projectTally.markedStale + urnStale;
    state.details.urnRowsMissed = stale.rows[0]?.missed ?? 0;

    const fallback = await resolveFallback();
    const unplaced = (
      await query<{ unplaced: number; to_fallback: number; unattributed: number }>(sql.ATTRIBUTE_UNPLACED, [
        accountId,
        JSON.stringify([...placed.values()]),
        fallback.projectId,
        fallback.tenantId,
        fallback.configured,
        NO_FALLBACK_KINDS,
      ])
    ).rows[0];
    state.details.unplaced = {
      resources: unplaced?.unplaced ?? 0,
      movedToFallback: unplaced?.to_fallback ?? 0,
      unattributed: unplaced?.unattributed ?? 0,
      fallback: fallback.configured ? { projectId: fallback.projectId, tenantId: fallback.tenantId } : null,
    };
  }

  async function resolveFallback(): Promise<{ configured: boolean; projectId: number | null; tenantId: string | null }> {
    const wantedProject = options.fallback?.projectId;
    let projectId: number | null = null;
    let tenantId: string | null = options.fallback?.tenantId ?? null;
    if (wantedProject) {
      const found = await query<{ id: number; tenant_id: string | null }>(sql.FIND_PROJECT, [accountId, wantedProject]);
      const row = found.rows[0];
      if (row) {
        projectId = row.id;
        tenantId ??= row.tenant_id;
      } else {
        log.warn({ projectId: wantedProject }, 'sync: SYNC_FALLBACK_PROJECT_ID names no known project; using the fallback tenant only');
      }
    }
    return { configured: projectId !== null || tenantId !== null, projectId, tenantId };
  }

  // ------------------------------------------------------------------------------------------------------------
  // A run

  async function run(task: string, runOptions: SyncRunOptions): Promise<SyncRunResult> {
    const spec = kindSpecByTask(task);
    if (!spec && task !== PROJECTS_SYNC.task) {
      throw new Error(`unknown sync task "${task}" (known: ${SYNC_TASK_NAMES.join(', ')})`);
    }
    const opened = await openRun({ query }, { accountId, task, trigger: runOptions.trigger, jobId: runOptions.jobId });
    const state: RunState = {
      runId: opened.id,
      events: Promise.resolve(),
      task,
      startedAt: opened.startedAt,
      counts: zeroCounts(),
      details: {},
      ...(runOptions.signal && { signal: runOptions.signal }),
    };
    emit(state, { type: 'started', task, runId: state.runId });

    let status: SyncStatus = 'succeeded';
    let error: string | undefined;
    try {
      if (!transport) throw new Error('DIGITALOCEAN_TOKEN is not set: nothing can be synced');
      if (spec) await syncKind(spec, state);
      else await syncProjects(state);
    } catch (caught) {
      if (caught instanceof IncompleteRun) {
        status = 'incomplete';
        error = redact(`incomplete listing, staleness not updated: ${caught.reasons.join('; ')}`).slice(0, 2000);
      } else {
        status = 'failed';
        error = errorText(caught);
        log.warn({ task, runId: state.runId, err: error }, 'sync failed');
      }
    }

    const c = state.counts;
    const durationMs = await closeRun({ query }, state.runId, { status, counts: c, error, details: state.details });
    const result: SyncRunResult = {
      runId: state.runId,
      task,
      status,
      complete: status === 'succeeded',
      durationMs,
      ...c,
      details: state.details,
      ...(error !== undefined && { error }),
    };
    const countsOut: Record<string, number> = { ...c, durationMs: result.durationMs };
    if (status === 'failed') {
      emit(state, { type: 'failed', task, runId: state.runId, counts: countsOut, message: error ?? 'failed' });
    } else {
      emit(state, { type: 'finished', task, runId: state.runId, counts: countsOut, message: status === 'succeeded' ? 'succeeded' : `incomplete: ${error ?? ''}` });
    }
    await state.events;
    log.info({ task, runId: state.runId, status, ...countsOut }, 'sync finished');
    return result;
  }

  return { run };
}

// ---------------------------------------------------------------------------------------------------------------
// Rows as the SQL's jsonb_to_recordset reads them

interface MemberRow {
  kind: string;
  provider_id: string;
  create_row: boolean;
  name: string | null;
  attrs: Record<string, unknown> | null;
  fingerprint: string | null;
}

function toRow(n: NormalizedResource): Record<string, unknown> {
  return {
    provider_id: n.providerId,
    name: n.name,
    region: n.region,
    status: n.status,
    size: n.size,
    tags: n.tags,
    attrs: n.attrs,
    fingerprint: fingerprint(n),
    provider_created_at: n.providerCreatedAt ? n.providerCreatedAt.toISOString() : null,
  };
}

function toProjectRow(p: NormalizedProject): Record<string, unknown> {
  return {
    provider_id: p.providerId,
    name: p.name,
    description: p.description,
    purpose: p.purpose,
    environment: p.environment,
    is_default: p.isDefault,
    provider_created_at: p.providerCreatedAt ? p.providerCreatedAt.toISOString() : null,
    provider_updated_at: p.providerUpdatedAt ? p.providerUpdatedAt.toISOString() : null,
  };
}

const KNOWN_URN_ONLY: ReadonlySet<string> = new Set(URN_ONLY_KINDS);
function isKnownLocalKind(kind: string): boolean {
  return LISTED_KIND_SET.has(kind) || KNOWN_URN_ONLY.has(kind);
}
