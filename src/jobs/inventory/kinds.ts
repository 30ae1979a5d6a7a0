/**
 * Every listable resource kind, declared once: where to list it, under which JSON key, how to normalize an item
 * and when to run. Data only, so one engine can do `client.list(path, listKey, { query, paginated })` →
 * normalize → upsert → mark-stale for all of them. Endpoint facts: API-NOTES.md §2 and the OpenAPI spec.
 */
import type { NormalizedResource, ResourceKind } from './normalize.js';
import {
  normalizeApp,
  normalizeDatabase,
  normalizeDomain,
  normalizeDroplet,
  normalizeFirewall,
  normalizeKubernetesCluster,
  normalizeLoadBalancer,
  normalizeReservedIp,
  normalizeReservedIpv6,
  normalizeSnapshot,
  normalizeVolume,
} from './normalize.js';

export { RESOURCE_KINDS, isResourceKind } from './normalize.js';
export type { ResourceKind, NormalizedResource } from './normalize.js';

/** Cron strings (graphile-worker crontab syntax). */
export const EVERY_15_MINUTES = '*/15 * * * *';
export const HOURLY_AT_33 = '33 * * * *';

/** One GET list endpoint: `{ [listKey]: item[] }` at `path`. */
export interface Listing {
  path: string;
  listKey: string;
  /** Extra query parameters (page/per_page are the client's business). */
  query?: Readonly<Record<string, string>>;
}

export interface KindSpec extends Listing {
  kind: ResourceKind;
  /** graphile-worker task name and sync_runs.task. */
  task: string;
  /** false: one call returns everything and the response has no links/meta (`/v2/databases`). */
  paginated: boolean;
  /**
   * Tried instead of the main listing when it is unavailable (404): same item shape, other path and key.
   * Only the reserved-IP kind has one (`/v2/floating_ips`, the pre-2022 name).
   */
  fallback?: Listing;
  /**
   * Listed IN ADDITION to the main listing; their items belong to the same kind and the listing is complete only
   * when all of them completed. `/v2/droplets` returns only non-GPU droplets unless `type=gpus` is passed (spec,
   * droplets/parameters.yml `droplet_type`), so GPU droplets need a second walk or they would never be seen.
   */
  extraListings?: readonly Listing[];
  /** Items come from the API as unknown JSON; normalizers read every field defensively. */
  normalize: (item: unknown) => NormalizedResource;
  schedule: string;
  /**
   * false: a resource of this kind in no project is left unattributed (for an operator to classify) instead of
   * going to the configured fallback project/tenant. DNS zones: a zone in no project says nothing about its owner.
   */
  fallbackAttribution?: boolean;
}

/** Wraps a typed normalizer for the table (the engine cannot know item types statically). */
function asItem<T>(fn: (item: T) => NormalizedResource): (item: unknown) => NormalizedResource {
  return (item) => fn(item as T);
}

