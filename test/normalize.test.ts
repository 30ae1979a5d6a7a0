import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import type {
  App,
  DatabaseCluster,
  Domain,
  Droplet,
  Firewall,
  KubernetesCluster,
  LoadBalancer,
  Project,
  RawDatabaseCluster,
  ReservedIp,
  ReservedIpv6,
  Snapshot,
  Volume,
} from '../src/digitalocean/types.js';
import { parseUrn } from '../src/digitalocean/urn.js';
import * as ep from '../src/digitalocean/endpoints.js';
import { TASKS } from '../src/domain/tasks.js';
import { INVENTORY_KINDS, kindSpec } from '../src/jobs/inventory/kinds.js';
import { RESOURCE_KINDS, URN_ONLY_KINDS } from '../src/jobs/inventory/resource-kinds.js';
import {
  canonicalJson,
  fingerprint,
  normalizeApp,
  normalizeDatabase,
  normalizeDomain,
  normalizeDroplet,
  normalizeFirewall,
  normalizeFromUrn,
  normalizeKubernetesCluster,
  normalizeLoadBalancer,
  normalizeProject,
  normalizeReservedIp,
  normalizeReservedIpv6,
  normalizeSnapshot,
  normalizeSpacesBucket,
  normalizeVolume,
  normalizeVpc,
  parseDate,
  scrubSecrets,
  type NormalizedResource,
} from '../src/jobs/inventory/normalize.js';

