/**
 * Renders account records into DigitalOcean's response shapes (checked against the official spec's examples),
 * and caches each record's JSON text per revision so that a
 * 10,000-item listing is mostly string joins.
 */
import { IMAGES, REGION_FEATURES, REGIONS, SIZE_SLUGS, regionInfo, sizeInfo } from './catalog.js';
import {
  recordKey,
  recordUrn,
  type AppRec,
  type DatabaseRec,
  type DomainRec,
  type DropletRec,
  type FirewallRec,
  type Kind,
  type KindRecords,
  type KubernetesRec,
  type LoadBalancerRec,
  type ProjectRec,
  type ReservedIpRec,
  type ReservedIpv6Rec,
  type SimAccount,
  type SnapshotRec,
  type VolumeRec,
} from './state.js';

export type Json = Record<string, unknown>;

const regionObjects = new Map<string, Json>();

/** The embedded region object of droplets, volumes, reserved IPs and load balancers. */
export function regionObject(slug: string): Json {
  let r = regionObjects.get(slug);
  if (!r) {
    r = { name: regionInfo(slug).name, slug, features: REGION_FEATURES, available: true, sizes: SIZE_SLUGS };
    regionObjects.set(slug, r);
  }
  return r;
}

function sizeObject(slug: string): Json {
  const s = sizeInfo(slug);
  return {
    slug,
    memory: s.memory,
    vcpus: s.vcpus,
    disk: s.disk,
    transfer: s.transfer,
    price_monthly: s.priceMonthly,
    price_hourly: Math.round((s.priceMonthly / 672) * 1e5) / 1e5,
    regions: REGIONS.map((r) => r.slug),
    available: true,
    description: s.description,
  };
}

function imageObject(slug: string): Json {
  const img = IMAGES.find((i) => i.slug === slug) ?? IMAGES[0]!;
  return {
    id: img.id,
    name: img.name,
    distribution: img.distribution,
    slug: img.slug,
    public: true,
    regions: REGIONS.map((r) => r.slug),
    created_at: img.createdAt,
    type: 'base',
    min_disk_size: img.minDisk,
    size_gigabytes: img.sizeGigabytes,
    description: '',
    tags: [],
    status: 'available',
    error_message: '',
  };
}

/** Derived relations (droplet → its volumes and snapshots), rebuilt when volumes or snapshots change. */
class Indexes {
  private volumeVersion = -1;
  private snapshotVersion = -1;
  private volumesByDroplet = new Map<number, string[]>();
  private snapshotsByDroplet = new Map<string, number[]>();

  constructor(private readonly account: SimAccount) {}

  volumeIds(dropletId: number): string[] {
    const v = this.account.versionOf('volume');
    if (v !== this.volumeVersion) {
      this.volumesByDroplet.clear();
      for (const vol of this.account.list('volume')) {
        for (const d of vol.droplet_ids) {
          const list = this.volumesByDroplet.get(d) ?? [];
          list.push(vol.id);
          this.volumesByDroplet.set(d, list);
        }
      }
      this.volumeVersion = v;
    }
    return this.volumesByDroplet.get(dropletId) ?? [];
  }

  snapshotIds(dropletId: number): number[] {
    const v = this.account.versionOf('snapshot');
    if (v !== this.snapshotVersion) {
      this.snapshotsByDroplet.clear();
      for (const s of this.account.list('snapshot')) {
        if (s.resource_type !== 'droplet') continue;
        const list = this.snapshotsByDroplet.get(s.resource_id) ?? [];
        list.push(Number(s.id));
        this.snapshotsByDroplet.set(s.resource_id, list);
      }
      this.snapshotVersion = v;
    }
    return this.snapshotsByDroplet.get(String(dropletId)) ?? [];
  }
}

export interface RenderOptions {
  /** Scheme + host used in `links` (default `https://api.digitalocean.com`). */
  linkBase: string;
}

