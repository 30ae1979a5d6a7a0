/**
 * The simulated account: records of every resource kind, a deterministic seed generator, and a small
 * churn API (create / update / delete) that tests call between listings.
 *
 * Records use DigitalOcean's own field names where a field maps directly (`name`, `size_slug`, `status`,
 * `tags`, `created_at`, `droplet_ids`, …); `region` is always a slug and `project_id` is the project the
 * resource belongs to (`null` = in no project at all). The HTTP shapes are rendered from these records by
 * `shapes.ts`, so derived fields (a droplet's `volume_ids`, `snapshot_ids`) always agree with the records.
 */
import { APP_SIZES, DATABASE_SIZES, IMAGES, REGIONS, SIZE_SLUGS, sizeInfo } from './catalog.js';
import { Random } from './random.js';

// ---------------------------------------------------------------------------------------------------------------
// Records

export interface ProjectRec {
  id: string;
  name: string;
  description: string;
  purpose: string;
  environment: string;
  is_default: boolean;
  created_at: string;
  updated_at: string;
}

export interface DropletRec {
  id: number;
  name: string;
  size_slug: string;
  region: string;
  status: 'new' | 'active' | 'off' | 'archive';
  tags: string[];
  created_at: string;
  image_slug: string;
  backups: boolean;
  locked: boolean;
  public_ipv4: string;
  private_ipv4: string;
  ipv6: string | null;
  vpc_uuid: string;
  project_id: string | null;
}

export interface VolumeRec {
  id: string;
  name: string;
  region: string;
  size_gigabytes: number;
  droplet_ids: number[];
  description: string;
  filesystem_type: string;
  filesystem_label: string;
  created_at: string;
  tags: string[];
  project_id: string | null;
}

export interface SnapshotRec {
  /** Numeric string for droplet snapshots, uuid for volume snapshots (as DO does). */
  id: string;
  name: string;
  resource_type: 'droplet' | 'volume';
  resource_id: string;
  regions: string[];
  created_at: string;
  min_disk_size: number;
  size_gigabytes: number;
  tags: string[];
}

export interface ReservedIpRec {
  ip: string;
  region: string;
  droplet_id: number | null;
  locked: boolean;
  project_id: string | null;
  created_at: string;
}

export interface ReservedIpv6Rec {
  ip: string;
  region_slug: string;
  droplet_id: number | null;
  reserved_at: string;
  project_id: string | null;
}

export interface FirewallRule {
  protocol: 'tcp' | 'udp' | 'icmp';
  ports: string;
  sources?: Record<string, string[]>;
  destinations?: Record<string, string[]>;
}

export interface FirewallRec {
  id: string;
  name: string;
  status: 'waiting' | 'succeeded' | 'failed';
  inbound_rules: FirewallRule[];
  outbound_rules: FirewallRule[];
  droplet_ids: number[];
  tags: string[];
  created_at: string;
}

export interface ForwardingRule {
  entry_protocol: string;
  entry_port: number;
  target_protocol: string;
  target_port: number;
  certificate_id: string;
  tls_passthrough: boolean;
}

export interface LoadBalancerRec {
  id: string;
  name: string;
  ip: string;
  region: string;
  size: string;
  size_unit: number;
  algorithm: 'round_robin' | 'least_connections';
  status: 'new' | 'active' | 'errored';
  forwarding_rules: ForwardingRule[];
  droplet_ids: number[];
  tag: string;
  vpc_uuid: string;
  created_at: string;
  project_id: string | null;
}

export interface DomainRec {
  name: string;
  ttl: number;
  created_at: string;
  project_id: string | null;
}

export interface DatabaseRec {
  id: string;
  name: string;
  engine: 'pg' | 'mysql' | 'valkey' | 'mongodb';
  version: string;
  size: string;
  region: string;
  num_nodes: number;
  status: 'creating' | 'online' | 'resizing' | 'migrating' | 'forking';
  created_at: string;
  tags: string[];
  private_network_uuid: string;
  storage_size_mib: number;
  /** The admin password that the API (regrettably) returns inside `connection`. */
  password: string;
  project_id: string | null;
}

export interface KubernetesNodeRec {
  id: string;
  name: string;
  droplet_id: number;
  created_at: string;
}

export interface NodePoolRec {
  id: string;
  name: string;
  size: string;
  auto_scale: boolean;
  min_nodes: number;
  max_nodes: number;
  nodes: KubernetesNodeRec[];
}

export interface KubernetesRec {
  id: string;
  name: string;
  region: string;
  version: string;
  vpc_uuid: string;
  ipv4: string;
  ha: boolean;
  status: 'running' | 'provisioning' | 'degraded' | 'error' | 'deleted' | 'upgrading' | 'deleting';
  tags: string[];
  node_pools: NodePoolRec[];
  created_at: string;
  updated_at: string;
  project_id: string | null;
}

export interface AppRec {
  id: string;
  name: string;
  region: string;
  tier_slug: string;
  instance_size_slug: string;
  created_at: string;
  updated_at: string;
  project_id: string | null;
}

/** A Spaces bucket: it exists only as a `do:space:<bucket>` URN in a project (no v2 list endpoint). */
export interface SpaceRec {
  name: string;
  region: string;
  created_at: string;
  project_id: string | null;
}

/** A VPC: only its `do:vpc:<uuid>` project URN is served. */
export interface VpcRec {
  id: string;
  name: string;
  region: string;
  created_at: string;
  project_id: string | null;
}

