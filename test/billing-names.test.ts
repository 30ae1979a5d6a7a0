import { describe, expect, it } from 'vitest';
import { extractResourceName, findIpAddress, stripDescriptionSuffix } from '../src/jobs/billing/extract-name.js';

describe('extractResourceName', () => {
  it.each([
    // kind, product, description, group, expected
    ['droplet', 'Droplets', 'eth (s-4vcpu-8gb)', null, 'eth'],
    ['droplet', 'Droplets', '  blog (s-1vcpu-2gb)  ', null, 'blog'],
    ['droplet', 'Droplets', 'web (old) (s-1vcpu-1gb)', null, 'web (old)'],
    ['droplet', 'Droplets', 'web-(blue) (s-1vcpu-1gb)', null, 'web-(blue)'],
    ['droplet', 'Droplets', 'plain-name', null, 'plain-name'],
    ['volume', 'Volumes', 'volume-sfo2-01 (sfo2) 100GB', null, 'volume-sfo2-01'],
    ['volume', 'Volumes', 'data (nyc3) 1.5 TiB', null, 'data'],
    ['floating_ip', 'Floating IPs', 'Unused Floating IP - 1.2.3.4', null, '1.2.3.4'],
    ['floating_ip', 'Reserved IPs', 'Unused Reserved IP - 203.0.113.7', null, '203.0.113.7'],
    ['reserved_ipv6', 'Reserved IPv6', 'Unused Reserved IPv6 - 2001:db8::1', null, '2001:db8::1'],
    [
      'kubernetes_cluster',
      'Kubernetes Clusters',
      'a56e086a317d8410c8b4cfd1f4dc9f82',
      'my-doks-cluster',
      'my-doks-cluster',
    ],
    ['kubernetes_cluster', 'Kubernetes Clusters', 'my-doks (s-2vcpu-4gb)', null, 'my-doks'],
    ['managed_db', 'Managed Databases', 'db-postgresql-nyc1-1 (db-s-1vcpu-1gb)', 'prod-db', 'prod-db'],
    ['managed_db', 'Database Clusters', 'prod-db (db-s-1vcpu-1gb)', '  ', 'prod-db'],
    ['droplet_backup', 'Backups', 'blog (s-1vcpu-2gb)', null, 'blog'],
    ['droplet_backup', 'Droplet Backups', 'web (old) (s-1vcpu-1gb)', null, 'web (old)'],
    ['snapshot', 'Snapshots', 'web-1-1690000000 (nyc3) 25GB', null, 'web-1-1690000000'],
    ['snapshot', 'Droplet Snapshots', 'before upgrade (25.0 GB)', null, 'before upgrade'],
    ['snapshot', 'Volume Snapshots', 'vol-snap', null, 'vol-snap'],
    ['load_balancer', 'Load Balancers', 'My Example Load Balancer', null, 'My Example Load Balancer'],
    ['spaces_bucket', 'Spaces Subscription', 'Spaces ($5/mo 250GB storage & 1TB bandwidth)', null, null],
    ['spaces_bucket', 'Spaces', 'assets', 'my-bucket', 'my-bucket'],
    ['app', 'App Platform', 'web (professional-xs)', 'my-app', 'my-app'],
    ['app', 'App Platform', 'my-app (basic)', null, 'my-app'],
    [null, 'Taxes', 'STATE SALES TAX (6.25%)', null, null],
    [null, 'Functions', 'GB-seconds', null, null],
    ['droplet', 'Droplets', '', null, null],
    ['droplet', 'Droplets', '(s-1vcpu-1gb)', null, '(s-1vcpu-1gb)'],
  ])('%s / %s / %j, group %j → %j', (kind, product, description, group, expected) => {
    expect(extractResourceName(kind, product, description, group)).toBe(expected);
  });
});

describe('helpers', () => {
  it('strips only the last parenthesized group, balanced', () => {
    expect(stripDescriptionSuffix('name (a (b))')).toBe('name');
    expect(stripDescriptionSuffix('name (x) (y)')).toBe('name (x)');
    expect(stripDescriptionSuffix('unbalanced)')).toBe('unbalanced)');
    expect(stripDescriptionSuffix('name 100GB')).toBe('name');
  });

  it('finds the last IP address in a text', () => {
    expect(findIpAddress('Unused Floating IP - 1.1.1.1')).toBe('1.1.1.1');
    expect(findIpAddress('IP 999.1.1.1')).toBeNull();
    expect(findIpAddress('Reserved IPv6 (2001:db8::5)')).toBe('2001:db8::5');
  });
});