/** Render variants: `apps` with/without `project_id` (`?with_projects=true`). */
export type Variant = '' | 'with_projects';

export class Renderer {
  private readonly indexes: Indexes;
  private readonly cache = new WeakMap<object, { rev: number; variant: Variant; json: string }>();

  constructor(
    private readonly account: SimAccount,
    private readonly options: RenderOptions,
  ) {
    this.indexes = new Indexes(account);
  }

  get linkBase(): string {
    return this.options.linkBase;
  }

  /** The JSON text of one record, cached per record revision. */
  json<K extends Kind>(kind: K, rec: KindRecords[K], variant: Variant = ''): string {
    const rev = this.account.revOf(rec);
    const hit = this.cache.get(rec);
    if (hit && hit.rev === rev && hit.variant === variant) return hit.json;
    const json = JSON.stringify(this.object(kind, rec, variant));
    this.cache.set(rec, { rev, variant, json });
    return json;
  }

  object<K extends Kind>(kind: K, rec: KindRecords[K], variant: Variant = ''): Json {
    switch (kind) {
      case 'project':
        return this.project(rec as ProjectRec);
      case 'droplet':
        return this.droplet(rec as DropletRec);
      case 'volume':
        return this.volume(rec as VolumeRec);
      case 'snapshot':
        return this.snapshot(rec as SnapshotRec);
      case 'reserved_ip':
        return this.reservedIp(rec as ReservedIpRec);
      case 'reserved_ipv6':
        return this.reservedIpv6(rec as ReservedIpv6Rec);
      case 'firewall':
        return this.firewall(rec as FirewallRec);
      case 'load_balancer':
        return this.loadBalancer(rec as LoadBalancerRec);
      case 'domain':
        return this.domain(rec as DomainRec);
      case 'database':
        return this.database(rec as DatabaseRec);
      case 'kubernetes':
        return this.kubernetes(rec as KubernetesRec);
      case 'app':
        return this.app(rec as AppRec, variant === 'with_projects');
      default:
        return { ...(rec as object) };
    }
  }

  account_(): Json {
    const a = this.account;
    return {
      droplet_limit: 25,
      floating_ip_limit: 5,
      reserved_ip_limit: 5,
      volume_limit: 100,
      email: a.email,
      name: 'Sammy Ops',
      uuid: a.uuid,
      email_verified: true,
      status: 'active',
      status_message: '',
      team: { uuid: a.teamUuid, name: a.teamName },
    };
  }

  project(p: ProjectRec): Json {
    return {
      id: p.id,
      owner_uuid: this.account.uuid,
      owner_id: this.account.ownerId,
      name: p.name,
      description: p.description,
      purpose: p.purpose,
      environment: p.environment,
      is_default: p.is_default,
      created_at: p.created_at,
      updated_at: p.updated_at,
    };
  }

  droplet(d: DropletRec): Json {
    const size = sizeInfo(d.size_slug);
    const features = ['monitoring', 'private_networking'];
    if (d.backups) features.unshift('backups');
    if (d.ipv6) features.push('ipv6');
    const windowStart = new Date(Math.floor(this.account.now.getTime() / 86_400_000 + 1) * 86_400_000);
    return {
      id: d.id,
      name: d.name,
      memory: size.memory,
      vcpus: size.vcpus,
      disk: size.disk,
      disk_info: [{ type: 'local', size: { amount: size.disk, unit: 'gib' } }],
      locked: d.locked,
      status: d.status,
      kernel: null,
      created_at: d.created_at,
      features,
      backup_ids: d.backups ? [180_000_000 + (d.id % 10_000_000) * 2, 180_000_001 + (d.id % 10_000_000) * 2] : [],
      next_backup_window: d.backups
        ? {
            start: windowStart.toISOString().replace('.000Z', 'Z'),
            end: new Date(windowStart.getTime() + 23 * 3_600_000).toISOString().replace('.000Z', 'Z'),
          }
        : null,
      snapshot_ids: this.indexes.snapshotIds(d.id),
      image: imageObject(d.image_slug),
      volume_ids: this.indexes.volumeIds(d.id),
      size: sizeObject(d.size_slug),
      size_slug: d.size_slug,
      networks: {
        v4: [
          { ip_address: d.private_ipv4, netmask: '255.255.240.0', gateway: '<nil>', type: 'private' },
          {
            ip_address: d.public_ipv4,
            netmask: '255.255.240.0',
            gateway: d.public_ipv4.replace(/\.\d+$/, '.1'),
            type: 'public',
          },
        ],
        v6: d.ipv6
          ? [{ ip_address: d.ipv6, netmask: 64, gateway: d.ipv6.replace(/::.*$/, '::1'), type: 'public' }]
          : [],
      },
      region: regionObject(d.region),
      tags: d.tags,
      vpc_uuid: d.vpc_uuid,
    };
  }

