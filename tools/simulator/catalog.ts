/**
 * Static catalog the simulated account draws from: regions, Droplet sizes, images and prices.
 * Prices are close to DigitalOcean's public list prices; only their consistency matters here.
 */

export interface RegionInfo {
  slug: string;
  name: string;
}

export const REGIONS: readonly RegionInfo[] = [
  { slug: 'nyc1', name: 'New York 1' },
  { slug: 'nyc3', name: 'New York 3' },
  { slug: 'sfo3', name: 'San Francisco 3' },
  { slug: 'ams3', name: 'Amsterdam 3' },
  { slug: 'fra1', name: 'Frankfurt 1' },
  { slug: 'lon1', name: 'London 1' },
  { slug: 'sgp1', name: 'Singapore 1' },
  { slug: 'tor1', name: 'Toronto 1' },
];

export interface SizeInfo {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  priceMonthly: number;
  description: string;
}

export const DROPLET_SIZES: readonly SizeInfo[] = [
  { slug: 's-1vcpu-512mb-10gb', memory: 512, vcpus: 1, disk: 10, transfer: 0.5, priceMonthly: 4, description: 'Basic' },
  { slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 25, transfer: 1, priceMonthly: 6, description: 'Basic' },
  { slug: 's-1vcpu-2gb', memory: 2048, vcpus: 1, disk: 50, transfer: 2, priceMonthly: 12, description: 'Basic' },
  { slug: 's-2vcpu-2gb', memory: 2048, vcpus: 2, disk: 60, transfer: 3, priceMonthly: 18, description: 'Basic' },
  { slug: 's-2vcpu-4gb', memory: 4096, vcpus: 2, disk: 80, transfer: 4, priceMonthly: 24, description: 'Basic' },
  { slug: 's-4vcpu-8gb', memory: 8192, vcpus: 4, disk: 160, transfer: 5, priceMonthly: 48, description: 'Basic' },
  { slug: 'c-2', memory: 4096, vcpus: 2, disk: 25, transfer: 4, priceMonthly: 42, description: 'CPU-Optimized' },
  {
    slug: 'g-2vcpu-8gb',
    memory: 8192,
    vcpus: 2,
    disk: 25,
    transfer: 4,
    priceMonthly: 63,
    description: 'General Purpose',
  },
  {
    slug: 'm-2vcpu-16gb',
    memory: 16384,
    vcpus: 2,
    disk: 50,
    transfer: 4,
    priceMonthly: 84,
    description: 'Memory-Optimized',
  },
];

export const SIZE_SLUGS = DROPLET_SIZES.map((s) => s.slug);

export function sizeInfo(slug: string): SizeInfo {
  return (
    DROPLET_SIZES.find((s) => s.slug === slug) ?? {
      slug,
      memory: 1024,
      vcpus: 1,
      disk: 25,
      transfer: 1,
      priceMonthly: 6,
      description: 'Basic',
    }
  );
}

export function regionInfo(slug: string): RegionInfo {
  return REGIONS.find((r) => r.slug === slug) ?? { slug, name: slug.toUpperCase() };
}

export interface ImageInfo {
  id: number;
  name: string;
  distribution: string;
  slug: string;
  minDisk: number;
  sizeGigabytes: number;
  createdAt: string;
}

export const IMAGES: readonly ImageInfo[] = [
  {
    id: 129211873,
    name: '22.04 (LTS) x64',
    distribution: 'Ubuntu',
    slug: 'ubuntu-22-04-x64',
    minDisk: 7,
    sizeGigabytes: 2.36,
    createdAt: '2023-03-28T15:42:11Z',
  },
  {
    id: 160232537,
    name: '24.04 (LTS) x64',
    distribution: 'Ubuntu',
    slug: 'ubuntu-24-04-x64',
    minDisk: 7,
    sizeGigabytes: 2.44,
    createdAt: '2024-07-02T16:12:04Z',
  },
  {
    id: 155018519,
    name: '12 x64',
    distribution: 'Debian',
    slug: 'debian-12-x64',
    minDisk: 7,
    sizeGigabytes: 1.18,
    createdAt: '2024-04-18T10:05:43Z',
  },
  {
    id: 152887262,
    name: '9 x64',
    distribution: 'Rocky Linux',
    slug: 'rockylinux-9-x64',
    minDisk: 10,
    sizeGigabytes: 1.61,
    createdAt: '2024-03-11T09:22:31Z',
  },
];

export const REGION_FEATURES = [
  'private_networking',
  'backups',
  'ipv6',
  'metadata',
  'install_agent',
  'storage',
  'image_transfer',
];

/** Monthly prices (USD) of the other billable kinds. */
export const PRICES = {
  volumePerGb: 0.1,
  snapshotPerGb: 0.06,
  backupsShare: 0.2,
  unusedReservedIp: 5,
  loadBalancerPerNode: 12,
  kubernetesHaControlPlane: 40,
  spacesSubscription: 5,
  containerRegistryBasic: 5,
  taxRate: 0.0625,
} as const;

export const DATABASE_SIZES: Readonly<Record<string, number>> = {
  'db-s-1vcpu-1gb': 15,
  'db-s-1vcpu-2gb': 30,
  'db-s-2vcpu-4gb': 60,
  'db-s-4vcpu-8gb': 120,
};

export const APP_SIZES: Readonly<Record<string, number>> = {
  'apps-s-1vcpu-0.5gb': 5,
  'apps-s-1vcpu-1gb': 10,
  'apps-d-1vcpu-2gb': 29,
};

/** Hours in a billing month as DO caps them: a month never costs more than 672 hours of the hourly rate. */
export const BILLABLE_HOURS_CAP = 672;
