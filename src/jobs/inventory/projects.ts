/**
 * The projects run, in two passes. Pass 1 lists the projects (and marks the ones not seen as missed when the
 * listing was complete). Pass 2 walks each project's members: members of listed kinds are attributed to the
 * project, members only known from their URN (spaces buckets, VPCs, unknown types) are upserted from it. Only when
 * every walk was complete do URN-made rows not seen miss once more and resources placed in no project go to the
 * configured fallback (or lose an attribution DigitalOcean no longer gives); otherwise the run is `incomplete`.
 */
import * as ep from '../../digitalocean/endpoints.js';
import { DigitalOceanError } from '../../digitalocean/errors.js';
import type { CallCounter, Listing } from '../../digitalocean/client.js';
import { mapListSpec } from '../../digitalocean/pagination.js';
import { parseUrn } from '../../digitalocean/urn.js';
import { errorText } from '../run.js';
import { isKnownLocalKind, LISTED_KINDS, NO_FALLBACK_KINDS } from './kinds.js';
import { fingerprint, normalizeFromUrn, normalizeProject, type NormalizedProject } from './normalize.js';
import { urnKindToLocalKind } from './resource-kinds.js';
import {
  attributeMembers,
  attributeUnplaced,
  findProject,
  markStaleProjects,
  markStaleUrnResources,
  upsertProjects,
  type Fallback,
  type MemberRow,
} from './sql.js';
import type { InventoryScope } from './sync-kind.js';

/** Where resources in no project go: a DigitalOcean project id and/or a tenant id. */
export interface FallbackOptions {
  projectId?: string | undefined;
  tenantId?: string | undefined;
}

interface LocalProject {
  id: number;
  providerId: string;
  tenantId: string | null;
  isDefault: boolean;
}

const LISTED_KIND_SET: ReadonlySet<string> = new Set(LISTED_KINDS);

const listedProjects = mapListSpec(ep.projects, normalizeProject, (p) => p.providerId);

