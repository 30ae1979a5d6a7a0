/**
 * Billing of the simulated account, consistent with its inventory.
 *
 * - Closed months are billed from a ledger captured when the simulator starts (the seed inventory plus
 *   resources that were deleted before "now", whose names never appear in the current inventory), so later
 *   churn never rewrites history.
 * - The month-to-date invoice (`invoice_preview`, keyword `preview`) is computed from the live inventory plus
 *   everything deleted this month; the balance's `month_to_date_usage` is its amount.
 * - Every line carries the truth of what it bills (`LineRef`); `expectedMatches()` classifies each line
 *   against the *current* inventory so tests can compare a computed match rate with the expected one.
 *
 * Money is handled in integer cents; amounts in the API are decimal strings ("12.34"), in the CSV `$12.34`,
 * negative credits `-$5.00`.
 */
import { APP_SIZES, BILLABLE_HOURS_CAP, DATABASE_SIZES, PRICES, sizeInfo } from './catalog.js';
import { Random } from './random.js';
import { isoSeconds, type DeletedRecord, type Kind, type KindRecords, type SimAccount } from './state.js';

// ---------------------------------------------------------------------------------------------------------------
// Types

/** Resource kinds that appear on invoices. */
export type BilledKind =
  'droplet' | 'volume' | 'snapshot' | 'reserved_ip' | 'load_balancer' | 'kubernetes' | 'database' | 'app';

/** What an invoice line is for. `name` is what a name-based matcher should extract from the line. */
export type LineRef =
  | { type: 'resource'; kind: BilledKind; id: string; name: string }
  | { type: 'account' } // bandwidth, container registry, Spaces subscription: no single resource
  | { type: 'tax' }
  | { type: 'credit' };

export interface InvoiceLine {
  product: string;
  group_description: string;
  description: string;
  /** Whole hours; null for taxes, credits and flat charges (empty `hours` in the CSV). */
  hours: number | null;
  startMs: number;
  endMs: number;
  amountCents: number;
  project_name: string;
  category: 'iaas' | 'paas';
  resource_uuid?: string;
  resource_id?: string;
  /** Where the resource runs (billing insights carry it; the invoice does not). */
  region?: string;
  ref: LineRef;
}

export interface Invoice {
  uuid: string;
  id: string;
  /** `YYYY-MM`. */
  period: string;
  preview: boolean;
  startMs: number;
  endMs: number;
  lineCount: number;
  lineAt(index: number): InvoiceLine;
  totalCents: number;
}

export interface BillingHistoryEntry {
  description: string;
  amountCents: number;
  invoice_id?: string;
  invoice_uuid?: string;
  date: string;
  type: 'Invoice' | 'Payment' | 'Credit';
}

/** How a line relates to the current inventory. */
export type LineStatus =
  | 'current' // the resource exists and its name is unique in its kind: matchable by id and by name
  | 'ambiguous' // the resource exists but other resources of its kind share its name: only an id match is safe
  | 'renamed' // the resource exists under another name: matchable by id only
  | 'deleted' // the resource no longer exists (or never did in this inventory): unmatched
  | 'account' // not a resource (bandwidth, registry, Spaces subscription)
  | 'tax'
  | 'credit';

export interface LineTruth {
  index: number;
  product: string;
  description: string;
  ref: LineRef;
  status: LineStatus;
}

export interface MatchExpectation {
  invoice_uuid: string;
  lines: LineTruth[];
  counts: Record<LineStatus, number> & { total: number; resourceLines: number };
  /** Lines a perfect id-based matcher (JSON `resource_uuid`/`resource_id`, IP for reserved IPs) attributes to a current resource, over all lines. */
  idMatchRate: number;
  /** Lines a perfect (kind, name) matcher attributes unambiguously to a current resource, over all lines. */
  nameMatchRate: number;
}