export const INVENTORY_KINDS: readonly KindSpec[] = Object.freeze([
  {
    kind: 'droplet',
    task: 'droplet',
    path: '/v2/droplets',
    listKey: 'droplets',
    paginated: true,
    extraListings: [{ path: '/v2/droplets', listKey: 'droplets', query: { type: 'gpus' } }],
    normalize: asItem(normalizeDroplet),
    schedule: EVERY_15_MINUTES,
  },
  {
    kind: 'volume',
    task: 'volume',
    path: '/v2/volumes',
    listKey: 'volumes',
    paginated: true,
    normalize: asItem(normalizeVolume),
    schedule: EVERY_15_MINUTES,
  },
  {
    // Droplet and volume snapshots in one listing; attrs.resource_type tells them apart.
    kind: 'snapshot',
    task: 'snapshot',
    path: '/v2/snapshots',
    listKey: 'snapshots',
    paginated: true,
    normalize: asItem(normalizeSnapshot),
    schedule: HOURLY_AT_33,
  },
  {
    kind: 'floating_ip',
    task: 'floating_ip',
    path: '/v2/reserved_ips',
    listKey: 'reserved_ips',
    paginated: true,
    fallback: { path: '/v2/floating_ips', listKey: 'floating_ips' },
    normalize: asItem(normalizeReservedIp),
    schedule: EVERY_15_MINUTES,
  },
  {
    kind: 'reserved_ipv6',
    task: 'reserved_ipv6',
    path: '/v2/reserved_ipv6',
    listKey: 'reserved_ipv6s',
    paginated: true,
    normalize: asItem(normalizeReservedIpv6),
    schedule: EVERY_15_MINUTES,
  },
  {
    kind: 'firewall',
    task: 'firewall',
    path: '/v2/firewalls',
    listKey: 'firewalls',
    paginated: true,
    normalize: asItem(normalizeFirewall),
    schedule: EVERY_15_MINUTES,
  },
  {
    kind: 'load_balancer',
    task: 'load_balancer',
    path: '/v2/load_balancers',
    listKey: 'load_balancers',
    paginated: true,
    normalize: asItem(normalizeLoadBalancer),
    schedule: EVERY_15_MINUTES,
  },
  {
    kind: 'dns_zone',
    task: 'dns_zone',
    path: '/v2/domains',
    listKey: 'domains',
    paginated: true,
    normalize: asItem(normalizeDomain),
    schedule: EVERY_15_MINUTES,
    fallbackAttribution: false,
  },
  {
    // Unpaginated: no page/per_page params, no links/meta. The body carries credentials; the client strips them
    // and normalizeDatabase drops them again.
    kind: 'managed_db',
    task: 'managed_db',
    path: '/v2/databases',
    listKey: 'databases',
    paginated: false,
    normalize: asItem(normalizeDatabase),
    schedule: EVERY_15_MINUTES,
  },
  {
    kind: 'kubernetes_cluster',
    task: 'kubernetes_cluster',
    path: '/v2/kubernetes/clusters',
    listKey: 'kubernetes_clusters',
    paginated: true,
    normalize: asItem(normalizeKubernetesCluster),
    schedule: EVERY_15_MINUTES,
  },
  {
    // with_projects=true makes the API fill in project_id.
    kind: 'app',
    task: 'app',
    path: '/v2/apps',
    listKey: 'apps',
    paginated: true,
    query: { with_projects: 'true' },
    normalize: asItem(normalizeApp),
    schedule: EVERY_15_MINUTES,
  },
] satisfies KindSpec[]);

/** Kinds that exist only through project URNs (`do:space:<bucket>`, `do:vpc:<uuid>`): never listed, never marked stale by a listing. */
export const URN_ONLY_KINDS = ['spaces_bucket', 'vpc'] as const satisfies readonly ResourceKind[];

/** Projects are synced by the engine itself (then each project's resources); declared here for the crontab. */
export const PROJECTS_SYNC = Object.freeze({
  task: 'projects',
  path: '/v2/projects',
  listKey: 'projects',
  paginated: true,
  /** Per-project membership; `{id}` is the project uuid (or `default`). Items are `ProjectResource`s. */
  resourcesPath: '/v2/projects/{id}/resources',
  resourcesListKey: 'resources',
  schedule: EVERY_15_MINUTES,
});

/** The inventory crontab: one entry per task. */
export const INVENTORY_SCHEDULES: readonly { task: string; schedule: string }[] = Object.freeze([
  ...INVENTORY_KINDS.map(({ task, schedule }) => ({ task, schedule })),
  { task: PROJECTS_SYNC.task, schedule: PROJECTS_SYNC.schedule },
]);

export function kindSpec(kind: string): KindSpec | undefined {
  return INVENTORY_KINDS.find((k) => k.kind === kind);
}

export function kindSpecByTask(task: string): KindSpec | undefined {
  return INVENTORY_KINDS.find((k) => k.task === task);
}
