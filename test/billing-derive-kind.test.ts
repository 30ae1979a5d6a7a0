import { describe, expect, it } from 'vitest';
import { classifyLine, deriveKind, deriveKindDetailed } from '../src/jobs/billing/derive-kind.js';

describe('deriveKind', () => {
  it.each([
    // These contain "Droplet" but are not droplets.
    ['Droplet Snapshots', 'snapshot'],
    ['Droplet Backups', 'droplet_backup'],
    ['Snapshots', 'snapshot'],
    ['Volume Snapshots', 'snapshot'],
    ['Block Storage Snapshots', 'snapshot'],
    ['Backups', 'droplet_backup'],
    ['Droplets', 'droplet'],
    ['Droplet', 'droplet'],
    ['GPU Droplets', 'droplet'],
    ['Volumes', 'volume'],
    ['Block Storage', 'volume'],
    ['Floating IPs', 'floating_ip'],
    ['Reserved IPs', 'floating_ip'],
    ['Reserved IP', 'floating_ip'],
    ['Reserved IPv6', 'reserved_ipv6'],
    ['Reserved IPv6s', 'reserved_ipv6'],
    ['Load Balancers', 'load_balancer'],
    ['Kubernetes Clusters', 'kubernetes_cluster'],
    ['DOKS', 'kubernetes_cluster'],
    ['Managed Databases', 'managed_db'],
    ['Database Clusters', 'managed_db'],
    ['Databases', 'managed_db'],
    ['Spaces Subscription', 'spaces_bucket'],
    ['Spaces', 'spaces_bucket'],
    ['App Platform', 'app'],
    ['Apps', 'app'],
    ['Bandwidth', 'bandwidth'],
    ['Droplet Bandwidth', 'bandwidth'],
    ['Container Registry', 'container_registry'],
    ['  droplets  ', 'droplet'],
    ['LOAD BALANCERS', 'load_balancer'],
  ])('%s → %s', (product, kind) => {
    expect(deriveKind(product, 'whatever (s-1vcpu-1gb)', null)).toBe(kind);
  });

  it('never buckets snapshots or backups as droplets, whatever the description says', () => {
    expect(deriveKind('Droplet Snapshots', 'web-1 (nyc3) 25GB', null)).not.toBe('droplet');
    expect(deriveKind('Droplet Backups', 'web-1 (s-1vcpu-1gb)', null)).not.toBe('droplet');
    expect(deriveKind('Volume Snapshots', 'vol-1 (nyc3) 100GB', null)).not.toBe('volume');
  });

  it('keeps backups of things other than droplets as unknown, rather than bucketing them under droplets', () => {
    expect(deriveKindDetailed('Volume Backups', 'vol-1', null)).toEqual({
      kind: null,
      isTax: false,
      productKnown: true,
    });
  });

  it('marks taxes with a null kind and the tax flag', () => {
    expect(deriveKindDetailed('Taxes', 'STATE SALES TAX (6.25%)', null)).toEqual({
      kind: null,
      isTax: true,
      productKnown: true,
    });
    expect(deriveKindDetailed('Tax', 'anything', null).isTax).toBe(true);
    for (const description of ['GST (10%)', 'VAT 20%', 'STATE SALES TAX (6.25%)', 'HST Ontario']) {
      expect(deriveKindDetailed('', description, null)).toEqual({ kind: null, isTax: true, productKnown: false });
      expect(deriveKindDetailed('Other Charges', description, null).isTax).toBe(true);
    }
  });

  it('does not read tax words from descriptions of known products', () => {
    expect(deriveKindDetailed('Droplets', 'vat-calculator (s-1vcpu-1gb)', null)).toEqual({
      kind: 'droplet',
      isTax: false,
      productKnown: true,
    });
    expect(deriveKindDetailed('Droplets', 'tax (s-1vcpu-1gb)', null).isTax).toBe(false);
  });

  it('does not see "vat" inside other words', () => {
    expect(deriveKindDetailed('Mystery', 'private networking', null).isTax).toBe(false);
  });

  it('returns null for unknown products (the caller keeps the product text)', () => {
    expect(deriveKindDetailed('Gizmos', 'GB-seconds', null)).toEqual({
      kind: null,
      isTax: false,
      productKnown: false,
    });
    expect(deriveKind('Premium Support', 'Monthly', null)).toBeNull();
    expect(deriveKind('', '', null)).toBeNull();
  });
});

describe('classifyLine', () => {
  it('flags credits by sign and by product words', () => {
    expect(classifyLine({ product: 'Droplets', description: 'web (s-1vcpu-1gb)', amount: '-5.00' })).toEqual({
      kind: 'droplet',
      isTax: false,
      isCredit: true,
      isAccountLevel: false,
    });
    expect(classifyLine({ product: 'Credits', description: 'Account credit', amount: '0.00' })).toEqual({
      kind: null,
      isTax: false,
      isCredit: true,
      isAccountLevel: false,
    });
    expect(classifyLine({ product: 'Promotional Credit', description: 'x', amount: '1.00' }).isCredit).toBe(true);
    expect(classifyLine({ product: 'Discounts', description: 'x', amount: '1.00' }).isCredit).toBe(true);
    expect(classifyLine({ product: 'Adjustments', description: 'Promo code SUMMER', amount: '-1.00' }).isCredit).toBe(
      true,
    );
    expect(classifyLine({ product: 'Other', description: 'Discount applied', amount: '1.00' }).isCredit).toBe(true);
  });

  it('does not call a droplet named like a credit a credit', () => {
    expect(classifyLine({ product: 'Droplets', description: 'credit-api (s-1vcpu-1gb)', amount: '5.00' })).toEqual({
      kind: 'droplet',
      isTax: false,
      isCredit: false,
      isAccountLevel: false,
    });
  });

  it('classifies charges, taxes and zero amounts', () => {
    expect(classifyLine({ product: 'Volumes', description: 'v (nyc3) 10GB', amount: '1.00' })).toEqual({
      kind: 'volume',
      isTax: false,
      isCredit: false,
      isAccountLevel: false,
    });
    expect(classifyLine({ product: 'Taxes', description: 'VAT', amount: '0.16' })).toEqual({
      kind: null,
      isTax: true,
      isCredit: false,
      isAccountLevel: false,
    });
    expect(classifyLine({ product: 'Droplets', description: 'x (s)', amount: '0.00' }).isCredit).toBe(false);
    expect(classifyLine({ product: 'Droplets', description: 'x (s)', amount: '-0.00' }).isCredit).toBe(false);
  });
});