export interface BillingOptions {
  /** Adds one extra closed invoice (the oldest) with this many lines, streamed, for benchmarks. */
  largeInvoiceLines?: number | undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const HOUR = 3_600_000;
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_LONG = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

export function formatMoney(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function csvMoney(cents: number): string {
  return cents < 0 ? `-$${formatMoney(-cents)}` : `$${formatMoney(cents)}`;
}

/** `YYYY-MM-DD HH:MM:SS +0000`, the CSV's date format. */
export function csvDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function monthStart(year: number, month: number): number {
  return Date.UTC(year, month, 1);
}

function period(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

function proRata(monthlyDollars: number, hours: number): number {
  return Math.round((monthlyDollars * 100 * Math.min(hours, BILLABLE_HOURS_CAP)) / BILLABLE_HOURS_CAP);
}

// ---------------------------------------------------------------------------------------------------------------
// Ledger: what was billable, from when to when, under which name

interface Billable {
  kind: BilledKind;
  /** Builds the lines of this resource for [startMs, endMs) given `hours`. */
  lines(startMs: number, endMs: number, hours: number): InvoiceLine[];
  createdMs: number;
  deletedMs: number | null;
}

function resourceLine(
  fields: Omit<InvoiceLine, 'startMs' | 'endMs' | 'hours' | 'amountCents'>,
  startMs: number,
  endMs: number,
  hours: number,
  monthly: number,
): InvoiceLine {
  return { ...fields, startMs, endMs, hours, amountCents: proRata(monthly, hours) };
}

/** The billable items of one record (empty for kinds or states that cost nothing). */
function billablesOf<K extends Kind>(
  account: SimAccount,
  kind: K,
  rec: KindRecords[K],
  projectName: (id: string | null | undefined) => string,
  deletedMs: number | null,
  resizes?: ReadonlyMap<number, Resize>,
): Billable[] {
  // A shallow copy freezes the names and sizes billed now, even if the live record is renamed later.
  rec = { ...rec };
  const out: Billable[] = [];
  const add = (k: BilledKind, createdAt: string, lines: Billable['lines']): void => {
    out.push({ kind: k, createdMs: Date.parse(createdAt), deletedMs, lines });
  };
  switch (kind) {
    case 'droplet': {
      const d = rec as KindRecords['droplet'];
      if (d.tags.some((t) => t.startsWith('k8s:'))) break; // billed under Kubernetes Clusters
      const project = projectName(d.project_id);
      const ref = { type: 'resource', kind: 'droplet', id: String(d.id), name: d.name } as const;
      const dropletLines =
        (sizeSlug: string): Billable['lines'] =>
        (s, e, h) => {
          const size = sizeInfo(sizeSlug);
          const fields = {
            group_description: '',
            description: `${d.name} (${sizeSlug})`,
            project_name: project,
            category: 'iaas',
            resource_id: String(d.id),
            region: d.region,
            ref,
          } as const;
          const lines = [resourceLine({ product: 'Droplets', ...fields }, s, e, h, size.priceMonthly)];
          if (d.backups)
            lines.push(
              resourceLine({ product: 'Backups', ...fields }, s, e, h, size.priceMonthly * PRICES.backupsShare),
            );
          return lines;
        };
      const resize = resizes?.get(d.id);
      if (resize && Date.parse(d.created_at) < resize.atMs) {
        // Billed at the old size until the resize, then at the new one: two lines (and two SKUs) that month.
        out.push({
          kind: 'droplet',
          createdMs: Date.parse(d.created_at),
          deletedMs: resize.atMs,
          lines: dropletLines(resize.fromSize),
        });
        out.push({ kind: 'droplet', createdMs: resize.atMs, deletedMs, lines: dropletLines(d.size_slug) });
      } else {
        add('droplet', d.created_at, dropletLines(d.size_slug));
      }
      break;
    }
    case 'volume': {
      const v = rec as KindRecords['volume'];
      const project = projectName(v.project_id);
      add('volume', v.created_at, (s, e, h) => [
        resourceLine(
          {
            product: 'Volumes',
            group_description: '',
            description: `${v.name} (${v.region}) ${v.size_gigabytes}GB`,
            project_name: project,
            category: 'iaas',
            resource_uuid: v.id,
            region: v.region,
            ref: { type: 'resource', kind: 'volume', id: v.id, name: v.name },
          },
          s,
          e,
          h,
          v.size_gigabytes * PRICES.volumePerGb,
        ),
      ]);
      break;
    }
    case 'snapshot': {
      const sn = rec as KindRecords['snapshot'];
      const droplet = sn.resource_type === 'droplet';
      add('snapshot', sn.created_at, (s, e, h) => [
        resourceLine(
          {
            product: droplet ? 'Droplet Snapshots' : 'Volume Snapshots',
            group_description: '',
            description: `${sn.name} (${sn.size_gigabytes}GB)`,
            project_name: '',
            category: 'iaas',
            ...(droplet ? { resource_id: sn.id } : { resource_uuid: sn.id }),
            region: sn.regions[0] ?? '',
            ref: { type: 'resource', kind: 'snapshot', id: sn.id, name: sn.name },
          },
          s,
          e,
          h,
          Math.max(0.01, sn.size_gigabytes * PRICES.snapshotPerGb),
        ),
      ]);
      break;
    }
    case 'reserved_ip': {
      const ip = rec as KindRecords['reserved_ip'];
      if (ip.droplet_id !== null) break; // assigned reserved IPs are free
      const project = projectName(ip.project_id);
      add('reserved_ip', ip.created_at, (s, e, h) => [
        resourceLine(
          {
            product: 'Floating IPs',
            group_description: '',
            description: `Unused Floating IP - ${ip.ip}`,
            project_name: project,
            category: 'iaas',
            region: ip.region,
            ref: { type: 'resource', kind: 'reserved_ip', id: ip.ip, name: ip.ip },
          },
          s,
          e,
          h,
          PRICES.unusedReservedIp,
        ),
      ]);
      break;
    }
    case 'load_balancer': {
      const lb = rec as KindRecords['load_balancer'];
      const project = projectName(lb.project_id);
      add('load_balancer', lb.created_at, (s, e, h) => [
        resourceLine(
          {
            product: 'Load Balancers',
            group_description: '',
            description: lb.name,
            project_name: project,
            category: 'iaas',
            resource_uuid: lb.id,
            region: lb.region,
            ref: { type: 'resource', kind: 'load_balancer', id: lb.id, name: lb.name },
          },
          s,
          e,
          h,
          PRICES.loadBalancerPerNode * lb.size_unit,
        ),
      ]);
      break;
    }
    case 'kubernetes': {
      const k = rec as KindRecords['kubernetes'];
      const project = projectName(k.project_id);
      const ref = { type: 'resource', kind: 'kubernetes', id: k.id, name: k.name } as const;
      const nodes = k.node_pools.flatMap((p) => p.nodes.map((n) => ({ name: n.name, size: p.size })));
      add('kubernetes', k.created_at, (s, e, h) => {
        const lines = nodes.map((n) =>
          resourceLine(
            {
              product: 'Kubernetes Clusters',
              group_description: k.name,
              description: `${n.name} (${n.size})`,
              project_name: project,
              category: 'paas',
              resource_uuid: k.id,
              region: k.region,
              ref,
            },
            s,
            e,
            h,
            sizeInfo(n.size).priceMonthly,
          ),
        );
        if (k.ha) {
          lines.push(
            resourceLine(
              {
                product: 'Kubernetes Clusters',
                group_description: k.name,
                description: 'High Availability Control Plane',
                project_name: project,
                category: 'paas',
                resource_uuid: k.id,
                region: k.region,
                ref,
              },
              s,
              e,
              h,
              PRICES.kubernetesHaControlPlane,
            ),
          );
        }
        return lines;
      });
      break;
    }
    case 'database': {
      const db = rec as KindRecords['database'];
      const project = projectName(db.project_id);
      const engine = { pg: 'PostgreSQL', mysql: 'MySQL', valkey: 'Valkey', mongodb: 'MongoDB' }[db.engine];
      add('database', db.created_at, (s, e, h) => [
        resourceLine(
          {
            product: 'Managed Databases',
            group_description: db.name,
            description: `${engine} ${db.size} (${db.num_nodes} node${db.num_nodes > 1 ? 's' : ''})`,
            project_name: project,
            category: 'paas',
            resource_uuid: db.id,
            region: db.region,
            ref: { type: 'resource', kind: 'database', id: db.id, name: db.name },
          },
          s,
          e,
          h,
          (DATABASE_SIZES[db.size] ?? 15) * db.num_nodes,
        ),
      ]);
      break;
    }
    case 'app': {
      const a = rec as KindRecords['app'];
      const project = projectName(a.project_id);
      add('app', a.created_at, (s, e, h) => [
        resourceLine(
          {
            product: 'App Platform',
            group_description: a.name,
            description: `${a.name} (${a.instance_size_slug})`,
            project_name: project,
            category: 'paas',
            resource_uuid: a.id,
            region: a.region,
            ref: { type: 'resource', kind: 'app', id: a.id, name: a.name },
          },
          s,
          e,
          h,
          APP_SIZES[a.instance_size_slug] ?? 5,
        ),
      ]);
      break;
    }
    default:
      break;
  }
  void account;
  return out;
}

const BILLED_KINDS: readonly BilledKind[] = [
  'droplet',
  'volume',
  'snapshot',
  'reserved_ip',
  'load_balancer',
  'kubernetes',
  'database',
  'app',
];

/** A droplet resized during the simulated months: billed at `fromSize` until `atMs`, at its current size after. */
export interface Resize {
  dropletId: number;
  name: string;
  fromSize: string;
  toSize: string;
  atMs: number;
}

function ledgerOf(account: SimAccount, resizes?: ReadonlyMap<number, Resize>): Billable[] {
  const names = new Map(account.list('project').map((p) => [p.id, p.name]));
  const projectName = (id: string | null | undefined): string => (id ? (names.get(id) ?? '') : '');
  const out: Billable[] = [];
  for (const kind of BILLED_KINDS) {
    for (const rec of account.list(kind)) out.push(...billablesOf(account, kind, rec, projectName, null, resizes));
  }
  return out;
}

function ledgerOfDeleted(account: SimAccount, deleted: readonly DeletedRecord[]): Billable[] {
  const names = new Map(account.list('project').map((p) => [p.id, p.name]));
  const projectName = (id: string | null | undefined): string => (id ? (names.get(id) ?? '') : '');
  return deleted.flatMap((d) => billablesOf(account, d.kind, d.record, projectName, Date.parse(d.deleted_at)));
}

/** Resources that existed in past months and were deleted before the simulator started. */
function historicDeleted(account: SimAccount, rng: Random, firstMonthMs: number): DeletedRecord[] {
  const nowMs = account.now.getTime();
  const span = nowMs - firstMonthMs;
  const at = (fraction: number): string => isoSeconds(Math.floor((firstMonthMs + span * fraction) / 1000) * 1000);
  const projects = account.list('project');
  const pid = (): string | null => (rng.bool(0.2) ? null : rng.pick(projects).id);
  const out: DeletedRecord[] = [];
  const roles = ['api', 'worker', 'web', 'etl', 'vpn', 'build'];
  const dropletCount = Math.max(4, Math.round(account.scale.droplets / 10));
  for (let i = 0; i < dropletCount; i++) {
    const created = 0.05 + rng.next() * 0.5;
    const deleted = i === 0 ? 0.985 : created + 0.05 + rng.next() * 0.4; // #0 is deleted this month
    const size = rng.pick(['s-1vcpu-1gb', 's-2vcpu-4gb', 's-4vcpu-8gb', 'c-2']);
    out.push({
      kind: 'droplet',
      deleted_at: at(Math.min(deleted, 0.99)),
      record: {
        id: 310_000_000 + i * 7,
        name: `retired-${roles[i % roles.length]}-${String(i + 1).padStart(2, '0')}`,
        size_slug: size,
        region: 'nyc3',
        status: 'active',
        tags: [],
        created_at: at(created),
        image_slug: 'ubuntu-22-04-x64',
        backups: i % 2 === 0,
        locked: false,
        public_ipv4: `159.65.0.${i + 10}`,
        private_ipv4: `10.99.0.${i + 10}`,
        ipv6: null,
        vpc_uuid: rng.uuid(),
        project_id: pid(),
      },
    });
  }
  for (let i = 0; i < 2; i++) {
    out.push({
      kind: 'volume',
      deleted_at: at(0.4 + i * 0.3),
      record: {
        id: rng.uuid(),
        name: `retired-volume-${String(i + 1).padStart(2, '0')}`,
        region: 'fra1',
        size_gigabytes: 200,
        droplet_ids: [],
        description: '',
        filesystem_type: 'ext4',
        filesystem_label: '',
        created_at: at(0.1),
        tags: [],
        project_id: pid(),
      },
    });
  }
  out.push({
    kind: 'load_balancer',
    deleted_at: at(0.6),
    record: {
      id: rng.uuid(),
      name: 'retired-lb-01',
      ip: '167.99.0.3',
      region: 'nyc3',
      size: 'lb-small',
      size_unit: 1,
      algorithm: 'round_robin',
      status: 'active',
      forwarding_rules: [],
      droplet_ids: [],
      tag: '',
      vpc_uuid: rng.uuid(),
      created_at: at(0.15),
      project_id: pid(),
    },
  });
  out.push({
    kind: 'database',
    deleted_at: at(0.7),
    record: {
      id: rng.uuid(),
      name: 'retired-mysql',
      engine: 'mysql',
      version: '8',
      size: 'db-s-1vcpu-2gb',
      region: 'ams3',
      num_nodes: 1,
      status: 'online',
      created_at: at(0.2),
      tags: [],
      private_network_uuid: rng.uuid(),
      storage_size_mib: 30720,
      password: 'x',
      project_id: pid(),
    },
  });
  out.push({
    kind: 'reserved_ip',
    deleted_at: at(0.5),
    record: {
      ip: '174.138.0.77',
      region: 'nyc3',
      droplet_id: null,
      locked: false,
      project_id: pid(),
      created_at: at(0.1),
    },
  });
  out.push({
    kind: 'snapshot',
    deleted_at: at(0.8),
    record: {
      id: String(149_000_000 + rng.int(0, 999)),
      name: 'retired-api-01-before-upgrade',
      resource_type: 'droplet',
      resource_id: '310000000',
      regions: ['nyc3'],
      created_at: at(0.3),
      min_disk_size: 25,
      size_gigabytes: 4.2,
      tags: [],
    },
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Invoices

function linesForPeriod(ledger: readonly Billable[], startMs: number, endMs: number): InvoiceLine[] {
  const lines: InvoiceLine[] = [];
  for (const b of ledger) {
    // Overlap of [created, deleted) with [start, end]; a resource created "now" still bills its first hour.
    if (b.createdMs > endMs || (b.deletedMs !== null && b.deletedMs <= startMs)) continue;
    const s = Math.max(b.createdMs, startMs);
    const e = Math.min(b.deletedMs ?? Infinity, endMs);
    const hours = Math.max(1, Math.ceil((e - s) / HOUR));
    for (const line of b.lines(s, e, hours)) if (line.amountCents !== 0) lines.push(line);
  }
  const order = (l: InvoiceLine): string => `${l.product}\u0000${l.group_description}\u0000${l.description}`;
  lines.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return lines;
}

function accountLines(account: SimAccount, monthIndex: number, startMs: number, endMs: number): InvoiceLine[] {
  const hours = Math.ceil((endMs - startMs) / HOUR);
  const lines: InvoiceLine[] = [];
  const flat = (
    product: string,
    description: string,
    cents: number,
    category: 'iaas' | 'paas',
    h: number | null,
  ): InvoiceLine => ({
    product,
    group_description: '',
    description,
    hours: h,
    startMs,
    endMs,
    amountCents: cents,
    project_name: '',
    category,
    ref: { type: 'account' },
  });
  if (account.scale.spaces > 0) {
    lines.push(
      flat(
        'Spaces Subscription',
        'Spaces ($5/mo 250GB storage & 1TB bandwidth)',
        proRata(PRICES.spacesSubscription, hours),
        'iaas',
        hours,
      ),
    );
  }
  lines.push(
    flat(
      'Container Registry',
      'Container Registry (Basic)',
      proRata(PRICES.containerRegistryBasic, hours),
      'paas',
      hours,
    ),
  );
  if (monthIndex % 3 === 1)
    lines.push(flat('Bandwidth', 'Outbound Data Transfer Overage', 87 + monthIndex * 13, 'iaas', null));
  return lines;
}

function closeInvoice(lines: InvoiceLine[], startMs: number, endMs: number, creditCents: number): InvoiceLine[] {
  const subtotal = lines.reduce((sum, l) => sum + l.amountCents, 0);
  if (creditCents > 0) {
    lines.push({
      product: 'Credits',
      group_description: '',
      description: 'Promotional Credit (DO-PROMO-2026)',
      hours: null,
      startMs,
      endMs,
      amountCents: -Math.min(creditCents, subtotal),
      project_name: '',
      category: 'iaas',
      ref: { type: 'credit' },
    });
  }
  const tax = Math.round(subtotal * PRICES.taxRate);
  lines.push({
    product: 'Taxes',
    group_description: '',
    description: `STATE SALES TAX (${PRICES.taxRate * 100}%)`,
    hours: null,
    startMs,
    endMs,
    amountCents: tax,
    project_name: '',
    category: 'iaas',
    ref: { type: 'tax' },
  });
  return lines;
}

function arrayInvoice(
  uuid: string,
  id: string,
  startMs: number,
  endMs: number,
  preview: boolean,
  lines: InvoiceLine[],
): Invoice {
  return {
    uuid,
    id,
    period: period(startMs),
    preview,
    startMs,
    endMs,
    lineCount: lines.length,
    lineAt: (i) => lines[i]!,
    totalCents: lines.reduce((s, l) => s + l.amountCents, 0),
  };
}

/** Lines of the few most recently read closed invoices; others are rebuilt on demand (large accounts). */
const recentLines = new Map<object, InvoiceLine[]>();

/** A closed invoice whose lines are built on demand from a frozen ledger (only the total is kept). */
function lazyInvoice(uuid: string, id: string, startMs: number, endMs: number, build: () => InvoiceLine[]): Invoice {
  const first = build();
  const key = {};
  const lines = (): InvoiceLine[] => {
    let l = recentLines.get(key);
    if (!l) {
      l = build();
      recentLines.set(key, l);
      if (recentLines.size > 4) recentLines.delete(recentLines.keys().next().value as object);
    }
    return l;
  };
  return {
    uuid,
    id,
    period: period(startMs),
    preview: false,
    startMs,
    endMs,
    lineCount: first.length,
    lineAt: (i) => lines()[i]!,
    totalCents: first.reduce((s, l) => s + l.amountCents, 0),
  };
}

/** A huge invoice whose lines are computed from their index (never held in memory at once). */
function largeInvoice(
  uuid: string,
  id: string,
  startMs: number,
  endMs: number,
  template: readonly InvoiceLine[],
  count: number,
): Invoice {
  const body = template.filter((l) => l.ref.type === 'resource');
  const usable = body.length > 0 ? body : template;
  const tax = (subtotal: number): InvoiceLine => ({
    product: 'Taxes',
    group_description: '',
    description: `STATE SALES TAX (${PRICES.taxRate * 100}%)`,
    hours: null,
    startMs,
    endMs,
    amountCents: Math.round(subtotal * PRICES.taxRate),
    project_name: '',
    category: 'iaas',
    ref: { type: 'tax' },
  });
  const lineAt = (i: number): InvoiceLine => {
    const t = usable[i % usable.length]!;
    return { ...t, startMs, endMs };
  };
  let subtotal = 0;
  for (let i = 0; i < count - 1; i++) subtotal += usable[i % usable.length]!.amountCents;
  const taxLine = tax(subtotal);
  return {
    uuid,
    id,
    period: period(startMs),
    preview: false,
    startMs,
    endMs,
    lineCount: count,
    lineAt: (i) => (i === count - 1 ? taxLine : lineAt(i)),
    totalCents: subtotal + taxLine.amountCents,
  };
}

/**
 * The droplet resized mid-month: the first stand-alone droplet with a name of its own, created before the previous
 * month, resized at 10:00 UTC on the 14th of that month (so that day bills both sizes) from a smaller size.
 */
function pickResize(account: SimAccount): Resize | undefined {
  const now = account.now;
  const previousStart = monthStart(now.getUTCFullYear(), now.getUTCMonth() - 1);
  const names = new Map<string, number>();
  for (const d of account.list('droplet')) names.set(d.name, (names.get(d.name) ?? 0) + 1);
  const droplet = account
    .list('droplet')
    .find(
      (d) =>
        names.get(d.name) === 1 &&
        !d.tags.some((t) => t.startsWith('k8s:')) &&
        !d.size_slug.startsWith('gpu-') &&
        Date.parse(d.created_at) < previousStart,
    );
  if (!droplet) return undefined;
  const fromSize = droplet.size_slug === 's-1vcpu-1gb' ? 's-1vcpu-2gb' : 's-1vcpu-1gb';
  return {
    dropletId: droplet.id,
    name: droplet.name,
    fromSize,
    toSize: droplet.size_slug,
    atMs: previousStart + 13 * DAY_MS + 10 * HOUR,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Billing insights: the invoice lines spread over the days they cover

const DAY_MS = 24 * HOUR;

/** One point of `/v2/billing/{urn}/insights/{start}/{end}` (the amount in cents). */
export interface InsightPoint {
  day: string;
  sku: string;
  region: string;
  description: string;
  group_description: string;
  amountCents: number;
}

/** SKU families by invoice product: `<n>-<service>-<family>-<code>`, the code telling sizes apart. */
const SKU_FAMILY: Readonly<Record<string, string>> = {
  Droplets: 'DO-DROP',
  Backups: 'DO-BKUP',
  'Droplet Snapshots': 'DO-SNAP',
  'Volume Snapshots': 'BS-SNAP',
  Volumes: 'BS-VOL',
  'Floating IPs': 'NW-FIP',
  'Load Balancers': 'NW-LB',
  'Kubernetes Clusters': 'KS-K8SWN',
  'Managed Databases': 'DB-DBAAS',
  'App Platform': 'AP-APPS',
  'Spaces Subscription': 'SP-SUB',
  'Container Registry': 'CR-BASIC',
  Bandwidth: 'NW-BW',
};

function skuOf(line: InvoiceLine): string {
  const family =
    line.product === 'Kubernetes Clusters' && line.description === 'High Availability Control Plane'
      ? 'KS-K8SHA'
      : (SKU_FAMILY[line.product] ?? 'XX-OTHER');
  // The size in the description's last parentheses (a droplet's slug, a node's size); else one code per family.
  const size = /\(([^()]*)\)$/.exec(line.description)?.[1] ?? '';
  let hash = 0;
  for (const char of size) hash = (hash * 31 + char.charCodeAt(0)) % 9973;
  return `1-${family}-${String(size ? hash + 1 : 1).padStart(4, '0')}`;
}

/**
 * A line's cents over the UTC days of [startMs, endMs), in proportion to the time in each day, largest remainders
 * rounded up: the days add up to the line exactly.
 */
export function spreadOverDays(line: Pick<InvoiceLine, 'startMs' | 'endMs' | 'amountCents'>): Array<[string, number]> {
  const first = Math.floor(line.startMs / DAY_MS) * DAY_MS;
  const span = Math.max(1, line.endMs - line.startMs);
  const days: Array<{ day: string; share: number; cents: number; rest: number }> = [];
  for (let d = first; d < Math.max(line.endMs, line.startMs + 1); d += DAY_MS) {
    const overlap = Math.min(d + DAY_MS, line.endMs) - Math.max(d, line.startMs);
    if (overlap <= 0) continue;
    const exact = (line.amountCents * overlap) / span;
    const cents = Math.floor(exact);
    days.push({ day: new Date(d).toISOString().slice(0, 10), share: overlap, cents, rest: exact - cents });
  }
  if (days.length === 0) days.push({ day: new Date(first).toISOString().slice(0, 10), share: 1, cents: 0, rest: 0 });
  let left = line.amountCents - days.reduce((sum, d) => sum + d.cents, 0);
  const order = days.map((_, i) => i).sort((a, b) => days[b]!.rest - days[a]!.rest || a - b);
  for (let i = 0; left > 0; i = (i + 1) % order.length, left--) days[order[i]!]!.cents++;
  return days.map((d) => [d.day, d.cents]);
}

export class Billing {
  /** Resources deleted before the simulator started (billed in past months only). */
  readonly historicDeleted: DeletedRecord[];
  private readonly seedLedger: Billable[];
  private readonly rng: Random;
  private built:
    { invoices: Invoice[]; history: BillingHistoryEntry[]; previewUuid: string; previewId: string } | undefined;
  private previewCache: { version: number; deletedCount: number; nowMs: number; invoice: Invoice } | undefined;
  private nameIndexCache: { version: number; counts: Map<string, number> } | undefined;
  /** The droplet resized in the middle of the previous month (none when no droplet fits). */
  readonly resize: Resize | undefined;
  private readonly resizes: ReadonlyMap<number, Resize>;
  private insightCache: { key: string; points: InsightPoint[] } | undefined;

  /** Captures the billing ledger from the account as it is now; invoices are computed on first use. */
  constructor(
    private readonly account: SimAccount,
    private readonly options: BillingOptions = {},
  ) {
    this.rng = new Random(account.seed).fork('billing');
    const now = account.now;
    const firstMonthMs = monthStart(now.getUTCFullYear(), now.getUTCMonth() - account.scale.months);
    this.historicDeleted = historicDeleted(account, this.rng, firstMonthMs);
    this.resize = pickResize(account);
    this.resizes = new Map(this.resize ? [[this.resize.dropletId, this.resize]] : []);
    this.seedLedger = [...ledgerOf(account, this.resizes), ...ledgerOfDeleted(account, this.historicDeleted)];
  }

  /** Closed invoices, newest first. */
  get invoices(): readonly Invoice[] {
    return this.build().invoices;
  }

  /** Billing history, newest first. */
  get history(): readonly BillingHistoryEntry[] {
    return this.build().history;
  }

  get previewUuid(): string {
    return this.build().previewUuid;
  }

  private build(): NonNullable<Billing['built']> {
    if (this.built) return this.built;
    const { account, rng, options } = this;
    const now = this.account.now;
    const months = account.scale.months;
    const firstMonthMs = monthStart(now.getUTCFullYear(), now.getUTCMonth() - months);
    let invoiceNumber = 70_000_000 + rng.int(0, 999_999);

    // Oldest first, so invoice ids grow with time; stored newest first.
    const closed: Invoice[] = [];
    if (options.largeInvoiceLines && options.largeInvoiceLines > 0) {
      const s = monthStart(now.getUTCFullYear(), now.getUTCMonth() - months - 1);
      const template = linesForPeriod(
        this.seedLedger,
        firstMonthMs,
        monthStart(now.getUTCFullYear(), now.getUTCMonth() - months + 1),
      );
      closed.push(
        largeInvoice(rng.uuid(), String(invoiceNumber++), s, firstMonthMs, template, options.largeInvoiceLines),
      );
    }
    for (let m = months; m >= 1; m--) {
      const s = monthStart(now.getUTCFullYear(), now.getUTCMonth() - m);
      const e = monthStart(now.getUTCFullYear(), now.getUTCMonth() - m + 1);
      const index = months - m;
      const ledger = this.seedLedger;
      const build = (): InvoiceLine[] =>
        closeInvoice(
          [...linesForPeriod(ledger, s, e), ...accountLines(account, index, s, e)],
          s,
          e,
          index % 5 === 2 ? 2500 : 0,
        );
      closed.push(lazyInvoice(rng.uuid(), String(invoiceNumber++), s, e, build));
    }
    const previewUuid = rng.uuid();
    const previewId = String(invoiceNumber++);

    // History: Invoice on the 1st, Payment a few days later (the newest invoice is still unpaid), one Credit.
    const entries: BillingHistoryEntry[] = [];
    closed.forEach((inv, i) => {
      const start = new Date(inv.startMs);
      entries.push({
        description: `Invoice for ${MONTH_LONG[start.getUTCMonth()]} ${start.getUTCFullYear()}`,
        amountCents: inv.totalCents,
        invoice_id: inv.id,
        invoice_uuid: inv.uuid,
        type: 'Invoice',
        date: isoSeconds(inv.endMs + 8 * HOUR + rng.int(0, 3599) * 1000),
      });
      if (i < closed.length - 1) {
        entries.push({
          description: `Payment (MC ${new Date(inv.endMs).getUTCFullYear()})`,
          amountCents: -inv.totalCents,
          type: 'Payment',
          date: isoSeconds(inv.endMs + (2 + rng.int(0, 3)) * 24 * HOUR + rng.int(0, 3599) * 1000),
        });
      }
      if (i === Math.floor(closed.length / 2)) {
        entries.push({
          description: 'Credit: referral program',
          amountCents: -2500,
          type: 'Credit',
          date: isoSeconds(inv.endMs + 12 * 24 * HOUR),
        });
      }
    });
    entries.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
    this.built = { invoices: closed.slice().reverse(), history: entries, previewUuid, previewId };
    return this.built;
  }

  /** Month-to-date invoice from the live inventory (recomputed when the inventory or the clock changes). */
  preview(): Invoice {
    const a = this.account;
    const nowMs = a.now.getTime();
    const c = this.previewCache;
    if (c && c.version === a.version && c.deletedCount === a.deleted.length && c.nowMs === nowMs) return c.invoice;
    const s = monthStart(a.now.getUTCFullYear(), a.now.getUTCMonth());
    const ledger = [
      ...ledgerOf(a, this.resizes),
      ...ledgerOfDeleted(a, a.deleted),
      ...this.seedLedger.filter((b) => b.deletedMs !== null && b.deletedMs > s),
    ];
    const lines = [...linesForPeriod(ledger, s, nowMs), ...accountLines(a, a.scale.months, s, nowMs)];
    const { previewUuid, previewId } = this.build();
    const invoice = arrayInvoice(previewUuid, previewId, s, nowMs, true, closeInvoice(lines, s, nowMs, 0));
    this.previewCache = { version: a.version, deletedCount: a.deleted.length, nowMs, invoice };
    return invoice;
  }

  /** The invoice of a month (`YYYY-MM`): a closed one, the month-to-date preview, or none. */
  invoiceOf(month: string): Invoice | undefined {
    const preview = this.preview();
    if (preview.period === month) return preview;
    return this.invoices.find((i) => i.period === month);
  }

  /**
   * The account's insight points of the days `start`..`end` (YYYY-MM-DD): each invoice line but taxes and credits
   * (DigitalOcean computes those when it closes the invoice), spread over the days it covers (spreadOverDays), for
   * the days DigitalOcean's nightly run has estimated: every day before today. So the points of a closed month add
   * up to its invoice minus its taxes and credits exactly, to the cent; the current month's, to the preview minus its
   * taxes and today's share.
   */
  insights(start: string, end: string): InsightPoint[] {
    const a = this.account;
    const key = `${a.version} ${a.deleted.length} ${a.now.getTime()} ${start} ${end}`;
    if (this.insightCache?.key === key) return this.insightCache.points;
    const today = a.now.toISOString().slice(0, 10);
    const points: InsightPoint[] = [];
    const months = new Set<string>();
    for (let d = Date.parse(`${start}T00:00:00Z`); d <= Date.parse(`${end}T00:00:00Z`); d += DAY_MS) {
      months.add(new Date(d).toISOString().slice(0, 7));
    }
    for (const month of months) {
      const invoice = this.invoiceOf(month);
      if (!invoice) continue;
      for (let i = 0; i < invoice.lineCount; i++) {
        const line = invoice.lineAt(i);
        if (line.ref.type === 'tax' || line.ref.type === 'credit' || line.amountCents <= 0) continue;
        const sku = skuOf(line);
        for (const [day, cents] of spreadOverDays(line)) {
          if (day < start || day > end || day >= today || cents === 0) continue;
          points.push({
            day,
            sku,
            region: line.region ?? '',
            description: line.description,
            group_description: line.group_description,
            amountCents: cents,
          });
        }
      }
    }
    points.sort((x, y) => (x.day < y.day ? -1 : x.day > y.day ? 1 : 0));
    this.insightCache = { key, points };
    return points;
  }

  /** One `data_points[]` entry. */
  insightItem(p: InsightPoint): Record<string, string> {
    return {
      usage_team_urn: `do:team:${this.account.teamUuid}`,
      start_date: p.day,
      total_amount: formatMoney(p.amountCents),
      region: p.region,
      sku: p.sku,
      description: p.description,
      group_description: p.group_description,
    };
  }

  /** An invoice by uuid; `preview` gives the month-to-date one. */
  find(uuid: string): Invoice | undefined {
    if (uuid === 'preview' || uuid === this.previewUuid) return this.preview();
    return this.invoices.find((i) => i.uuid === uuid);
  }

  /** Sum of the billing history (unpaid invoices minus payments and credits). */
  accountBalanceCents(): number {
    return this.history.reduce((s, h) => s + h.amountCents, 0);
  }

  balance(): {
    month_to_date_balance: string;
    account_balance: string;
    month_to_date_usage: string;
    generated_at: string;
  } {
    const usage = this.preview().totalCents;
    const balance = this.accountBalanceCents();
    return {
      month_to_date_balance: formatMoney(balance + usage),
      account_balance: formatMoney(balance),
      month_to_date_usage: formatMoney(usage),
      generated_at: isoSeconds(Math.floor(this.account.now.getTime() / HOUR) * HOUR),
    };
  }

  /** JSON of `invoices[]` entries and `invoice_preview`. */
  listItem(inv: Invoice): Record<string, string> {
    const item: Record<string, string> = {
      invoice_uuid: inv.uuid,
      invoice_id: inv.id,
      amount: formatMoney(inv.totalCents),
      invoice_period: inv.period,
    };
    if (inv.preview) item.updated_at = isoSeconds(Math.floor(this.account.now.getTime() / HOUR) * HOUR);
    return item;
  }

  historyItem(h: BillingHistoryEntry): Record<string, string> {
    const item: Record<string, string> = { description: h.description, amount: formatMoney(h.amountCents) };
    if (h.invoice_id) item.invoice_id = h.invoice_id;
    if (h.invoice_uuid) item.invoice_uuid = h.invoice_uuid;
    item.date = h.date;
    item.type = h.type;
    return item;
  }

  /** One `invoice_items[]` entry. */
  static jsonItem(l: InvoiceLine): Record<string, string> {
    const item: Record<string, string> = { product: l.product };
    if (l.resource_uuid) item.resource_uuid = l.resource_uuid;
    if (l.resource_id) item.resource_id = l.resource_id;
    Object.assign(item, {
      group_description: l.group_description,
      description: l.description,
      amount: formatMoney(l.amountCents),
      duration: l.hours === null ? '' : String(l.hours),
      duration_unit: l.hours === null ? '' : 'Hours',
      start_time: isoSeconds(l.startMs),
      end_time: isoSeconds(l.endMs),
      project_name: l.project_name,
      category: l.category,
    });
    return item;
  }

  summary(inv: Invoice): Record<string, unknown> {
    const byProduct = new Map<string, { cents: number; count: number }>();
    let taxes = 0;
    let credits = 0;
    for (let i = 0; i < inv.lineCount; i++) {
      const l = inv.lineAt(i);
      if (l.ref.type === 'tax') taxes += l.amountCents;
      else if (l.ref.type === 'credit') credits += l.amountCents;
      else {
        const p = byProduct.get(l.product) ?? { cents: 0, count: 0 };
        p.cents += l.amountCents;
        p.count += 1;
        byProduct.set(l.product, p);
      }
    }
    const charges = [...byProduct.values()].reduce((s, p) => s + p.cents, 0);
    return {
      invoice_uuid: inv.uuid,
      invoice_id: inv.id,
      billing_period: inv.period,
      amount: formatMoney(inv.totalCents),
      user_name: 'Sammy Ops',
      user_billing_address: {
        address_line1: '101 Shark Row',
        city: 'Atlantis',
        region: 'OC',
        postal_code: '12345',
        country_iso2_code: 'US',
        created_at: '2019-09-03T16:34:46.000+00:00',
        updated_at: '2019-09-03T16:34:46.000+00:00',
      },
      user_company: 'Example Ops',
      user_email: this.account.email,
      product_charges: {
        name: 'Product usage charges',
        amount: formatMoney(charges),
        items: [...byProduct.entries()].map(([name, p]) => ({
          amount: formatMoney(p.cents),
          name,
          count: String(p.count),
        })),
      },
      overages: { name: 'Overages', amount: '0.00' },
      taxes: { name: 'Taxes', amount: formatMoney(taxes) },
      credits_and_adjustments: { name: 'Credits & adjustments', amount: formatMoney(credits) },
    };
  }

  /** `DigitalOcean Invoice 2020 Jul (6173678-418071234).csv` */
  csvFilename(inv: Invoice): string {
    const d = new Date(inv.startMs);
    return `DigitalOcean Invoice ${d.getUTCFullYear()} ${MONTH_NAMES[d.getUTCMonth()]} (${this.account.ownerId}-${inv.id}).csv`;
  }

  static readonly CSV_HEADER = 'product,group_description,description,hours,start,end,USD,project_name,category';

  static csvRow(l: InvoiceLine, inv: Invoice): string {
    return Billing.csvCells(l, inv).join(',');
  }

  /** The cells of a line's CSV row, each as written (quoted where needed). */
  static csvCells(l: InvoiceLine, inv: Invoice): string[] {
    // Full-month lines end at 23:59:59 of the last day in the CSV, like DO's.
    const end = l.endMs === inv.endMs && !inv.preview ? l.endMs - 1000 : l.endMs;
    return [
      csvField(l.product),
      csvField(l.group_description),
      csvField(l.description),
      l.hours === null ? '' : String(l.hours),
      csvDate(l.startMs),
      csvDate(end),
      csvMoney(l.amountCents),
      csvField(l.project_name),
      l.category,
    ];
  }

  /** The CSV in chunks of `linesPerChunk` lines (header first), so that huge invoices can be streamed. */
  static *csvChunks(inv: Invoice, linesPerChunk = 2000): Generator<string> {
    let chunk = `${Billing.CSV_HEADER}\n`;
    for (let i = 0; i < inv.lineCount; i++) {
      chunk += `${Billing.csvRow(inv.lineAt(i), inv)}\n`;
      if ((i + 1) % linesPerChunk === 0) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }

  /** The whole CSV as one string (fine for normal invoices; use csvChunks for huge ones). */
  static csv(inv: Invoice): string {
    return [...Billing.csvChunks(inv)].join('');
  }

  // ----- expected matching truth --------------------------------------------------------------------------------

  private nameCounts(): Map<string, number> {
    const a = this.account;
    if (this.nameIndexCache && this.nameIndexCache.version === a.version) return this.nameIndexCache.counts;
    const counts = new Map<string, number>();
    const add = (kind: BilledKind, name: string): void => {
      const key = `${kind}\u0000${name}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    };
    for (const d of a.list('droplet')) add('droplet', d.name);
    for (const v of a.list('volume')) add('volume', v.name);
    for (const s of a.list('snapshot')) add('snapshot', s.name);
    for (const ip of a.list('reserved_ip')) add('reserved_ip', ip.ip);
    for (const l of a.list('load_balancer')) add('load_balancer', l.name);
    for (const k of a.list('kubernetes')) add('kubernetes', k.name);
    for (const d of a.list('database')) add('database', d.name);
    for (const p of a.list('app')) add('app', p.name);
    this.nameIndexCache = { version: a.version, counts };
    return counts;
  }

  private currentName(kind: BilledKind, id: string): string | undefined {
    const rec = this.account.get(kind, id);
    if (!rec) return undefined;
    return kind === 'reserved_ip' ? (rec as KindRecords['reserved_ip']).ip : (rec as { name: string }).name;
  }

  /** The status of one line against the current inventory. */
  lineStatus(ref: LineRef): LineStatus {
    if (ref.type !== 'resource') return ref.type;
    const name = this.currentName(ref.kind, ref.id);
    if (name === undefined) return 'deleted';
    if (name !== ref.name) return 'renamed';
    return (this.nameCounts().get(`${ref.kind}\u0000${ref.name}`) ?? 0) > 1 ? 'ambiguous' : 'current';
  }

  /**
   * The expected matching of every line of an invoice (`preview` allowed) against the current inventory.
   * `idMatchRate` = (current + ambiguous + renamed) / all lines; `nameMatchRate` = current / all lines.
   */
  expectedMatches(uuid: string): MatchExpectation {
    const inv = this.find(uuid);
    if (!inv) throw new Error(`no invoice ${uuid}`);
    const counts = {
      current: 0,
      ambiguous: 0,
      renamed: 0,
      deleted: 0,
      account: 0,
      tax: 0,
      credit: 0,
      total: inv.lineCount,
      resourceLines: 0,
    };
    const lines: LineTruth[] = [];
    const statusCache = new Map<string, LineStatus>();
    for (let i = 0; i < inv.lineCount; i++) {
      const l = inv.lineAt(i);
      const key = l.ref.type === 'resource' ? `${l.ref.kind}\u0000${l.ref.id}\u0000${l.ref.name}` : l.ref.type;
      let status = statusCache.get(key);
      if (!status) {
        status = this.lineStatus(l.ref);
        statusCache.set(key, status);
      }
      counts[status] += 1;
      if (l.ref.type === 'resource') counts.resourceLines += 1;
      lines.push({ index: i, product: l.product, description: l.description, ref: l.ref, status });
    }
    const total = Math.max(1, inv.lineCount);
    return {
      invoice_uuid: inv.uuid,
      lines,
      counts,
      idMatchRate: (counts.current + counts.ambiguous + counts.renamed) / total,
      nameMatchRate: counts.current / total,
    };
  }
}