export interface KindRecords {
  project: ProjectRec;
  droplet: DropletRec;
  volume: VolumeRec;
  snapshot: SnapshotRec;
  reserved_ip: ReservedIpRec;
  reserved_ipv6: ReservedIpv6Rec;
  firewall: FirewallRec;
  load_balancer: LoadBalancerRec;
  domain: DomainRec;
  database: DatabaseRec;
  kubernetes: KubernetesRec;
  app: AppRec;
  space: SpaceRec;
  vpc: VpcRec;
}

export type Kind = keyof KindRecords;

export const KINDS: readonly Kind[] = [
  'project',
  'droplet',
  'volume',
  'snapshot',
  'reserved_ip',
  'reserved_ipv6',
  'firewall',
  'load_balancer',
  'domain',
  'database',
  'kubernetes',
  'app',
  'space',
  'vpc',
];

/** The identifier of a record: numeric id for droplets, IP for IPs, name for domains and buckets, else uuid. */
export function recordKey<K extends Kind>(kind: K, rec: KindRecords[K]): string {
  switch (kind) {
    case 'reserved_ip':
    case 'reserved_ipv6':
      return (rec as ReservedIpRec).ip;
    case 'domain':
    case 'space':
      return (rec as DomainRec).name;
    default:
      return String((rec as { id: string | number }).id);
  }
}

/** The URN of a record in the Projects API (reserved IPs keep the legacy `floatingip` spelling). */
export function recordUrn<K extends Kind>(kind: K, rec: KindRecords[K]): string | null {
  const prefix: Partial<Record<Kind, string>> = {
    droplet: 'droplet',
    volume: 'volume',
    reserved_ip: 'floatingip',
    reserved_ipv6: 'floatingipv6',
    load_balancer: 'loadbalancer',
    domain: 'domain',
    database: 'dbaas',
    kubernetes: 'kubernetes',
    app: 'app',
    space: 'space',
    vpc: 'vpc',
  };
  const p = prefix[kind];
  return p ? `do:${p}:${recordKey(kind, rec)}` : null;
}

/** A project membership that points at nothing in the inventory (unknown kind, vanished resource). */
export interface ExtraProjectEntry {
  project_id: string;
  urn: string;
  status: 'ok' | 'not_found' | 'assigned' | 'already_assigned' | 'service_down';
  assigned_at: string;
}

/** A resource removed through the churn API, kept for the month-to-date invoice. */
export interface DeletedRecord<K extends Kind = Kind> {
  kind: K;
  record: KindRecords[K];
  deleted_at: string;
}

/** How many resources of each kind the seed creates. */
export interface Scale {
  projects: number;
  /** Stand-alone droplets; Kubernetes node droplets come on top. */
  droplets: number;
  volumes: number;
  snapshots: number;
  reservedIps: number;
  reservedIpv6s: number;
  firewalls: number;
  loadBalancers: number;
  domains: number;
  databases: number;
  kubernetesClusters: number;
  apps: number;
  spaces: number;
  vpcs: number;
  /** Closed billing months (invoices) before the current one. */
  months: number;
}

export const DEFAULT_SCALE: Scale = {
  projects: 5,
  droplets: 30,
  volumes: 12,
  snapshots: 24,
  reservedIps: 8,
  reservedIpv6s: 3,
  firewalls: 4,
  loadBalancers: 3,
  domains: 6,
  databases: 3,
  kubernetesClusters: 2,
  apps: 3,
  spaces: 3,
  vpcs: 2,
  months: 12,
};

/** Default clock of the simulated account: fixed, so that a seed always yields identical data. */
export const DEFAULT_NOW = '2026-11-15T12:00:00Z';

