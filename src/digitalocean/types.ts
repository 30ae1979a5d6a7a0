/**
 * Shapes of the DigitalOcean API v2 objects cloud-ops reads.
 *
 * Written from DigitalOcean's official OpenAPI specification. Only the fields the service uses are declared; the
 * API returns more. Fields the spec lists under `required` are required here; everything else is optional, and
 * fields the spec marks `nullable` (or that real responses send as null, e.g. `droplet` on a reserved IP) also
 * admit `null`. The inventory's normalizers do not rely on these: they take items as unknown JSON and check them.
 */

// ---------------------------------------------------------------------------------------------------------------
// Shared sub-objects

/** Embedded in droplets, volumes, IPs, load balancers. */
export interface Region {
  slug: string;
  name: string;
  features?: string[];
  available?: boolean;
  sizes?: string[];
}

/** Embedded in droplets. */
export interface Size {
  slug: string;
  memory?: number;
  vcpus?: number;
  disk?: number;
  transfer?: number;
  price_monthly?: number;
  price_hourly?: number;
  regions?: string[];
  available?: boolean;
  description?: string;
}

/** Embedded in droplets. `slug` is null for custom images and snapshots. */
export interface Image {
  id?: number;
  name?: string;
  type?: string;
  distribution?: string;
  slug?: string | null;
  public?: boolean;
  regions?: string[];
  created_at?: string;
  min_disk_size?: number | null;
  size_gigabytes?: number | null;
  description?: string;
  tags?: string[] | null;
  status?: string;
  error_message?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Account

export interface Account {
  uuid: string;
  email: string;
  name?: string;
  email_verified: boolean;
  status: 'active' | 'warning' | 'locked' | (string & {});
  status_message: string;
  droplet_limit: number;
  floating_ip_limit: number;
  team?: { uuid?: string; name?: string };
}

// ---------------------------------------------------------------------------------------------------------------
// Droplets

export interface NetworkV4 {
  ip_address: string;
  netmask?: string;
  /** "nil" for private networks in the spec example. */
  gateway?: string;
  type: 'public' | 'private' | (string & {});
}

export interface NetworkV6 {
  ip_address: string;
  netmask?: number;
  gateway?: string;
  type: 'public' | (string & {});
}

export interface Droplet {
  id: number;
  name: string;
  memory: number;
  vcpus: number;
  disk: number;
  locked: boolean;
  status: 'new' | 'active' | 'off' | 'archive' | (string & {});
  created_at: string;
  features: string[];
  backup_ids: number[];
  next_backup_window?: { start?: string; end?: string } | null;
  snapshot_ids: number[];
  image: Image;
  volume_ids: string[];
  size: Size;
  size_slug: string;
  networks: { v4?: NetworkV4[]; v6?: NetworkV6[] };
  region: Region;
  tags: string[];
  vpc_uuid?: string;
  kernel?: unknown;
  gpu_info?: unknown;
  disk_info?: unknown[];
}

// ---------------------------------------------------------------------------------------------------------------
// Volumes

export interface Volume {
  id: string;
  name: string;
  description?: string;
  size_gigabytes: number;
  region: Region;
  droplet_ids: number[] | null;
  created_at: string;
  filesystem_type?: string;
  filesystem_label?: string;
  tags?: string[] | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshots

export interface Snapshot {
  /** Numeric string for droplet snapshots, UUID for volume snapshots. */
  id: string;
  name: string;
  created_at: string;
  regions: string[];
  /** The id of the parent droplet (numeric string) or volume (uuid). */
  resource_id: string;
  resource_type: 'droplet' | 'volume';
  min_disk_size: number;
  size_gigabytes: number;
  tags?: string[] | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Reserved IPs (/v2/floating_ips has the same shape)

export interface ReservedIp {
  ip: string;
  region: Region;
  /** The droplet the IP is assigned to, or null when unassigned. */
  droplet: Droplet | null;
  locked: boolean;
  project_id?: string;
}

/** Note `region_slug` (a string), not a region object. */
export interface ReservedIpv6 {
  ip: string;
  region_slug: string;
  reserved_at?: string;
  /** Absent in the list example; null or a droplet otherwise. */
  droplet?: Droplet | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Firewalls

export interface FirewallRuleTarget {
  addresses?: string[];
  droplet_ids?: number[];
  load_balancer_uids?: string[];
  kubernetes_ids?: string[];
  tags?: string[];
}

export interface FirewallRuleBase {
  protocol: 'tcp' | 'udp' | 'icmp' | (string & {});
  /** "80", "8000-9000", or "0" for all ports. */
  ports: string;
}

export interface FirewallInboundRule extends FirewallRuleBase {
  sources: FirewallRuleTarget;
}

export interface FirewallOutboundRule extends FirewallRuleBase {
  destinations: FirewallRuleTarget;
}

export interface FirewallPendingChange {
  droplet_id?: number;
  removing?: boolean;
  status?: string;
}

export interface Firewall {
  id: string;
  name: string;
  status: 'waiting' | 'succeeded' | 'failed' | (string & {});
  created_at: string;
  pending_changes?: FirewallPendingChange[];
  droplet_ids?: number[] | null;
  tags?: string[] | null;
  inbound_rules?: FirewallInboundRule[] | null;
  outbound_rules?: FirewallOutboundRule[] | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Load balancers

export interface ForwardingRule {
  entry_protocol: 'http' | 'https' | 'http2' | 'http3' | 'tcp' | 'udp' | (string & {});
  entry_port: number;
  target_protocol: 'http' | 'https' | 'http2' | 'tcp' | 'udp' | (string & {});
  target_port: number;
  certificate_id?: string;
  tls_passthrough?: boolean;
}

export interface LoadBalancer {
  id: string;
  name: string;
  project_id?: string;
  ip?: string;
  ipv6?: string;
  /** Number of nodes (1..100); the current way to size an LB. */
  size_unit?: number;
  /** Deprecated slug (lb-small/medium/large), still returned in some regions. */
  size?: 'lb-small' | 'lb-medium' | 'lb-large' | (string & {});
  /** Deprecated; may be absent. */
  algorithm?: 'round_robin' | 'least_connections' | (string & {});
  status: 'new' | 'active' | 'errored' | (string & {});
  created_at: string;
  forwarding_rules: ForwardingRule[];
  health_check?: Record<string, unknown>;
  sticky_sessions?: Record<string, unknown>;
  redirect_http_to_https?: boolean;
  enable_proxy_protocol?: boolean;
  enable_backend_keepalive?: boolean;
  http_idle_timeout_seconds?: number;
  vpc_uuid?: string;
  disable_lets_encrypt_dns_records?: boolean;
  firewall?: { allow?: string[]; deny?: string[] };
  network?: 'EXTERNAL' | 'INTERNAL' | (string & {});
  network_stack?: string;
  type?: 'REGIONAL' | 'REGIONAL_NETWORK' | 'GLOBAL' | (string & {});
  domains?: unknown[];
  glb_settings?: unknown;
  target_load_balancer_ids?: string[];
  /** Absent for global load balancers. */
  region?: Region;
  droplet_ids?: number[];
  tag?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Domains

export interface Domain {
  /** The key: domains have no numeric id. */
  name: string;
  ttl?: number | null;
  zone_file?: string | null;
  ip_address?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Projects

export interface Project {
  id: string;
  owner_uuid?: string;
  owner_id?: number;
  name: string;
  description?: string;
  purpose?: string;
  environment?: 'Development' | 'Staging' | 'Production' | (string & {});
  is_default?: boolean;
  created_at?: string;
  updated_at?: string;
}

export interface ProjectResource {
  /** `do:<type>:<id>`, e.g. `do:droplet:4126873`, `do:floatingip:1.2.3.4`. */
  urn: string;
  assigned_at?: string;
  links?: { self?: string };
  status?: 'ok' | 'not_found' | 'assigned' | 'already_assigned' | 'service_down' | (string & {});
}

// ---------------------------------------------------------------------------------------------------------------
// Managed databases

/** Carries secrets. */
export interface DatabaseConnection {
  uri?: string;
  database?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  ssl?: boolean;
}

/** Carries secrets. */
export interface DatabaseUser {
  name: string;
  role?: 'primary' | 'normal' | (string & {});
  password?: string;
  access_cert?: string;
  access_key?: string;
  [setting: string]: unknown;
}

export interface DatabaseMaintenanceWindow {
  day: string;
  hour: string;
  pending?: boolean;
  description?: string[];
}

/** A database cluster WITHOUT any connection/credential fields: what the client hands to the rest of the service. */
export interface DatabaseCluster {
  id: string;
  name: string;
  engine: 'pg' | 'mysql' | 'redis' | 'valkey' | 'mongodb' | 'kafka' | 'opensearch' | (string & {});
  version?: string;
  semantic_version?: string;
  num_nodes: number;
  size: string;
  region: string;
  status?: 'creating' | 'online' | 'resizing' | 'migrating' | 'forking' | (string & {});
  created_at?: string;
  private_network_uuid?: string;
  tags?: string[] | null;
  db_names?: string[] | null;
  maintenance_window?: DatabaseMaintenanceWindow | null;
  project_id?: string;
  rules?: unknown[];
  version_end_of_life?: string;
  version_end_of_availability?: string;
  storage_size_mib?: number;
}

/** The secret-bearing fields of a database cluster, as the API returns them. */
export const DATABASE_SECRET_FIELDS = [
  'connection',
  'private_connection',
  'standby_connection',
  'standby_private_connection',
  'ui_connection',
  'schema_registry_connection',
  'metrics_endpoints',
  'users',
] as const;

/** The cluster exactly as `/v2/databases` returns it (for the code that strips the secrets). */
export interface RawDatabaseCluster extends DatabaseCluster {
  connection?: DatabaseConnection | null;
  private_connection?: DatabaseConnection | null;
  standby_connection?: DatabaseConnection | null;
  standby_private_connection?: DatabaseConnection | null;
  ui_connection?: DatabaseConnection | null;
  schema_registry_connection?: DatabaseConnection | null;
  metrics_endpoints?: unknown[] | null;
  users?: DatabaseUser[] | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes

export interface KubernetesNode {
  id: string;
  name: string;
  status?: { state?: 'provisioning' | 'running' | 'draining' | 'deleting' | (string & {}) };
  /** A droplet id as a string (DOKS workers are droplets). */
  droplet_id?: string;
  created_at?: string;
  updated_at?: string;
}

export interface KubernetesNodePool {
  id: string;
  name: string;
  size: string;
  count: number;
  tags?: string[] | null;
  labels?: Record<string, string> | null;
  taints?: unknown[];
  auto_scale?: boolean;
  min_nodes?: number;
  max_nodes?: number;
  nodes?: KubernetesNode[];
}

export interface KubernetesCluster {
  id: string;
  name: string;
  region: string;
  version: string;
  cluster_subnet?: string;
  service_subnet?: string;
  vpc_uuid?: string;
  ipv4?: string;
  endpoint?: string;
  tags?: string[] | null;
  node_pools: KubernetesNodePool[];
  maintenance_policy?: { start_time?: string; duration?: string; day?: string } | null;
  auto_upgrade?: boolean;
  surge_upgrade?: boolean;
  ha?: boolean;
  registry_enabled?: boolean;
  status?: {
    state?: 'running' | 'provisioning' | 'degraded' | 'error' | 'deleted' | 'upgrading' | 'deleting' | (string & {});
    message?: string;
  };
  created_at?: string;
  updated_at?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Apps

export type AppDeploymentPhase =
  | 'UNKNOWN'
  | 'PENDING_BUILD'
  | 'BUILDING'
  | 'PENDING_DEPLOY'
  | 'DEPLOYING'
  | 'ACTIVE'
  | 'SUPERSEDED'
  | 'ERROR'
  | 'CANCELED';

export interface AppDeployment {
  id?: string;
  cause?: string;
  phase?: AppDeploymentPhase | (string & {});
  phase_last_updated_at?: string;
  tier_slug?: string;
  created_at?: string;
  updated_at?: string;
  spec?: AppSpec;
}

/** Only `name` is required; the rest (services, workers, ...) is kept opaque. */
export interface AppSpec {
  name: string;
  /** In a deployment's spec, the region slug ("fra"). */
  region?: string;
  [component: string]: unknown;
}

export interface AppRegion {
  slug?: string;
  label?: string;
  flag?: string;
  continent?: string;
  data_centers?: string[];
  disabled?: boolean;
  default?: boolean;
}

export interface App {
  id: string;
  owner_uuid?: string;
  spec: AppSpec;
  region?: AppRegion;
  tier_slug?: string;
  /** Present only with `?with_projects=true`; empty on lookup failure. */
  project_id?: string;
  created_at?: string;
  updated_at?: string;
  last_deployment_created_at?: string;
  default_ingress?: string;
  live_url?: string;
  live_url_base?: string;
  live_domain?: string;
  active_deployment?: AppDeployment;
  in_progress_deployment?: AppDeployment;
  pending_deployment?: AppDeployment;
  pinned_deployment?: AppDeployment;
  domains?: unknown[];
  dedicated_ips?: { ip?: string; id?: string; status?: string }[];
  vpc?: { id?: string; egress_ips?: { ip?: string }[] };
}

// ---------------------------------------------------------------------------------------------------------------
// Billing. Money is a decimal string in USD, never a number.

export interface Balance {
  month_to_date_balance: string;
  account_balance: string;
  month_to_date_usage: string;
  generated_at: string;
}

export type BillingHistoryType =
  | 'ACHFailure'
  | 'Adjustment'
  | 'AttemptFailed'
  | 'Chargeback'
  | 'Credit'
  | 'CreditExpiration'
  | 'Invoice'
  | 'Payment'
  | 'Refund'
  | 'Reversal';

export interface BillingHistoryEntry {
  description: string;
  /** Signed: payments and credits are negative. */
  amount: string;
  /** Present for type=Invoice only. */
  invoice_id?: string | null;
  invoice_uuid?: string | null;
  date: string;
  type: BillingHistoryType | (string & {});
}

export interface InvoiceListItem {
  invoice_uuid: string;
  invoice_id?: string;
  amount: string;
  /** YYYY-MM */
  invoice_period: string;
  updated_at?: string;
}

/** The month-to-date invoice, regenerated daily (its uuid also works as `preview`). */
export interface InvoicePreview extends InvoiceListItem {
  updated_at?: string;
}

export interface InvoiceItem {
  product: string;
  resource_uuid?: string;
  resource_id?: string;
  group_description?: string;
  description: string;
  amount: string;
  duration?: string;
  duration_unit?: string;
  start_time?: string;
  end_time?: string;
  project_name?: string;
  /** iaas / paas; godo only, not in the spec model. */
  category?: string;
}

export interface SimpleCharge {
  name: string;
  amount: string;
}

export interface ProductChargeItem {
  name: string;
  amount: string;
  /** A string in the API. */
  count: string;
}

export interface BillingAddress {
  address_line1?: string;
  address_line2?: string;
  city?: string;
  region?: string;
  postal_code?: string;
  country_iso2_code?: string;
  created_at?: string;
  updated_at?: string;
}

/** Holds PII (user_name, user_email, address): store selectively. */
export interface InvoiceSummary {
  invoice_uuid: string;
  invoice_id?: string;
  /** YYYY-MM */
  billing_period: string;
  amount: string;
  user_name?: string;
  user_company?: string;
  user_email?: string;
  user_billing_address?: BillingAddress;
  product_charges?: SimpleCharge & { items?: ProductChargeItem[] };
  overages?: SimpleCharge;
  taxes?: SimpleCharge;
  credits_and_adjustments?: SimpleCharge;
}

// ---------------------------------------------------------------------------------------------------------------
// Billing insights

/** One point of `/v2/billing/{account_urn}/insights/{start}/{end}`: an invoice item's nightly estimate for a day. */
export interface BillingDataPoint {
  usage_team_urn?: string;
  /** YYYY-MM-DD */
  start_date: string;
  /** Decimal string, USD. */
  total_amount: string;
  region?: string;
  sku: string;
  /** As on the invoice item, e.g. "droplet name (c-2-4GiB)". */
  description: string;
  /** Blank when the item is in no group (e.g. the Kubernetes cluster's name for its nodes). */
  group_description?: string;
}