/** The spec's example list body (see test/fixtures/do-examples/README.md). */
function example<T>(file: string, listKey: string): T[] {
  const body = JSON.parse(
    readFileSync(new URL(`./fixtures/do-examples/${file}.json`, import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
  const items = body[listKey];
  if (!Array.isArray(items) || items.length === 0) throw new Error(`${file}.json has no ${listKey}`);
  return items as T[];
}

function first<T>(items: T[]): T {
  const item = items[0];
  if (item === undefined) throw new Error('empty');
  return item;
}

/** Every normalized row must be JSON-storable and carry the invariant shape. */
function expectWellFormed(n: NormalizedResource) {
  expect(n.providerId).not.toBe('');
  expect(Array.isArray(n.tags)).toBe(true);
  expect(n.attrs).toEqual(JSON.parse(JSON.stringify(n.attrs)));
  expect(n.providerCreatedAt === null || !Number.isNaN(n.providerCreatedAt.getTime())).toBe(true);
}

describe('normalize on the spec examples', () => {
  it('droplet', () => {
    const droplets = example<Droplet>('droplets', 'droplets');
    const n = normalizeDroplet(first(droplets));
    expectWellFormed(n);
    expect(n).toMatchObject({
      kind: 'droplet',
      providerId: '3164444',
      name: 'example.com',
      region: 'nyc3',
      status: 'active',
      size: 's-1vcpu-1gb',
      tags: ['env:prod', 'web'],
      providerCreatedAt: new Date('2020-07-21T18:37:44Z'),
    });
    expect(n.attrs).toEqual({
      vcpus: 1,
      memory: 1024,
      disk: 25,
      image_id: 63663980,
      image_slug: 'ubuntu-20-04-x64',
      image_name: '20.04 (LTS) x64',
      image_distribution: 'Ubuntu',
      public_ipv4: '192.241.165.154',
      private_ipv4: '10.128.192.124',
      ipv6: '2604:a880:0:1010::18a:a001',
      vpc_uuid: '760e09ef-dc84-11e8-981e-3cfdfeaae000',
      volume_ids: [],
      backup_ids: [53893572],
      snapshot_ids: [67512819],
      features: ['backups', 'private_networking', 'ipv6'],
      locked: false,
      price_monthly: 5,
      price_hourly: 0.00743999984115362,
      gpu_model: null,
      gpu_count: null,
    });
    // next_backup_window moves every day; it must not be in attrs (fingerprint churn).
    expect(JSON.stringify(n.attrs)).not.toContain('2020-07-30');
    expect(normalizeDroplet(droplets[1] as Droplet).attrs.volume_ids).toEqual(['506f78a4-e098-11e5-ad9f-000f53306ae1']);
    expect(normalizeDroplet(droplets[1] as Droplet).attrs.ipv6).toBeNull();
  });

  it('GPU droplet (listed with type=gpus)', () => {
    const n = normalizeDroplet(first(example<Droplet>('droplets_gpu', 'droplets')));
    expectWellFormed(n);
    expect(n).toMatchObject({ kind: 'droplet', providerId: '448543583', region: 'tor1', size: 'gpu-h100x1-80gb' });
    expect(n.attrs).toMatchObject({ gpu_model: 'nvidia_h100', gpu_count: 1 });
  });

  it('volume: size written as <n>GB', () => {
    const n = normalizeVolume(first(example<Volume>('volumes', 'volumes')));
    expectWellFormed(n);
    expect(n).toEqual({
      kind: 'volume',
      providerId: '506f78a4-e098-11e5-ad9f-000f53306ae1',
      name: 'example',
      region: 'nyc1',
      status: null,
      size: '10GB',
      tags: ['aninterestingtag'],
      attrs: {
        size_gigabytes: 10,
        droplet_ids: [],
        filesystem_type: 'ext4',
        filesystem_label: 'example',
        description: 'Block store for examples',
      },
      providerCreatedAt: new Date('2016-03-02T17:00:49Z'),
    });
  });

  it('snapshot: one kind for droplet and volume snapshots', () => {
    const [d, v] = example<Snapshot>('snapshots', 'snapshots').map(normalizeSnapshot);
    expect(d).toEqual({
      kind: 'snapshot',
      providerId: '6372321',
      name: 'web-01-1595954862243',
      region: 'nyc3',
      status: null,
      size: '2.34GB',
      tags: ['env:prod', 'web'],
      attrs: {
        resource_type: 'droplet',
        resource_id: '200776916',
        regions: ['nyc3', 'sfo3'],
        size_gigabytes: 2.34,
        min_disk_size: 25,
      },
      providerCreatedAt: new Date('2020-07-28T16:47:44Z'),
    });
    expect(v).toMatchObject({
      kind: 'snapshot',
      providerId: 'fbe805e8-866b-11e6-96bf-000f53315a41',
      region: 'nyc1',
      attrs: { resource_type: 'volume', resource_id: '89bcc42f-85cf-11e6-a004-000f53315871' },
    });
  });

  it('reserved IP (and the legacy floating IP body) → floating_ip', () => {
    const reserved = normalizeReservedIp(first(example<ReservedIp>('reserved_ips', 'reserved_ips')));
    const floating = normalizeReservedIp(first(example<ReservedIp>('floating_ips', 'floating_ips')));
    expectWellFormed(reserved);
    expect(reserved).toEqual({
      kind: 'floating_ip',
      providerId: '45.55.96.47',
      name: '45.55.96.47',
      region: 'nyc3',
      status: 'unassigned',
      size: null,
      tags: [],
      attrs: {
        droplet_id: null,
        droplet_name: null,
        locked: false,
        project_id: '746c6152-2fa2-11ed-92d3-27aaa54e4988',
      },
      providerCreatedAt: null,
    });
    expect(floating).toEqual(reserved);
  });

  it('reserved IP assigned to a droplet', () => {
    const ip = first(example<ReservedIp>('reserved_ips', 'reserved_ips'));
    const droplet = first(example<Droplet>('droplets', 'droplets'));
    const n = normalizeReservedIp({ ...ip, droplet });
    expect(n.status).toBe('assigned');
    expect(n.attrs).toMatchObject({ droplet_id: '3164444', droplet_name: 'example.com' });
  });

  it('reserved IPv6 is its own kind', () => {
    const [a, b] = example<ReservedIpv6>('reserved_ipv6', 'reserved_ipv6s').map(normalizeReservedIpv6);
    expect(a).toEqual({
      kind: 'reserved_ipv6',
      providerId: 'fd53:616d:6d60::dc9:c001',
      name: 'fd53:616d:6d60::dc9:c001',
      region: 'nyc3',
      status: 'unassigned',
      size: null,
      tags: [],
      attrs: { droplet_id: null, droplet_name: null, locked: null, project_id: null },
      providerCreatedAt: new Date('2020-01-01T00:00:00Z'),
    });
    expect(b?.region).toBe('nyc1');
    const assigned = normalizeReservedIpv6({
      ip: '2001:db8::1',
      region_slug: 'nyc3',
      droplet: { id: 42, name: 'web' } as Droplet,
    });
    expect(assigned).toMatchObject({ status: 'assigned', attrs: { droplet_id: '42', droplet_name: 'web' } });
  });

  it('firewall', () => {
    const n = normalizeFirewall(first(example<Firewall>('firewalls', 'firewalls')));
    expectWellFormed(n);
    expect(n).toMatchObject({
      kind: 'firewall',
      providerId: 'fb6045f1-cf1d-4ca3-bfac-18832663025b',
      name: 'firewall',
      region: null,
      status: 'succeeded',
      tags: [],
      providerCreatedAt: new Date('2017-05-23T21:23:59Z'),
    });
    expect(n.attrs.droplet_ids).toEqual([8043964]);
    expect(n.attrs.pending_changes).toEqual([]);
    expect(n.attrs.tags).toEqual([]);
    expect(n.attrs.inbound_rules).toEqual([
      { protocol: 'tcp', ports: '80', sources: { load_balancer_uids: ['4de7ac8b-495b-4884-9a69-1050c6793cd6'] } },
      { protocol: 'tcp', ports: '22', sources: { tags: ['gateway'], addresses: ['18.0.0.0/8'] } },
    ]);
    expect(n.attrs.outbound_rules).toEqual([
      { protocol: 'tcp', ports: '80', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
    ]);
  });

  it('firewall target tags go to attrs, not to the tags column', () => {
    const fw = first(example<Firewall>('firewalls', 'firewalls'));
    const n = normalizeFirewall({ ...fw, tags: ['web', 'web', 'db'] });
    expect(n.tags).toEqual([]);
    expect(n.attrs.tags).toEqual(['db', 'web']);
  });

  it('load balancer', () => {
    const [a, b] = example<LoadBalancer>('load_balancers', 'load_balancers').map(normalizeLoadBalancer);
    expect(a).toMatchObject({
      kind: 'load_balancer',
      providerId: '4de7ac8b-495b-4884-9a69-1050c6793cd6',
      name: 'example-lb-01',
      region: 'nyc3',
      status: 'new',
      size: 'lb-small',
      providerCreatedAt: new Date('2017-02-01T22:22:58Z'),
    });
    expect(a?.attrs).toMatchObject({
      algorithm: 'round_robin',
      ip: '104.131.186.241',
      droplet_ids: [3164444, 3164445],
      tag: null,
      vpc_uuid: 'c33931f2-a26a-4e61-b85c-4e95a2ec431b',
      project_id: null,
      size_slug: 'lb-small',
      size_unit: null,
    });
    expect(a?.attrs.forwarding_rules).toHaveLength(2);
    expect(b?.attrs).toMatchObject({ tag: 'prod:web', project_id: '9cc10173-e9ea-4176-9dbc-a4cee4c4ff30' });
  });

  it('load balancer: size_unit wins, algorithm only when present, no region for global LBs', () => {
    const lb = first(example<LoadBalancer>('load_balancers', 'load_balancers'));
    const { algorithm: _dropped, region: _region, ...rest } = lb;
    const n = normalizeLoadBalancer({ ...rest, size_unit: 3, type: 'GLOBAL' });
    expect(n.size).toBe('3 nodes');
    expect(n.region).toBeNull();
    expect('algorithm' in n.attrs).toBe(false);
    expect(n.attrs).toMatchObject({ size_unit: 3, size_slug: 'lb-small', type: 'GLOBAL' });
    expect(normalizeLoadBalancer({ ...lb, size_unit: 1 }).size).toBe('1 node');
  });

  it('dns zone keeps ttl, drops zone_file', () => {
    const n = normalizeDomain(first(example<Domain>('domains', 'domains')));
    expect(n).toEqual({
      kind: 'dns_zone',
      providerId: 'example.com',
      name: 'example.com',
      region: null,
      status: null,
      size: null,
      tags: [],
      attrs: { ttl: 1800 },
      providerCreatedAt: null,
    });
    expect(JSON.stringify(n)).not.toContain('$ORIGIN');
  });

  it('managed database', () => {
    const n = normalizeDatabase(first(example<DatabaseCluster>('databases', 'databases')));
    expectWellFormed(n);
    expect(n).toEqual({
      kind: 'managed_db',
      providerId: '9cc10173-e9ea-4176-9dbc-a4cee4c4ff30',
      name: 'backend',
      region: 'nyc3',
      status: 'online',
      size: 'db-s-2vcpu-4gb',
      tags: ['production'],
      attrs: {
        engine: 'pg',
        version: '10',
        semantic_version: null,
        num_nodes: 1,
        storage_size_mib: 61440,
        private_network_uuid: 'd455e75d-4858-4eec-8c95-da2f0a5f93a7',
        project_id: null,
        db_names: ['defaultdb'],
        maintenance_window: { day: 'saturday', hour: '08:45:12' },
        version_end_of_life: '2023-11-09T00:00:00Z',
      },
      providerCreatedAt: new Date('2019-01-11T18:37:36Z'),
    });
  });

  it('kubernetes cluster', () => {
    const n = normalizeKubernetesCluster(
      first(example<KubernetesCluster>('kubernetes_clusters', 'kubernetes_clusters')),
    );
    expectWellFormed(n);
    expect(n).toMatchObject({
      kind: 'kubernetes_cluster',
      providerId: 'bd5f5959-5e1e-4205-a714-a914373942af',
      name: 'prod-cluster-01',
      region: 'nyc1',
      status: 'provisioning',
      size: null,
      tags: ['k8s', 'k8s:bd5f5959-5e1e-4205-a714-a914373942af', 'production', 'web-team'],
      providerCreatedAt: new Date('2018-11-15T16:00:11Z'),
    });
    expect(n.attrs).toEqual({
      version: '1.18.6-do.0',
      ha: false,
      auto_upgrade: false,
      vpc_uuid: 'c33931f2-a26a-4e61-b85c-4e95a2ec431b',
      node_pools: [
        {
          id: 'cdda885e-7663-40c8-bc74-3a036c66545d',
          name: 'frontend-pool',
          size: 's-1vcpu-2gb',
          count: 3,
          auto_scale: false,
          min_nodes: 0,
          max_nodes: 0,
          droplet_ids: ['205545370', '205545371', '205545372'],
        },
        {
          id: 'f49f4379-7e7f-4af5-aeb6-0354bd840778',
          name: 'backend-pool',
          size: 'g-4vcpu-16gb',
          count: 2,
          auto_scale: true,
          min_nodes: 2,
          max_nodes: 5,
          droplet_ids: ['205545373', '205545374'],
        },
      ],
    });
  });

  it('app', () => {
    const app = first(example<App>('apps', 'apps'));
    const n = normalizeApp(app);
    expectWellFormed(n);
    expect(n).toEqual({
      kind: 'app',
      providerId: '4f6c71e2-1e90-4762-9fee-6cc4a0a9f2cf',
      name: 'sample-php',
      region: 'fra',
      // The example's active_deployment carries no phase.
      status: null,
      size: 'basic',
      tags: [],
      attrs: {
        project_id: null,
        live_url: 'https://sample-php.example.com',
        default_ingress: 'https://sample-php-iaj87.ondigitalocean.app',
        active_deployment_id: '3aa4d20e-5527-4c00-b496-601fbd22520a',
      },
      providerCreatedAt: new Date('2020-11-19T20:27:18Z'),
    });
    const withPhase = normalizeApp({
      ...app,
      project_id: 'p-1',
      active_deployment: { ...app.active_deployment, phase: 'ACTIVE' },
    });
    expect(withPhase.status).toBe('ACTIVE');
    expect(withPhase.attrs.project_id).toBe('p-1');
  });

  it('project', () => {
    const [p, d] = example<Project>('projects', 'projects').map(normalizeProject);
    expect(p).toEqual({
      providerId: '4e1bfbc3-dc3e-41f2-a18f-1b4d7ba71679',
      name: 'my-web-api',
      description: 'My website API',
      purpose: 'Service or API',
      environment: 'Production',
      isDefault: false,
      providerCreatedAt: new Date('2018-09-27T20:10:35Z'),
      providerUpdatedAt: new Date('2018-09-27T20:10:35Z'),
    });
    expect(d).toMatchObject({ name: 'Default', isDefault: true, providerUpdatedAt: new Date('2019-11-05T18:50:03Z') });
  });

  it('URN-only kinds: spaces bucket, vpc, unknown', () => {
    expect(normalizeSpacesBucket('my-website-assets')).toEqual({
      kind: 'spaces_bucket',
      providerId: 'my-website-assets',
      name: 'my-website-assets',
      region: null,
      status: null,
      size: null,
      tags: [],
      attrs: { urn: 'do:space:my-website-assets' },
      providerCreatedAt: null,
    });
    expect(normalizeVpc('5a4981aa-9653-4bd1-bef5-d6bff52042e4')).toMatchObject({ kind: 'vpc', name: null });
    const space = parseUrn('do:space:my-website-assets');
    const task = parseUrn('do:task:a:b');
    if (!space || !task) throw new Error('parse');
    expect(normalizeFromUrn(space)).toEqual(normalizeSpacesBucket('my-website-assets'));
    expect(normalizeFromUrn(task)).toMatchObject({
      kind: 'task',
      providerId: 'a:b',
      name: null,
      attrs: { urn: 'do:task:a:b' },
    });
  });
});

describe('normalize is defensive', () => {
  const all = [
    normalizeDroplet,
    normalizeVolume,
    normalizeSnapshot,
    normalizeReservedIp,
    normalizeReservedIpv6,
    normalizeFirewall,
    normalizeLoadBalancer,
    normalizeDomain,
    normalizeDatabase,
    normalizeKubernetesCluster,
    normalizeApp,
  ] as ((x: unknown) => NormalizedResource)[];

  it('an empty object gives nulls and [] instead of throwing', () => {
    for (const fn of all) {
      const n = fn({});
      expect(n.tags).toEqual([]);
      expect(n.providerCreatedAt).toBeNull();
      expect(n.name).toBeNull();
    }
  });

  it('null tags become [], duplicate tags collapse, tags sort', () => {
    const v = first(example<Volume>('volumes', 'volumes'));
    expect(normalizeVolume({ ...v, tags: null }).tags).toEqual([]);
    expect(normalizeVolume({ ...v, tags: ['b', 'a', 'b'] }).tags).toEqual(['a', 'b']);
  });

  it('parseDate: invalid and Go zero time are null', () => {
    expect(parseDate('2020-07-21T18:37:44Z')).toEqual(new Date('2020-07-21T18:37:44Z'));
    expect(parseDate('not a date')).toBeNull();
    expect(parseDate('')).toBeNull();
    expect(parseDate(undefined)).toBeNull();
    expect(parseDate(1234)).toBeNull();
    expect(parseDate('0001-01-01T00:00:00Z')).toBeNull();
    const d = first(example<Droplet>('droplets', 'droplets'));
    expect(normalizeDroplet({ ...d, created_at: 'garbage' }).providerCreatedAt).toBeNull();
  });
});

describe('managed_db never stores credentials', () => {
  const raw: RawDatabaseCluster = {
    ...first(example<RawDatabaseCluster>('databases', 'databases')),
    project_id: 'proj-1',
    standby_connection: {
      uri: 'postgres://doadmin:standbySecret1@standby.example:25060/defaultdb',
      password: 'standbySecret1',
      host: 'standby.example',
    },
    standby_private_connection: { uri: 'postgres://doadmin:standbySecret2@x/y', password: 'standbySecret2' },
    ui_connection: { uri: 'https://admin:uiSecret3@ui.example', password: 'uiSecret3' },
    users: [
      { name: 'doadmin', role: 'primary', password: 'userSecret4' },
      { name: 'kafka', role: 'normal', access_cert: 'CERT-5', access_key: 'KEY-6' },
    ],
  };
  // Planted where an allow-list would not look, to exercise the second line of defence.
  const sneaky = {
    ...raw,
    db_names: ['defaultdb', 'mysql://root:dbNameSecret7@h/db'],
    maintenance_window: { day: 'monday', hour: '01:00', password: 'mwSecret8' },
  } as unknown as DatabaseCluster;

  const secrets = [
    'wv78n3zpz42xezdk',
    'standbySecret1',
    'standbySecret2',
    'uiSecret3',
    'userSecret4',
    'CERT-5',
    'KEY-6',
    'dbNameSecret7',
    'mwSecret8',
    'postgres://',
    'doadmin',
    'password',
    'connection',
  ];

  it.each([
    ['spec example', () => raw],
    ['planted', () => sneaky],
  ])('%s', (_label, body) => {
    const text = JSON.stringify(normalizeDatabase(body()));
    for (const s of secrets) expect(text).not.toContain(s);
    expect(JSON.parse(text)).toMatchObject({
      providerId: '9cc10173-e9ea-4176-9dbc-a4cee4c4ff30',
      attrs: { project_id: 'proj-1' },
    });
  });

  it('scrubSecrets drops secret keys and credentialed URIs at any depth', () => {
    expect(
      scrubSecrets({
        a: 1,
        nested: {
          api_token: 't',
          uri: 'x',
          keep: 'y',
          list: [{ secret: 's', ok: true }, 'https://u:p@h', 'https://h/ok'],
        },
        Password: 'p',
        connection: { host: 'h' },
      }),
    ).toEqual({ a: 1, nested: { keep: 'y', list: [{ ok: true }, 'https://h/ok'] } });
  });
});

describe('fingerprint', () => {
  const base = normalizeDroplet(first(example<Droplet>('droplets', 'droplets')));

  it('is a sha256 hex string, deterministic', () => {
    expect(fingerprint(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint(base)).toBe(fingerprint(normalizeDroplet(first(example<Droplet>('droplets', 'droplets')))));
  });

  it('ignores key order at every depth', () => {
    const reordered: NormalizedResource = {
      providerCreatedAt: base.providerCreatedAt,
      attrs: Object.fromEntries(Object.entries(base.attrs).reverse()),
      tags: base.tags,
      size: base.size,
      status: base.status,
      region: base.region,
      name: base.name,
      providerId: base.providerId,
      kind: base.kind,
    };
    expect(fingerprint(reordered)).toBe(fingerprint(base));
    expect(canonicalJson({ b: { d: 1, c: 2 }, a: [{ y: 1, x: 2 }] })).toBe('{"a":[{"x":2,"y":1}],"b":{"c":2,"d":1}}');
  });

  it('ignores sync bookkeeping passed along with the row', () => {
    const row = { ...base, lastSeenAt: new Date(), missCount: 2, staleAt: null };
    expect(fingerprint(row)).toBe(fingerprint(base));
  });

  it('changes when anything normalized changes', () => {
    const fp = fingerprint(base);
    const variants: NormalizedResource[] = [
      { ...base, name: 'renamed' },
      { ...base, status: 'off' },
      { ...base, size: 's-2vcpu-4gb' },
      { ...base, region: 'ams3' },
      { ...base, tags: [...base.tags, 'new'] },
      { ...base, attrs: { ...base.attrs, volume_ids: ['v-1'] } },
      { ...base, attrs: { ...base.attrs, extra: null } },
      { ...base, providerCreatedAt: new Date('2021-01-01T00:00:00Z') },
      { ...base, providerId: '1' },
      { ...base, kind: 'volume' },
    ];
    const fps = variants.map(fingerprint);
    for (const f of fps) expect(f).not.toBe(fp);
    expect(new Set(fps).size).toBe(fps.length);
  });

  it('array order counts (rules are ordered)', () => {
    expect(fingerprint({ ...base, attrs: { x: [1, 2] } })).not.toBe(fingerprint({ ...base, attrs: { x: [2, 1] } }));
  });
});

describe('kind table', () => {
  it('declares every listable kind exactly once', () => {
    const kinds = INVENTORY_KINDS.map((k) => k.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    // Each kind is the task of the same name in the registry.
    for (const kind of kinds) expect(TASKS[kind].group).toBe('inventory');
    expect([...kinds, ...URN_ONLY_KINDS].sort()).toEqual([...RESOURCE_KINDS].sort());
  });

  it('paths, list keys, schedules', () => {
    const table = Object.fromEntries(
      INVENTORY_KINDS.map((k) => [
        k.kind,
        `${k.listings[0]!.path} ${k.listings[0]!.key} ${TASKS[k.kind].schedule} ${k.listings[0]!.paginated ?? true}`,
      ]),
    );
    expect(table).toEqual({
      droplet: '/v2/droplets droplets */15 * * * * true',
      volume: '/v2/volumes volumes */15 * * * * true',
      snapshot: '/v2/snapshots snapshots 33 * * * * true',
      floating_ip: '/v2/reserved_ips reserved_ips */15 * * * * true',
      reserved_ipv6: '/v2/reserved_ipv6 reserved_ipv6s */15 * * * * true',
      firewall: '/v2/firewalls firewalls */15 * * * * true',
      load_balancer: '/v2/load_balancers load_balancers */15 * * * * true',
      dns_zone: '/v2/domains domains */15 * * * * true',
      managed_db: '/v2/databases databases */15 * * * * false',
      kubernetes_cluster: '/v2/kubernetes/clusters kubernetes_clusters */15 * * * * true',
      app: '/v2/apps apps */15 * * * * true',
    });
    expect(kindSpec('floating_ip').listings[0]!.fallback).toMatchObject({
      path: '/v2/floating_ips',
      key: 'floating_ips',
    });
    expect(kindSpec('app').listings[0]!.query).toEqual({ with_projects: 'true' });
    expect(kindSpec('droplet').listings.map((l) => [l.path, l.key, l.query ?? null])).toEqual([
      ['/v2/droplets', 'droplets', null],
      ['/v2/droplets', 'droplets', { type: 'gpus' }],
    ]);
    expect(TASKS.projects.schedule).toBe('*/15 * * * *');
    expect(ep.projects).toMatchObject({ path: '/v2/projects', key: 'projects' });
  });

  it("each kind's normalize runs on its spec example and yields that kind", () => {
    const files: Record<string, string> = {
      droplet: 'droplets',
      volume: 'volumes',
      snapshot: 'snapshots',
      floating_ip: 'reserved_ips',
      reserved_ipv6: 'reserved_ipv6',
      firewall: 'firewalls',
      load_balancer: 'load_balancers',
      dns_zone: 'domains',
      managed_db: 'databases',
      kubernetes_cluster: 'kubernetes_clusters',
      app: 'apps',
    };
    for (const spec of INVENTORY_KINDS) {
      const file = files[spec.kind];
      if (!file) throw new Error(`no example for ${spec.kind}`);
      const listing = spec.listings[0]!;
      for (const item of example<unknown>(file, listing.key)) {
        const n = listing.map!(item);
        expect(n.kind).toBe(spec.kind);
        expectWellFormed(n);
      }
    }
  });
});