export async function syncProjects(scope: InventoryScope, fallbackOptions: FallbackOptions | undefined): Promise<void> {
  const { db, accountId, client, log, run } = scope;
  const { counts } = run;
  const signal = run.signal ? { signal: run.signal } : {};
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
  run.details.projects = projectTally;
  run.details.members = members;
  run.details.walks = walks;

  const upsert = async (items: NormalizedProject[]): Promise<void> => {
    const rows = items.filter((p) => p.providerId !== '');
    if (rows.length === 0) return;
    for (const r of await upsertProjects(db, accountId, rows)) {
      projects.set(r.providerId, { id: r.id, providerId: r.providerId, tenantId: r.tenantId, isDefault: r.isDefault });
      projectTally[r.change] += 1;
      if (r.revived) projectTally.revived += 1;
    }
  };

  // Pass 1: the projects.
  const counter: CallCounter = { apiCalls: 0 };
  let listing: Listing<NormalizedProject>;
  try {
    listing = await client.list(listedProjects, {
      collect: false,
      counter,
      ...signal,
      onPage: async (items, info) => {
        counts.pages += 1;
        await upsert(items);
        projectTally.listed = projects.size;
        run.progress({ done: projects.size, total: info.total ?? null, page: counts.pages, message: 'projects' });
      },
    });
  } finally {
    counts.apiCalls += counter.apiCalls;
    counts.listed = projectTally.listed;
    counts.created = projectTally.created;
    counts.updated = projectTally.updated;
    counts.unchanged = projectTally.unchanged;
  }
  if (listing.complete) {
    projectTally.markedStale = (await markStaleProjects(db, accountId, run.startedAt)).markedStale;
  } else {
    reasons.push(`${ep.projects.path}: ${listing.incompleteReason ?? 'incomplete'}`);
  }

  // The default project is walked through /v2/projects/default/resources. If the listing did not deliver it
  // (incomplete), ask for it, so its members are not mistaken for resources in no project.
  if (![...projects.values()].some((p) => p.isDefault)) {
    const c: CallCounter = { apiCalls: 0 };
    try {
      const project = await client.getDefaultProject({ counter: c, ...signal });
      await upsert([{ ...normalizeProject(project), isDefault: true }]);
    } catch (error) {
      reasons.push(`${ep.defaultProjectPath}: ${errorText(error, scope.redact)}`);
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
    const endpoint = ep.projectResources(project.isDefault ? 'default' : project.providerId);
    try {
      const result = await client.list(endpoint, {
        collect: false,
        counter: c,
        ...signal,
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
              rows.set(key, {
                kind,
                provider_id: parsed.id,
                create_row: false,
                name: null,
                attrs: null,
                fingerprint: null,
              });
            } else {
              const n = normalizeFromUrn(parsed);
              if (!isKnownLocalKind(kind) && !members.unknownKinds.includes(kind)) members.unknownKinds.push(kind);
              rows.set(key, {
                kind,
                provider_id: n.providerId,
                create_row: true,
                name: n.name,
                attrs: n.attrs,
                fingerprint: fingerprint(n),
              });
            }
          }
          if (rows.size === 0) return;
          const r = await attributeMembers(db, accountId, project, [...rows.values()]);
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
      });
      if (result.complete) walks.complete += 1;
      else {
        walks.incomplete += 1;
        reasons.push(`${endpoint.path}: ${result.incompleteReason ?? 'incomplete'}`);
      }
    } catch (error) {
      if (error instanceof DigitalOceanError && error.kind === 'aborted') throw error;
      walks.failed += 1;
      const text = errorText(error, scope.redact);
      walks.errors.push(text);
      reasons.push(`${endpoint.path}: ${text}`);
      log.warn({ path: endpoint.path, err: text }, 'sync: a project walk failed; nothing is un-attributed this run');
    } finally {
      counts.apiCalls += c.apiCalls;
    }
    walked += 1;
    run.progress({ done: walked, total: toWalk.length, page: counts.pages, message: 'members' });
  }

  if (reasons.length > 0) {
    run.details.unplaced = 'skipped: the projects listing or a project walk was not complete';
    counts.markedStale = projectTally.markedStale;
    run.incomplete(`incomplete listing, staleness not updated: ${reasons.join('; ')}`);
    return;
  }

  // Every project was walked completely: URN-made rows not seen miss once more, and resources placed in no
  // project go to the fallback (or lose a project attribution DigitalOcean no longer gives).
  const stale = await markStaleUrnResources(db, accountId, LISTED_KINDS, run.startedAt);
  counts.markedStale = projectTally.markedStale + stale.markedStale;
  run.details.urnRowsMissed = stale.missed;

  const fallback = await resolveFallback(scope, fallbackOptions);
  const unplaced = await attributeUnplaced(db, accountId, [...placed.values()], fallback, NO_FALLBACK_KINDS);
  run.details.unplaced = {
    resources: unplaced.unplaced,
    movedToFallback: unplaced.toFallback,
    unattributed: unplaced.unattributed,
    fallback: fallback.configured ? { projectId: fallback.projectId, tenantId: fallback.tenantId } : null,
  };
}

async function resolveFallback(scope: InventoryScope, options: FallbackOptions | undefined): Promise<Fallback> {
  const wantedProject = options?.projectId;
  let projectId: number | null = null;
  let tenantId: string | null = options?.tenantId ?? null;
  if (wantedProject) {
    const row = await findProject(scope.db, scope.accountId, wantedProject);
    if (row) {
      projectId = row.id;
      tenantId ??= row.tenantId;
    } else {
      scope.log.warn(
        { projectId: wantedProject },
        'sync: SYNC_FALLBACK_PROJECT_ID names no known project; using the fallback tenant only',
      );
    }
  }
  return { configured: projectId !== null || tenantId !== null, projectId, tenantId };
}
