import { describe, expect, it } from 'vitest';

import { parseUrn } from '../src/digitalocean/urn.js';
import { isKnownUrnType, urnKindToLocalKind } from '../src/jobs/inventory/resource-kinds.js';

describe('parseUrn', () => {
  it.each([
    ['do:droplet:4126873', 'droplet', '4126873'],
    ['do:floatingip:192.168.99.100', 'floatingip', '192.168.99.100'],
    ['do:domain:example.com', 'domain', 'example.com'],
    ['do:space:my-website-assets', 'space', 'my-website-assets'],
    ['do:dbaas:9cc10173-e9ea-4176-9dbc-a4cee4c4ff30', 'dbaas', '9cc10173-e9ea-4176-9dbc-a4cee4c4ff30'],
    ['do:app:4f6c71e2-1e90-4762-9fee-6cc4a0a9f2cf', 'app', '4f6c71e2-1e90-4762-9fee-6cc4a0a9f2cf'],
  ])('%s', (urn, type, id) => {
    expect(parseUrn(urn)).toEqual({ provider: 'do', type, id });
  });

  it('keeps everything after the second colon, including IPv6 addresses and further colons', () => {
    expect(parseUrn('do:floatingipv6:2604:a880:0:1010::18a:a001')).toEqual({
      provider: 'do',
      type: 'floatingipv6',
      id: '2604:a880:0:1010::18a:a001',
    });
    expect(parseUrn('do:task:a:b:c')?.id).toBe('a:b:c');
    expect(parseUrn('do:x:trailing:')?.id).toBe('trailing:');
  });

  it('ignores surrounding whitespace', () => {
    expect(parseUrn('  do:volume:abc \n')).toEqual({ provider: 'do', type: 'volume', id: 'abc' });
  });

  it.each([
    '',
    'do',
    'do:',
    'do:droplet',
    'do:droplet:',
    'do::123',
    ':droplet:123',
    'aws:ec2:i-123',
    'dodroplet:123',
    'do:drop let:123',
    'do:droplet:12 3',
    'do:droplet!:1',
    'urn:do:droplet:1',
  ])('rejects malformed %j', (urn) => {
    expect(parseUrn(urn)).toBeNull();
  });

  it('rejects non-strings without throwing', () => {
    for (const v of [undefined, null, 42, {}, ['do:droplet:1']]) expect(parseUrn(v)).toBeNull();
  });
});

describe('urnKindToLocalKind', () => {
  it.each([
    ['droplet', 'droplet'],
    ['volume', 'volume'],
    ['floatingip', 'floating_ip'],
    ['reservedip', 'floating_ip'],
    ['reserved_ip', 'floating_ip'],
    ['floatingipv6', 'reserved_ipv6'],
    ['reservedipv6', 'reserved_ipv6'],
    ['reserved_ipv6', 'reserved_ipv6'],
    ['loadbalancer', 'load_balancer'],
    ['dbaas', 'managed_db'],
    ['domain', 'dns_zone'],
    ['space', 'spaces_bucket'],
    ['kubernetes', 'kubernetes_cluster'],
    ['app', 'app'],
    ['vpc', 'vpc'],
  ])('%s → %s', (type, kind) => {
    expect(urnKindToLocalKind(type)).toBe(kind);
    expect(isKnownUrnType(type)).toBe(true);
  });

  it('is case-insensitive for known types', () => {
    expect(urnKindToLocalKind('FloatingIP')).toBe('floating_ip');
  });

  it('keeps unknown kinds verbatim', () => {
    expect(urnKindToLocalKind('task')).toBe('task');
    expect(urnKindToLocalKind('SomethingNew')).toBe('SomethingNew');
    expect(isKnownUrnType('task')).toBe(false);
  });

  it('does not resolve Object.prototype members', () => {
    expect(urnKindToLocalKind('constructor')).toBe('constructor');
    expect(urnKindToLocalKind('toString')).toBe('toString');
    expect(urnKindToLocalKind('__proto__')).toBe('__proto__');
  });

  it('maps every URN of the spec example project resources', async () => {
    const { readFileSync } = await import('node:fs');
    const body = JSON.parse(
      readFileSync(new URL('./fixtures/do-examples/project_resources.json', import.meta.url), 'utf8'),
    ) as { resources: { urn: string }[] };
    const mapped = body.resources.map((r) => {
      const p = parseUrn(r.urn);
      return p && { kind: urnKindToLocalKind(p.type), id: p.id };
    });
    expect(mapped).toEqual([
      { kind: 'droplet', id: '13457723' },
      { kind: 'dns_zone', id: 'example.com' },
    ]);
  });
});