  volume(v: VolumeRec): Json {
    return {
      id: v.id,
      region: regionObject(v.region),
      droplet_ids: v.droplet_ids,
      name: v.name,
      description: v.description,
      size_gigabytes: v.size_gigabytes,
      created_at: v.created_at,
      filesystem_type: v.filesystem_type,
      filesystem_label: v.filesystem_label,
      tags: v.tags,
    };
  }

  snapshot(s: SnapshotRec): Json {
    return {
      id: s.id,
      name: s.name,
      created_at: s.created_at,
      regions: s.regions,
      resource_id: s.resource_id,
      resource_type: s.resource_type,
      min_disk_size: s.min_disk_size,
      size_gigabytes: s.size_gigabytes,
      tags: s.tags,
    };
  }

  private attachedDroplet(id: number | null): Json | null {
    if (id === null) return null;
    const d = this.account.get('droplet', id);
    return d ? this.droplet(d) : null;
  }

  reservedIp(r: ReservedIpRec): Json {
    const out: Json = {
      ip: r.ip,
      droplet: this.attachedDroplet(r.droplet_id),
      region: regionObject(r.region),
      locked: r.locked,
    };
    if (r.project_id) out.project_id = r.project_id;
    return out;
  }

  reservedIpv6(r: ReservedIpv6Rec): Json {
    return {
      ip: r.ip,
      region_slug: r.region_slug,
      reserved_at: r.reserved_at,
      droplet: this.attachedDroplet(r.droplet_id),
    };
  }

  firewall(f: FirewallRec): Json {
    return {
      id: f.id,
      name: f.name,
      status: f.status,
      inbound_rules: f.inbound_rules,
      outbound_rules: f.outbound_rules,
      created_at: f.created_at,
      droplet_ids: f.droplet_ids,
      tags: f.tags,
      pending_changes: [],
    };
  }

  loadBalancer(l: LoadBalancerRec): Json {
    const out: Json = {
      id: l.id,
      name: l.name,
      ip: l.ip,
      ipv6: '',
      size_unit: l.size_unit,
      size: l.size,
      type: 'REGIONAL',
      network: 'EXTERNAL',
      algorithm: l.algorithm,
      status: l.status,
      created_at: l.created_at,
      forwarding_rules: l.forwarding_rules,
      health_check: {
        protocol: 'http',
        port: 80,
        path: '/',
        check_interval_seconds: 10,
        response_timeout_seconds: 5,
        healthy_threshold: 5,
        unhealthy_threshold: 3,
      },
      sticky_sessions: { type: 'none' },
      region: regionObject(l.region),
      tag: l.tag,
      droplet_ids: l.droplet_ids,
      redirect_http_to_https: false,
      enable_proxy_protocol: false,
      enable_backend_keepalive: false,
      http_idle_timeout_seconds: 60,
      vpc_uuid: l.vpc_uuid,
      disable_lets_encrypt_dns_records: false,
      firewall: { deny: [], allow: [] },
    };
    if (l.project_id) out.project_id = l.project_id;
    return out;
  }