export function isoSeconds(d: Date | number): string {
  return new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// The account

export interface AccountOptions {
  seed: number;
  scale?: Partial<Scale> | undefined;
  /** The account's "now" (ISO string or Date). Default DEFAULT_NOW. */
  now?: string | Date | undefined;
}

type Store = { [K in Kind]: Map<string, KindRecords[K]> };

export class SimAccount {
  readonly seed: number;
  readonly scale: Scale;
  /** The clock used for created_at of new resources, deletions and the month-to-date invoice. */
  now: Date;
  readonly uuid: string;
  readonly email = 'ops@example.com';
  readonly teamUuid: string;
  readonly teamName = 'Example Ops';
  readonly ownerId: number;
  /** Project memberships that do not correspond to a record (`do:task:…`, vanished droplets). */
  readonly extraProjectEntries: ExtraProjectEntry[] = [];
  /** Memberships whose `status` is not "ok", by URN. */
  readonly projectEntryStatus = new Map<string, ExtraProjectEntry['status']>();
  /** Resources deleted through the churn API, newest last. */
  readonly deleted: DeletedRecord[] = [];

  private readonly store: Store;
  private readonly versions = new Map<Kind, number>();
  private readonly revs = new WeakMap<object, number>();
  private globalVersion = 0;
  private readonly rng: Random;
  private readonly churnRng: Random;
  private nextDropletId = 0;
  private nextSnapshotId = 0;
  private ipCounter = 0;
  private listCache = new Map<Kind, { version: number; list: unknown[] }>();

  constructor(options: AccountOptions) {
    this.seed = options.seed;
    this.scale = { ...DEFAULT_SCALE, ...options.scale };
    this.now = new Date(options.now ?? DEFAULT_NOW);
    this.rng = new Random(options.seed);
    this.churnRng = this.rng.fork('churn');
    this.uuid = this.rng.hex(40);
    this.teamUuid = this.rng.hex(40);
    this.ownerId = this.rng.int(100_000, 999_999);
    this.store = Object.fromEntries(KINDS.map((k) => [k, new Map()])) as unknown as Store;
    generateAccount(this, this.rng.fork('inventory'));
  }

  // ----- reading ------------------------------------------------------------------------------------------------

  /** All records of a kind, in listing order (creation order). The array is cached per version: don't mutate. */
  list<K extends Kind>(kind: K): readonly KindRecords[K][] {
    const v = this.versionOf(kind);
    const cached = this.listCache.get(kind);
    if (cached && cached.version === v) return cached.list as KindRecords[K][];
    const list = [...this.store[kind].values()];
    this.listCache.set(kind, { version: v, list });
    return list;
  }

  get<K extends Kind>(kind: K, id: string | number): KindRecords[K] | undefined {
    return this.store[kind].get(String(id));
  }

  count(kind: Kind): number {
    return this.store[kind].size;
  }

  /** The default project (there is always exactly one). */
  get defaultProject(): ProjectRec {
    for (const p of this.store.project.values()) if (p.is_default) return p;
    throw new Error('no default project');
  }

  /** Increases on every change of a kind (used to cache rendered pages). */
  versionOf(kind: Kind): number {
    return this.versions.get(kind) ?? 0;
  }

  /** Increases on every change of anything. */
  get version(): number {
    return this.globalVersion;
  }

  /** Revision of one record: changes when the record or something rendered inside it changes. */
  revOf(rec: object): number {
    return this.revs.get(rec) ?? 0;
  }

  // ----- churn API -----------------------------------------------------------------------------------------------

  /**
   * Create a resource. Missing fields get defaults (ids, IPs and uuids from a seeded generator, `created_at` =
   * `account.now`, `project_id` = the default project). Returns the stored record.
   */
  create<K extends Kind>(kind: K, init: Partial<KindRecords[K]> = {}): KindRecords[K] {
    const rec = { ...this.defaults(kind), ...init } as KindRecords[K];
    if (kind === 'project' && (rec as ProjectRec).is_default) {
      for (const p of this.store.project.values()) p.is_default = false;
    }
    this.insert(kind, rec);
    return rec;
  }

  /** Change fields of a resource (rename, resize, status, project_id, droplet_ids…). Throws if it doesn't exist. */
  update<K extends Kind>(kind: K, id: string | number, patch: Partial<KindRecords[K]>): KindRecords[K] {
    const rec = this.get(kind, id);
    if (!rec) throw new Error(`no ${kind} ${id}`);
    const before = this.related(kind, rec);
    const oldKey = recordKey(kind, rec);
    Object.assign(rec, patch);
    const newKey = recordKey(kind, rec);
    if (newKey !== oldKey) {
      this.store[kind].delete(oldKey);
      this.store[kind].set(newKey, rec);
    }
    if (kind === 'project' && (patch as Partial<ProjectRec>).is_default) {
      for (const p of this.store.project.values()) if (p !== rec) p.is_default = false;
    }
    this.touch(kind, rec);
    for (const [k, r] of [...before, ...this.related(kind, rec)]) this.touch(k, r);
    return rec;
  }

  /**
   * Delete a resource. References to it are cleaned like DO does (volumes detach, reserved IPs unassign,
   * firewalls and load balancers drop the droplet id); its snapshots stay. Returns false if it didn't exist.
   */
  delete(kind: Kind, id: string | number): boolean {
    const rec = this.get(kind, id);
    if (!rec) return false;
    if (kind === 'project' && (rec as ProjectRec).is_default) throw new Error('the default project cannot be deleted');
    const related = this.related(kind, rec);
    this.store[kind].delete(recordKey(kind, rec));
    this.bump(kind);
    if (kind === 'droplet') this.detachDroplet((rec as DropletRec).id);
    if (kind === 'project') {
      for (const k of KINDS)
        for (const r of this.store[k].values()) {
          const withProject = r as { project_id?: string | null };
          if (withProject.project_id === (rec as ProjectRec).id) {
            withProject.project_id = this.defaultProject.id;
            this.touch(k, r);
          }
        }
    }
    for (const [k, r] of related) this.touch(k, r);
    this.deleted.push({ kind, record: structuredClone(rec), deleted_at: isoSeconds(this.now) });
    return true;
  }

  /** Move a resource to a project (`null`: out of every project). */
  assign(kind: Kind, id: string | number, projectId: string | null): void {
    this.update(kind, id, { project_id: projectId });
  }

  /** Shorthand for `create('droplet', init)`. */
  createDroplet(init: Partial<DropletRec> = {}): DropletRec {
    return this.create('droplet', init);
  }

  /** Shorthand for `update('droplet', id, patch)`, e.g. `{ name }`, `{ size_slug }`, `{ status: 'off' }`. */
  updateDroplet(id: number, patch: Partial<DropletRec>): DropletRec {
    return this.update('droplet', id, patch);
  }

  /** Shorthand for `delete('droplet', id)`. */
  deleteDroplet(id: number): boolean {
    return this.delete('droplet', id);
  }

  // ----- internals -----------------------------------------------------------------------------------------------

  /** Insert without defaults (used by the seed generator too). */
  insert<K extends Kind>(kind: K, rec: KindRecords[K]): void {
    const key = recordKey(kind, rec);
    if (this.store[kind].has(key)) throw new Error(`${kind} ${key} already exists`);
    this.store[kind].set(key, rec);
    if (kind === 'droplet') this.nextDropletId = Math.max(this.nextDropletId, (rec as DropletRec).id + 1);
    if (kind === 'snapshot' && /^\d+$/.test((rec as SnapshotRec).id)) {
      this.nextSnapshotId = Math.max(this.nextSnapshotId, Number((rec as SnapshotRec).id) + 1);
    }
    this.touch(kind, rec);
    for (const [k, r] of this.related(kind, rec)) this.touch(k, r);
  }

  private bump(kind: Kind): void {
    this.versions.set(kind, this.versionOf(kind) + 1);
    this.versions.set('project', this.versionOf('project') + 1); // memberships may have changed
    this.globalVersion += 1;
  }

  private touch(kind: Kind, rec: object): void {
    this.revs.set(rec, this.revOf(rec) + 1);
    this.bump(kind);
  }

  /** Records whose rendering embeds this record (they must be re-rendered when it changes). */
  private related(kind: Kind, rec: object): Array<[Kind, object]> {
    const out: Array<[Kind, object]> = [];
    if (kind === 'droplet') {
      const id = (rec as DropletRec).id;
      for (const ip of this.store.reserved_ip.values()) if (ip.droplet_id === id) out.push(['reserved_ip', ip]);
      for (const ip of this.store.reserved_ipv6.values()) if (ip.droplet_id === id) out.push(['reserved_ipv6', ip]);
    } else if (kind === 'volume') {
      for (const id of (rec as VolumeRec).droplet_ids) {
        const d = this.store.droplet.get(String(id));
        if (d) out.push(['droplet', d]);
      }
    } else if (kind === 'snapshot') {
      const s = rec as SnapshotRec;
      if (s.resource_type === 'droplet') {
        const d = this.store.droplet.get(s.resource_id);
        if (d) out.push(['droplet', d]);
      }
    } else if (kind === 'reserved_ip' || kind === 'reserved_ipv6') {
      const id = (rec as ReservedIpRec).droplet_id;
      const d = id === null ? undefined : this.store.droplet.get(String(id));
      if (d) out.push(['droplet', d]);
    }
    return out;
  }

  private detachDroplet(id: number): void {
    for (const v of this.store.volume.values()) {
      if (v.droplet_ids.includes(id)) {
        v.droplet_ids = v.droplet_ids.filter((x) => x !== id);
        this.touch('volume', v);
      }
    }
    for (const kind of ['reserved_ip', 'reserved_ipv6'] as const) {
      for (const ip of this.store[kind].values())
        if (ip.droplet_id === id) {
          ip.droplet_id = null;
          this.touch(kind, ip);
        }
    }
    for (const kind of ['firewall', 'load_balancer'] as const) {
      for (const r of this.store[kind].values()) {
        if (r.droplet_ids.includes(id)) {
          r.droplet_ids = r.droplet_ids.filter((x) => x !== id);
          this.touch(kind, r);
        }
      }
    }
    for (const k of this.store.kubernetes.values()) {
      for (const pool of k.node_pools) {
        const n = pool.nodes.length;
        pool.nodes = pool.nodes.filter((node) => node.droplet_id !== id);
        if (pool.nodes.length !== n) this.touch('kubernetes', k);
      }
    }
  }

  /** A fresh public IPv4 (unique within the account). */
  allocateIpv4(prefix: 'droplet' | 'reserved' | 'lb'): string {
    const n = this.ipCounter++;
    const first = prefix === 'droplet' ? 104 : prefix === 'reserved' ? 45 : 138;
    const second = prefix === 'droplet' ? 131 : prefix === 'reserved' ? 55 : 197;
    return `${first}.${second + Math.floor(n / 64_000)}.${Math.floor(n / 250) % 256}.${2 + (n % 250)}`;
  }

  allocateDropletId(): number {
    const id = this.nextDropletId === 0 ? 400_000_000 : this.nextDropletId;
    this.nextDropletId = id + 1;
    return id;
  }

  allocateSnapshotId(): string {
    const id = this.nextSnapshotId === 0 ? 150_000_000 : this.nextSnapshotId;
    this.nextSnapshotId = id + 1;
    return String(id);
  }

  private defaults(kind: Kind): KindRecords[Kind] {
    const r = this.churnRng;
    const now = isoSeconds(this.now);
    const projectId = this.store.project.size > 0 ? this.defaultProject.id : null;
    const region = 'nyc3';
    switch (kind) {
      case 'project':
        return {
          id: r.uuid(),
          name: `project-${r.hex(4)}`,
          description: '',
          purpose: 'Web Application',
          environment: 'Development',
          is_default: false,
          created_at: now,
          updated_at: now,
        };
      case 'droplet': {
        const id = this.allocateDropletId();
        return {
          id,
          name: `droplet-${id}`,
          size_slug: 's-1vcpu-1gb',
          region,
          status: 'active',
          tags: [],
          created_at: now,
          image_slug: 'ubuntu-24-04-x64',
          backups: false,
          locked: false,
          public_ipv4: this.allocateIpv4('droplet'),
          private_ipv4: `10.10.${Math.floor(id / 250) % 256}.${2 + (id % 250)}`,
          ipv6: null,
          vpc_uuid: r.uuid(),
          project_id: projectId,
        } satisfies DropletRec;
      }
      case 'volume':
        return {
          id: r.uuid(),
          name: `volume-${region}-${r.hex(4)}`,
          region,
          size_gigabytes: 100,
          droplet_ids: [],
          description: '',
          filesystem_type: 'ext4',
          filesystem_label: '',
          created_at: now,
          tags: [],
          project_id: projectId,
        } satisfies VolumeRec;
      case 'snapshot':
        return {
          id: this.allocateSnapshotId(),
          name: `snapshot-${Date.parse(now)}`,
          resource_type: 'droplet',
          resource_id: '0',
          regions: [region],
          created_at: now,
          min_disk_size: 25,
          size_gigabytes: 1.5,
          tags: [],
        } satisfies SnapshotRec;
      case 'reserved_ip':
        return {
          ip: this.allocateIpv4('reserved'),
          region,
          droplet_id: null,
          locked: false,
          project_id: projectId,
          created_at: now,
        } satisfies ReservedIpRec;
      case 'reserved_ipv6':
        return {
          ip: `2604:a880:800:14::${r.hex(4)}:${r.hex(4)}`,
          region_slug: region,
          droplet_id: null,
          reserved_at: now,
          project_id: projectId,
        } satisfies ReservedIpv6Rec;
      case 'firewall':
        return {
          id: r.uuid(),
          name: `firewall-${r.hex(4)}`,
          status: 'succeeded',
          inbound_rules: [sshRule()],
          outbound_rules: [allOutbound()],
          droplet_ids: [],
          tags: [],
          created_at: now,
        } satisfies FirewallRec;
      case 'load_balancer':
        return {
          id: r.uuid(),
          name: `lb-${r.hex(4)}`,
          ip: this.allocateIpv4('lb'),
          region,
          size: 'lb-small',
          size_unit: 1,
          algorithm: 'round_robin',
          status: 'active',
          forwarding_rules: [httpRule()],
          droplet_ids: [],
          tag: '',
          vpc_uuid: r.uuid(),
          created_at: now,
          project_id: projectId,
        } satisfies LoadBalancerRec;
      case 'domain':
        return {
          name: `example-${r.hex(4)}.com`,
          ttl: 1800,
          created_at: now,
          project_id: projectId,
        } satisfies DomainRec;
      case 'database':
        return {
          id: r.uuid(),
          name: `db-${r.hex(4)}`,
          engine: 'pg',
          version: '16',
          size: 'db-s-1vcpu-1gb',
          region,
          num_nodes: 1,
          status: 'online',
          created_at: now,
          tags: [],
          private_network_uuid: r.uuid(),
          storage_size_mib: 10240,
          password: r.hex(16),
          project_id: projectId,
        } satisfies DatabaseRec;
      case 'kubernetes':
        return {
          id: r.uuid(),
          name: `k8s-${r.hex(4)}`,
          region,
          version: '1.31.1-do.4',
          vpc_uuid: r.uuid(),
          ipv4: this.allocateIpv4('lb'),
          ha: false,
          status: 'running',
          tags: ['k8s'],
          node_pools: [],
          created_at: now,
          updated_at: now,
          project_id: projectId,
        } satisfies KubernetesRec;
      case 'app':
        return {
          id: r.uuid(),
          name: `app-${r.hex(4)}`,
          region: 'nyc',
          tier_slug: 'basic',
          instance_size_slug: 'apps-s-1vcpu-0.5gb',
          created_at: now,
          updated_at: now,
          project_id: projectId,
        } satisfies AppRec;
      case 'space':
        return { name: `bucket-${r.hex(6)}`, region, created_at: now, project_id: projectId } satisfies SpaceRec;
      case 'vpc':
        return {
          id: r.uuid(),
          name: `vpc-${r.hex(4)}`,
          region,
          created_at: now,
          project_id: projectId,
        } satisfies VpcRec;
    }
  }
}

function sshRule(): FirewallRule {
  return { protocol: 'tcp', ports: '22', sources: { addresses: ['0.0.0.0/0', '::/0'] } };
}

function allOutbound(): FirewallRule {
  return { protocol: 'tcp', ports: 'all', destinations: { addresses: ['0.0.0.0/0', '::/0'] } };
}

function httpRule(): ForwardingRule {
  return {
    entry_protocol: 'http',
    entry_port: 80,
    target_protocol: 'http',
    target_port: 80,
    certificate_id: '',
    tls_passthrough: false,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Seed generator

const ROLES = ['web', 'api', 'worker', 'db', 'cache', 'queue', 'ci-runner', 'bastion', 'search', 'metrics'];
const ENVS = ['prod', 'staging', 'dev'];
const PROJECT_NAMES: ReadonlyArray<[string, string, string]> = [
  ['Storefront', 'Web Application', 'Production'],
  ['Marketing, Growth', 'Website or blog', 'Production'],
  ['Data Platform', 'Data analytics', 'Production'],
  ['Internal Tools', 'Operational / Developer tooling', 'Staging'],
  ['Sandbox', 'Just trying out DigitalOcean', 'Development'],
];

function generateAccount(account: SimAccount, rng: Random): void {
  const { scale } = account;
  const nowMs = account.now.getTime();
  /** A creation time spread over the last `days` days, increasing with `i` out of `n`. */
  const spread = (i: number, n: number, days: number, minAgeDays = 0): string => {
    const span = (days - minAgeDays) * DAY;
    const base = nowMs - days * DAY + (span * i) / Math.max(1, n);
    return isoSeconds(Math.floor((base + rng.next() * (span / Math.max(1, n))) / 1000) * 1000);
  };

  // Projects: exactly one default, the others named from a list (one with a comma, to exercise CSV quoting).
  const projects: ProjectRec[] = [];
  const defaultCreated = isoSeconds(nowMs - 1500 * DAY);
  projects.push({
    id: rng.uuid(),
    name: 'Default',
    description: 'Default project',
    purpose: 'Just trying out DigitalOcean',
    environment: 'Development',
    is_default: true,
    created_at: defaultCreated,
    updated_at: isoSeconds(nowMs - 400 * DAY),
  });
  for (let i = 1; i < Math.max(1, scale.projects); i++) {
    const [name, purpose, environment] = PROJECT_NAMES[(i - 1) % PROJECT_NAMES.length] ?? [
      'Project',
      'Web Application',
      'Production',
    ];
    const suffix = i > PROJECT_NAMES.length ? ` ${Math.ceil(i / PROJECT_NAMES.length)}` : '';
    const created = spread(i, scale.projects, 1400, 900);
    projects.push({
      id: rng.uuid(),
      name: name + suffix,
      description: `${name} resources`,
      purpose,
      environment,
      is_default: false,
      created_at: created,
      updated_at: created,
    });
  }
  for (const p of projects) account.insert('project', p);
  const others = projects.slice(1);
  const defaultId = projects[0]!.id;
  /** Where a new resource lives: mostly a named project, often the default one, sometimes nowhere. */
  const projectFor = (allowNone: boolean): string | null => {
    const x = rng.next();
    if (allowNone && x < 0.08) return null;
    if (x < 0.4 || others.length === 0) return defaultId;
    return rng.pick(others).id;
  };

  const vpcs: VpcRec[] = [];
  for (let i = 0; i < scale.vpcs; i++) {
    const region = REGIONS[i % REGIONS.length]!.slug;
    vpcs.push({
      id: rng.uuid(),
      name: `default-${region}`,
      region,
      created_at: spread(i, scale.vpcs, 1300, 1000),
      project_id: i === 0 ? defaultId : projectFor(false),
    });
  }
  for (const v of vpcs) account.insert('vpc', v);
  const vpcFor = (region: string): string => vpcs.find((v) => v.region === region)?.id ?? `${rng.uuid()}`;

  // Droplets. Droplet #1 has the same name as #0, and every 50th one repeats its predecessor's name.
  const droplets: DropletRec[] = [];
  const regionsInUse = REGIONS.slice(0, 5).map((r) => r.slug);
  let nameCounter = 0;
  for (let i = 0; i < scale.droplets; i++) {
    const role = ROLES[i % ROLES.length]!;
    const env = ENVS[Math.floor(i / ROLES.length) % ENVS.length]!;
    let name = `${role}-${env}-${String(++nameCounter).padStart(2, '0')}`;
    if (i > 0 && i % 50 === 1) name = droplets[i - 1]!.name;
    const region = rng.pick(regionsInUse);
    const id = account.allocateDropletId() + rng.int(0, 40);
    const status: DropletRec['status'] = rng.bool(0.1) ? 'off' : 'active';
    const tags = rng.sample([role, `env:${env}`, 'team:platform', 'monitored', 'billing:cc-42'], rng.int(0, 3));
    const droplet: DropletRec = {
      id,
      name,
      size_slug: rng.pick(SIZE_SLUGS),
      region,
      status,
      tags,
      created_at: spread(i, scale.droplets, 800, 2),
      image_slug: rng.pick(IMAGES).slug,
      backups: rng.bool(0.3),
      locked: false,
      public_ipv4: account.allocateIpv4('droplet'),
      private_ipv4: `10.${100 + Math.floor(i / 64_000)}.${Math.floor(i / 250) % 256}.${2 + (i % 250)}`,
      ipv6: rng.bool(0.3) ? `2604:a880:400:d1::${(i + 0x100).toString(16)}:${rng.hex(3)}` : null,
      vpc_uuid: vpcFor(region),
      project_id: projectFor(true),
    };
    droplets.push(droplet);
    account.insert('droplet', droplet);
  }

  // Kubernetes clusters: their node droplets are real droplets (in /v2/droplets), outside every project.
  for (let c = 0; c < scale.kubernetesClusters; c++) {
    const region = rng.pick(regionsInUse);
    const id = rng.uuid();
    const created = spread(c, scale.kubernetesClusters, 500, 60);
    const name = c === 0 ? 'prod-cluster-01' : `k8s-${ENVS[c % ENVS.length]}-${String(c + 1).padStart(2, '0')}`;
    const pools: NodePoolRec[] = [];
    const poolCount = c === 0 ? 2 : 1;
    for (let p = 0; p < poolCount; p++) {
      const poolName = p === 0 ? 'default-pool' : 'workers';
      const size = p === 0 ? 's-2vcpu-4gb' : 's-4vcpu-8gb';
      const nodes: KubernetesNodeRec[] = [];
      const count = rng.int(2, 3);
      for (let n = 0; n < count; n++) {
        const nodeName = `${poolName}-${rng.hex(5)}`;
        const droplet: DropletRec = {
          id: account.allocateDropletId() + rng.int(0, 5),
          name: nodeName,
          size_slug: size,
          region,
          status: 'active',
          tags: ['k8s', `k8s:${id}`, 'k8s:worker'],
          created_at: created,
          image_slug: 'debian-12-x64',
          backups: false,
          locked: false,
          public_ipv4: account.allocateIpv4('droplet'),
          private_ipv4: `10.200.${c}.${p * 16 + n + 2}`,
          ipv6: null,
          vpc_uuid: vpcFor(region),
          project_id: null,
        };
        account.insert('droplet', droplet);
        nodes.push({ id: rng.uuid(), name: nodeName, droplet_id: droplet.id, created_at: created });
      }
      pools.push({
        id: rng.uuid(),
        name: poolName,
        size,
        auto_scale: p === 1,
        min_nodes: p === 1 ? 1 : 0,
        max_nodes: p === 1 ? 5 : 0,
        nodes,
      });
    }
    account.insert('kubernetes', {
      id,
      name,
      region,
      version: '1.31.1-do.4',
      vpc_uuid: vpcFor(region),
      ipv4: account.allocateIpv4('lb'),
      ha: c === 0,
      status: 'running',
      tags: ['k8s', `k8s:${id}`],
      node_pools: pools,
      created_at: created,
      updated_at: created,
      project_id: others[c % Math.max(1, others.length)]?.id ?? defaultId,
    });
  }

  // Volumes: about 60% attached to a droplet of the same region.
  for (let i = 0; i < scale.volumes; i++) {
    const attach = droplets.length > 0 && rng.bool(0.6);
    const droplet = attach ? rng.pick(droplets) : undefined;
    const region = droplet?.region ?? rng.pick(regionsInUse);
    const name = `volume-${region}-${String(i + 1).padStart(2, '0')}`;
    account.insert('volume', {
      id: rng.uuid(),
      name,
      region,
      size_gigabytes: rng.pick([10, 50, 100, 100, 250, 500]),
      droplet_ids: droplet ? [droplet.id] : [],
      description: droplet ? `Data for ${droplet.name}` : 'Block storage',
      filesystem_type: rng.pick(['ext4', 'xfs']),
      filesystem_label: name.slice(0, 12),
      created_at: spread(i, scale.volumes, 700, 3),
      tags: rng.sample(['data', 'backup', 'env:prod'], rng.int(0, 2)),
      project_id: projectFor(true),
    });
  }
  const volumes = [...account.list('volume')];

  // Snapshots: two thirds of droplets (some of droplets that no longer exist), one third of volumes.
  for (let i = 0; i < scale.snapshots; i++) {
    const created = spread(i, scale.snapshots, 600, 1);
    const createdMs = Date.parse(created);
    const ofVolume = volumes.length > 0 && i % 3 === 2;
    if (ofVolume) {
      const v = rng.pick(volumes);
      account.insert('snapshot', {
        id: rng.uuid(),
        name: `${v.name}-${createdMs}`,
        resource_type: 'volume',
        resource_id: v.id,
        regions: [v.region],
        created_at: created,
        min_disk_size: v.size_gigabytes,
        size_gigabytes: Math.round(rng.next() * v.size_gigabytes * 100) / 100,
        tags: [],
      });
    } else {
      const orphan = droplets.length === 0 || i % 11 === 5;
      const d = orphan ? undefined : rng.pick(droplets);
      const size = sizeInfo(d?.size_slug ?? 's-1vcpu-1gb');
      account.insert('snapshot', {
        id: account.allocateSnapshotId(),
        name: `${d?.name ?? 'gone-host'}-${createdMs}`,
        resource_type: 'droplet',
        resource_id: String(d?.id ?? 300_000_000 + i),
        regions: [d?.region ?? 'nyc3'],
        created_at: created,
        min_disk_size: size.disk,
        size_gigabytes: Math.round((0.5 + rng.next() * size.disk * 0.4) * 100) / 100,
        tags: d ? d.tags.slice(0, 1) : [],
      });
    }
  }

  // Reserved IPv4: half assigned to droplets (in the droplet's region), half unassigned (these bill).
  for (let i = 0; i < scale.reservedIps; i++) {
    const droplet = i % 2 === 0 && droplets.length > 0 ? rng.pick(droplets) : undefined;
    account.insert('reserved_ip', {
      ip: account.allocateIpv4('reserved'),
      region: droplet?.region ?? rng.pick(regionsInUse),
      droplet_id: droplet?.id ?? null,
      locked: false,
      project_id: projectFor(false),
      created_at: spread(i, scale.reservedIps, 500, 40),
    });
  }
  for (let i = 0; i < scale.reservedIpv6s; i++) {
    const droplet = i === 0 && droplets.length > 0 ? rng.pick(droplets) : undefined;
    account.insert('reserved_ipv6', {
      ip: `2604:a880:800:14::${(0x1000 + i).toString(16)}:${rng.hex(4)}`,
      region_slug: droplet?.region ?? rng.pick(regionsInUse),
      droplet_id: droplet?.id ?? null,
      reserved_at: spread(i, scale.reservedIpv6s, 300, 10),
      project_id: projectFor(false),
    });
  }

  // Load balancers (before firewalls, which may admit them as sources).
  for (let i = 0; i < scale.loadBalancers; i++) {
    const region = rng.pick(regionsInUse);
    const targets = rng.sample(
      droplets.filter((d) => d.region === region),
      rng.int(1, 3),
    );
    const https = rng.bool(0.5);
    account.insert('load_balancer', {
      id: rng.uuid(),
      name: `${ROLES[i % ROLES.length]}-lb-${String(i + 1).padStart(2, '0')}`,
      ip: account.allocateIpv4('lb'),
      region,
      size: 'lb-small',
      size_unit: rng.int(1, 2),
      algorithm: rng.pick(['round_robin', 'least_connections'] as const),
      status: 'active',
      forwarding_rules: https
        ? [
            httpRule(),
            {
              entry_protocol: 'https',
              entry_port: 443,
              target_protocol: 'http',
              target_port: 8080,
              certificate_id: rng.uuid(),
              tls_passthrough: false,
            },
          ]
        : [httpRule()],
      droplet_ids: targets.map((d) => d.id),
      tag: '',
      vpc_uuid: vpcFor(region),
      created_at: spread(i, scale.loadBalancers, 450, 40),
      project_id: projectFor(false),
    });
  }
  const lbs = [...account.list('load_balancer')];

  for (let i = 0; i < scale.firewalls; i++) {
    const web = i % 2 === 0;
    const inbound: FirewallRule[] = [
      { protocol: 'tcp', ports: '22', sources: { addresses: ['18.0.0.0/8'], tags: ['bastion'] } },
    ];
    if (web)
      inbound.push({
        protocol: 'tcp',
        ports: '80',
        sources: { load_balancer_uids: lbs.slice(0, 1).map((l) => l.id), addresses: ['0.0.0.0/0', '::/0'] },
      });
    if (i % 3 === 1)
      inbound.push({
        protocol: 'udp',
        ports: '8000-9000',
        sources: { droplet_ids: droplets.slice(0, 2).map((d) => String(d.id)) },
      });
    account.insert('firewall', {
      id: rng.uuid(),
      name: web ? `web-firewall-${i + 1}` : `internal-${i + 1}`,
      status: 'succeeded',
      inbound_rules: inbound,
      outbound_rules: [
        allOutbound(),
        { protocol: 'udp', ports: '53', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
      ],
      droplet_ids: rng.sample(droplets, rng.int(0, 4)).map((d) => d.id),
      tags: web ? ['web'] : [],
      created_at: spread(i, scale.firewalls, 600, 30),
    });
  }

  const tlds = ['com', 'io', 'net', 'dev'];
  for (let i = 0; i < scale.domains; i++) {
    account.insert('domain', {
      name: `${['acme', 'shop', 'status', 'docs', 'example', 'internal'][i % 6]}${i >= 6 ? i : ''}.${tlds[i % tlds.length]}`,
      ttl: 1800,
      created_at: spread(i, scale.domains, 1000, 100),
      project_id: projectFor(true),
    });
  }

  const engines = [
    ['pg', '16'],
    ['mysql', '8'],
    ['valkey', '8'],
    ['mongodb', '7'],
  ] as const;
  for (let i = 0; i < scale.databases; i++) {
    const [engine, version] = engines[i % engines.length]!;
    const region = rng.pick(regionsInUse);
    account.insert('database', {
      id: rng.uuid(),
      name: i === 0 ? 'backend' : `${engine}-${ENVS[i % ENVS.length]}-${i}`,
      engine,
      version,
      size: rng.pick(Object.keys(DATABASE_SIZES)),
      region,
      num_nodes: rng.pick([1, 1, 2, 3]),
      status: 'online',
      created_at: spread(i, scale.databases, 700, 50),
      tags: rng.sample(['production', 'analytics'], rng.int(0, 1)),
      private_network_uuid: vpcFor(region),
      storage_size_mib: rng.pick([10240, 30720, 61440]),
      password: `AVNS_${rng.hex(20)}`,
      project_id: projectFor(false),
    });
  }

  const appRegions = ['nyc', 'fra', 'ams', 'sfo'];
  for (let i = 0; i < scale.apps; i++) {
    const created = spread(i, scale.apps, 400, 20);
    account.insert('app', {
      id: rng.uuid(),
      name: ['sample-php', 'landing-page', 'admin-portal', 'docs-site'][i % 4] + (i >= 4 ? `-${i}` : ''),
      region: rng.pick(appRegions),
      tier_slug: 'basic',
      instance_size_slug: rng.pick(Object.keys(APP_SIZES)),
      created_at: created,
      updated_at: created,
      project_id: projectFor(false),
    });
  }

  for (let i = 0; i < scale.spaces; i++) {
    account.insert('space', {
      name: ['static-assets', 'db-backups', 'user-uploads', 'logs-archive'][i % 4] + (i >= 4 ? `-${i}` : ''),
      region: rng.pick(['nyc3', 'ams3', 'fra1', 'sgp1']),
      created_at: spread(i, scale.spaces, 900, 60),
      project_id: projectFor(false),
    });
  }

  // Memberships that do not map to a record: an unknown kind, and a droplet the Projects API can't find.
  const someProject = others[0]?.id ?? defaultId;
  account.extraProjectEntries.push(
    {
      project_id: someProject,
      urn: `do:task:${rng.int(100000, 999999)}`,
      status: 'ok',
      assigned_at: isoSeconds(nowMs - 30 * DAY),
    },
    {
      project_id: defaultId,
      urn: `do:droplet:${299_000_000 + rng.int(0, 999)}`,
      status: 'not_found',
      assigned_at: isoSeconds(nowMs - 90 * DAY),
    },
  );
  // One real app whose membership the API reports as "service_down" (membership uncertain, resource exists).
  const app = account.list('app')[0];
  if (app) account.projectEntryStatus.set(recordUrn('app', app)!, 'service_down');
}