  domain(d: DomainRec): Json {
    const serial = Math.floor(Date.parse(d.created_at) / 1000);
    return {
      name: d.name,
      ttl: d.ttl,
      zone_file:
        `$ORIGIN ${d.name}.\n$TTL ${d.ttl}\n${d.name}. IN SOA ns1.digitalocean.com. hostmaster.${d.name}. ${serial} 10800 3600 604800 1800\n` +
        `${d.name}. ${d.ttl} IN NS ns1.digitalocean.com.\n${d.name}. ${d.ttl} IN NS ns2.digitalocean.com.\n${d.name}. ${d.ttl} IN NS ns3.digitalocean.com.\n`,
    };
  }

  database(db: DatabaseRec): Json {
    const scheme = { pg: 'postgresql', mysql: 'mysql', valkey: 'rediss', mongodb: 'mongodb+srv' }[db.engine];
    const port = { pg: 25060, mysql: 25060, valkey: 25061, mongodb: 27017 }[db.engine];
    const dbName = { pg: 'defaultdb', mysql: 'defaultdb', valkey: '', mongodb: 'admin' }[db.engine];
    const host = `${db.name}-do-user-${this.account.ownerId}-0.k.db.ondigitalocean.com`;
    const connection = (prefix: string): Json => ({
      protocol: scheme,
      uri: `${scheme}://doadmin:${db.password}@${prefix}${host}:${port}/${dbName}${db.engine === 'valkey' ? '' : '?sslmode=require'}`,
      database: dbName,
      host: `${prefix}${host}`,
      port,
      user: 'doadmin',
      password: db.password,
      ssl: true,
    });
    const out: Json = {
      id: db.id,
      name: db.name,
      engine: db.engine,
      version: db.version,
      semantic_version: `${db.version}.4`,
      connection: connection(''),
      private_connection: connection('private-'),
      users: [{ name: 'doadmin', role: 'primary', password: db.password }],
      db_names: dbName ? [dbName] : null,
      num_nodes: db.num_nodes,
      region: db.region,
      status: db.status,
      created_at: db.created_at,
      maintenance_window: { day: 'saturday', hour: '08:45:12', pending: false, description: [] },
      size: db.size,
      tags: db.tags.length > 0 ? db.tags : null,
      private_network_uuid: db.private_network_uuid,
      storage_size_mib: db.storage_size_mib,
    };
    if (db.project_id) out.project_id = db.project_id;
    return out;
  }

  kubernetes(k: KubernetesRec): Json {
    return {
      id: k.id,
      name: k.name,
      region: k.region,
      version: k.version,
      cluster_subnet: '10.244.0.0/16',
      service_subnet: '10.245.0.0/16',
      vpc_uuid: k.vpc_uuid,
      ipv4: k.ipv4,
      endpoint: `https://${k.id}.k8s.ondigitalocean.com`,
      tags: k.tags,
      node_pools: k.node_pools.map((p) => ({
        id: p.id,
        name: p.name,
        size: p.size,
        count: p.nodes.length,
        tags: [...k.tags, 'k8s:worker'],
        labels: null,
        taints: [],
        auto_scale: p.auto_scale,
        min_nodes: p.min_nodes,
        max_nodes: p.max_nodes,
        nodes: p.nodes.map((n) => ({
          id: n.id,
          name: n.name,
          status: { state: 'running' },
          droplet_id: String(n.droplet_id),
          created_at: n.created_at,
          updated_at: n.created_at,
        })),
      })),
      maintenance_policy: { start_time: '00:00', duration: '4h0m0s', day: 'any' },
      auto_upgrade: false,
      status: { state: k.status, message: k.status === 'running' ? '' : k.status },
      created_at: k.created_at,
      updated_at: k.updated_at,
      surge_upgrade: true,
      registry_enabled: false,
      ha: k.ha,
    };
  }

  app(a: AppRec, withProjects: boolean): Json {
    const labels: Record<string, [string, string, string, string]> = {
      nyc: ['New York', 'us', 'North America', 'nyc1'],
      fra: ['Frankfurt', 'germany', 'Europe', 'fra1'],
      ams: ['Amsterdam', 'netherlands', 'Europe', 'ams3'],
      sfo: ['San Francisco', 'us', 'North America', 'sfo3'],
    };
    const [label, flag, continent, dc] = labels[a.region] ?? [a.region, 'us', 'North America', `${a.region}1`];
    const spec = {
      name: a.name,
      region: a.region,
      services: [
        {
          name: a.name,
          github: { repo: `example/${a.name}`, branch: 'main', deploy_on_push: true },
          instance_size_slug: a.instance_size_slug,
          instance_count: 1,
          http_port: 8080,
          routes: [{ path: '/' }],
        },
      ],
    };
    const ingress = `https://${a.name}-${a.id.slice(0, 5)}.ondigitalocean.app`;
    const out: Json = {
      id: a.id,
      owner_uuid: this.account.uuid,
      spec,
      default_ingress: ingress,
      created_at: a.created_at,
      updated_at: a.updated_at,
      active_deployment: {
        id: a.id.split('').reverse().join(''),
        spec,
        phase: 'ACTIVE',
        created_at: a.updated_at,
        updated_at: a.updated_at,
      },
      last_deployment_created_at: a.updated_at,
      live_url: ingress,
      region: { slug: a.region, label, flag, continent, data_centers: [dc] },
      tier_slug: a.tier_slug,
      live_url_base: ingress,
      live_domain: ingress.replace('https://', ''),
    };
    if (withProjects && a.project_id) out.project_id = a.project_id;
    return out;
  }

  /** A `links.self` for a project member, or undefined for kinds without a v2 endpoint (spaces, unknown). */
  selfLink(urn: string): string | undefined {
    const m = /^do:([^:]+):(.+)$/.exec(urn);
    if (!m) return undefined;
    const paths: Record<string, string> = {
      droplet: 'droplets',
      volume: 'volumes',
      floatingip: 'floating_ips',
      reservedip: 'reserved_ips',
      floatingipv6: 'reserved_ipv6',
      loadbalancer: 'load_balancers',
      domain: 'domains',
      dbaas: 'databases',
      kubernetes: 'kubernetes/clusters',
      app: 'apps',
      vpc: 'vpcs',
    };
    const path = paths[m[1]!];
    return path ? `${this.options.linkBase}/v2/${path}/${m[2]}` : undefined;
  }
}

/** Kinds that can belong to a project, with the order their members are listed in. */
export const PROJECT_MEMBER_KINDS: readonly Kind[] = [
  'droplet',
  'volume',
  'reserved_ip',
  'reserved_ipv6',
  'load_balancer',
  'domain',
  'database',
  'kubernetes',
  'app',
  'space',
  'vpc',
];

export interface ProjectMember {
  urn: string;
  assigned_at: string;
  status: string;
}

/** Members of one project (the URN list of `/v2/projects/{id}/resources`). */
export function projectMembers(account: SimAccount, projectId: string): ProjectMember[] {
  const out: ProjectMember[] = [];
  for (const kind of PROJECT_MEMBER_KINDS) {
    for (const rec of account.list(kind)) {
      const r = rec as { project_id?: string | null; created_at?: string; reserved_at?: string };
      if (r.project_id !== projectId) continue;
      const urn = recordUrn(kind, rec)!;
      const created = r.created_at ?? r.reserved_at ?? account.now.toISOString();
      out.push({ urn, assigned_at: created, status: account.projectEntryStatus.get(urn) ?? 'ok' });
    }
  }
  for (const e of account.extraProjectEntries) {
    if (e.project_id === projectId) out.push({ urn: e.urn, assigned_at: e.assigned_at, status: e.status });
  }
  return out;
}

export { recordKey };
