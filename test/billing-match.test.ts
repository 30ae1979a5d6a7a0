import { describe, expect, it } from 'vitest';
import { addDecimals, decimalToMicros, microsToDecimal, normalizeDecimal, ratio } from '../src/domain/decimal.js';
import {
  CandidateIndex,
  MatchSummaryBuilder,
  buildCandidateIndex,
  disambiguate,
  matchLine,
  matchLines,
  prepareLine,
  summarizeMatches,
  type MatchCandidate,
  type MatchableLine,
} from '../src/jobs/billing/match.js';

let nextId = 1;
function candidate(kind: string, name: string | null, extra: Partial<MatchCandidate> = {}): MatchCandidate {
  const id = nextId++;
  return { id, kind, providerId: extra.providerId ?? String(1000 + id), name, stale: false, attrs: {}, ...extra };
}

function line(kind: string | null, name: string | null, extra: Partial<MatchableLine> = {}): MatchableLine {
  return { kind, name, isTax: false, isCredit: false, ...extra };
}

const JULY = { startAt: new Date('2020-07-01T00:00:00Z'), endAt: new Date('2020-08-01T00:00:00Z') };

describe('matchLine', () => {
  const web = candidate('droplet', 'Web-1', { providerId: '2353624' });
  const vol = candidate('volume', 'volume-sfo2-01', { providerId: '506f78a4-e098-11e5-ad9f-000f53306ae1' });
  const doks = candidate('kubernetes_cluster', 'my-doks-cluster', {
    providerId: '711157cb-37c8-4817-b371-44fa3504a39c',
  });
  const ip = candidate('floating_ip', null, { providerId: '1.2.3.4' });
  const oldDb = candidate('managed_db', 'old-db', { stale: true, staleAt: new Date('2020-07-20T00:00:00Z') });
  const snapshotSameId = candidate('snapshot', 'web-1-snap', { providerId: '2353624' });
  const index = buildCandidateIndex([web, vol, doks, ip, oldDb, snapshotSameId]);

  it('matches by resource_uuid, regardless of the derived kind', () => {
    expect(matchLine(line('kubernetes_cluster', 'whatever', { resourceUuid: doks.providerId }), index)).toEqual({
      resourceId: doks.id,
      matchMethod: 'id',
      unmatchedReason: null,
    });
    expect(matchLine(line(null, null, { resourceUuid: vol.providerId.toUpperCase() }), index)).toEqual({
      resourceId: vol.id,
      matchMethod: 'id',
      unmatchedReason: null,
    });
  });

  it('matches a numeric resource_id within the line kind when several kinds share it', () => {
    expect(matchLine(line('droplet', null, { resourceProviderId: '2353624' }), index).resourceId).toBe(web.id);
    expect(matchLine(line('snapshot', null, { resourceProviderId: '2353624' }), index).resourceId).toBe(
      snapshotSameId.id,
    );
    // Kind unknown and the id is not unique: no guess, and no name to fall back on.
    expect(matchLine(line(null, null, { resourceProviderId: '2353624' }), index)).toEqual({
      resourceId: null,
      matchMethod: null,
      unmatchedReason: 'unknown_product',
    });
  });

  it('falls back to the name when the id is unknown', () => {
    expect(matchLine(line('droplet', 'web-1', { resourceProviderId: '999' }), index)).toEqual({
      resourceId: web.id,
      matchMethod: 'name',
      unmatchedReason: null,
    });
  });

  it('matches (kind, name) case-insensitively and trimmed', () => {
    expect(matchLine(line('droplet', '  WEB-1 '), index)).toEqual({
      resourceId: web.id,
      matchMethod: 'name',
      unmatchedReason: null,
    });
    expect(matchLine(line('volume', 'VOLUME-SFO2-01'), index).resourceId).toBe(vol.id);
    // The name alone is not enough: the kind must agree.
    expect(matchLine(line('volume', 'web-1'), index).unmatchedReason).toBe('historic');
  });

  it('matches floating IPs by their address (the provider id)', () => {
    expect(matchLine(line('floating_ip', '1.2.3.4'), index)).toEqual({
      resourceId: ip.id,
      matchMethod: 'name',
      unmatchedReason: null,
    });
  });

  it('matches stale resources: deleted resources still bill', () => {
    expect(matchLine(line('managed_db', 'old-db', JULY), index)).toEqual({
      resourceId: oldDb.id,
      matchMethod: 'name',
      unmatchedReason: null,
    });
  });

  it('matches a backup to its droplet by name (method parent)', () => {
    expect(matchLine(line('droplet_backup', 'web-1'), index)).toEqual({
      resourceId: web.id,
      matchMethod: 'parent',
      unmatchedReason: null,
    });
    expect(matchLine(line('droplet_backup', 'gone'), index).unmatchedReason).toBe('historic');
    // With the droplet's id from the JSON items the method is id.
    expect(matchLine(line('droplet_backup', 'x', { resourceProviderId: '2353624' }), index)).toEqual({
      resourceId: web.id,
      matchMethod: 'id',
      unmatchedReason: null,
    });
  });

  it('gives every unmatched reason', () => {
    expect(matchLine(line(null, null, { isTax: true }), index).unmatchedReason).toBe('tax');
    expect(matchLine(line(null, null, { isTax: true, isCredit: true }), index).unmatchedReason).toBe('tax');
    expect(matchLine(line('droplet', 'web-1', { isCredit: true }), index)).toEqual({
      resourceId: null,
      matchMethod: null,
      unmatchedReason: 'credit',
    });
    expect(matchLine(line(null, 'Gizmos'), index).unmatchedReason).toBe('unknown_product');
    expect(matchLine(line('functions', 'x'), index).unmatchedReason).toBe('kind_not_synced');
    expect(matchLine(line('spaces_bucket', null, { isAccountLevel: true }), index).unmatchedReason).toBe(
      'account_level',
    );
    expect(matchLine(line('bandwidth', 'x'), index).unmatchedReason).toBe('kind_not_synced');
    expect(matchLine(line('container_registry', 'x'), index).unmatchedReason).toBe('kind_not_synced');
    expect(matchLine(line('spaces_bucket', 'assets'), index).unmatchedReason).toBe('kind_not_synced');
    expect(matchLine(line('droplet', 'deleted-long-ago'), index).unmatchedReason).toBe('historic');
    expect(matchLine(line('load_balancer', null), index).unmatchedReason).toBe('historic');
    const twins = buildCandidateIndex([candidate('droplet', 'twin'), candidate('droplet', 'twin')]);
    expect(matchLine(line('droplet', 'twin', JULY), twins).unmatchedReason).toBe('ambiguous');
  });

  it('treats spaces buckets as synced once any bucket is known', () => {
    const bucket = candidate('spaces_bucket', null, { providerId: 'assets' });
    const withBuckets = buildCandidateIndex([bucket]);
    expect(matchLine(line('spaces_bucket', 'Assets'), withBuckets).resourceId).toBe(bucket.id);
    expect(matchLine(line('spaces_bucket', 'other'), withBuckets).unmatchedReason).toBe('historic');
    expect(matchLine(line('spaces_bucket', null), withBuckets).unmatchedReason).toBe('historic');
  });

  it('lets the caller choose the synced kinds', () => {
    const custom = new CandidateIndex([], { syncedKinds: ['droplet'] });
    expect(matchLine(line('volume', 'v'), custom).unmatchedReason).toBe('kind_not_synced');
    expect(matchLine(line('droplet', 'v'), custom).unmatchedReason).toBe('historic');
    expect(matchLine(line('droplet_backup', 'v'), custom).unmatchedReason).toBe('historic');
  });
});

describe('same-name candidates', () => {
  it('never guesses between two live resources', () => {
    const a = candidate('droplet', 'api');
    const b = candidate('droplet', 'API');
    const index = buildCandidateIndex([a, b]);
    expect(matchLine(line('droplet', 'api', JULY), index).unmatchedReason).toBe('ambiguous');
    expect(matchLine(line('droplet', 'api'), index).unmatchedReason).toBe('ambiguous');
    expect(matchLine(line('droplet_backup', 'api'), index).unmatchedReason).toBe('ambiguous');
  });

  it('prefers the live one over stale ones when nothing shows the stale ones billed in the period', () => {
    const old = candidate('droplet', 'api', { stale: true });
    const current = candidate('droplet', 'api');
    expect(matchLine(line('droplet', 'api', JULY), buildCandidateIndex([old, current])).resourceId).toBe(current.id);
    // And when the line has no period at all.
    const olderWithDate = candidate('droplet', 'api', { stale: true, staleAt: new Date('2020-07-10T00:00:00Z') });
    expect(matchLine(line('droplet', 'api'), buildCandidateIndex([olderWithDate, current])).resourceId).toBe(
      current.id,
    );
  });

  it('is ambiguous when the timestamps show a stale one also existed during the period', () => {
    const old = candidate('droplet', 'api', { stale: true, staleAt: new Date('2020-07-10T00:00:00Z') });
    const current = candidate('droplet', 'api', { createdAt: new Date('2020-07-05T00:00:00Z') });
    expect(matchLine(line('droplet', 'api', JULY), buildCandidateIndex([old, current])).unmatchedReason).toBe(
      'ambiguous',
    );
  });

  it('uses lifetimes to tell a deleted resource from its same-name successor', () => {
    const old = candidate('droplet', 'api', {
      stale: true,
      createdAt: new Date('2019-01-01T00:00:00Z'),
      staleAt: new Date('2020-07-10T03:00:00Z'),
    });
    const current = candidate('droplet', 'api', { createdAt: new Date('2020-07-11T00:00:00Z') });
    const index = buildCandidateIndex([old, current]);
    const firstPart = { startAt: new Date('2020-07-01T00:00:00Z'), endAt: new Date('2020-07-10T00:00:00Z') };
    const secondPart = { startAt: new Date('2020-07-11T00:00:00Z'), endAt: new Date('2020-08-01T00:00:00Z') };
    expect(matchLine(line('droplet', 'api', firstPart), index).resourceId).toBe(old.id);
    expect(matchLine(line('droplet', 'api', secondPart), index).resourceId).toBe(current.id);
    // A June line: the current one did not exist yet, the old one did.
    expect(
      matchLine(
        line('droplet', 'api', { startAt: new Date('2020-06-01T00:00:00Z'), endAt: new Date('2020-07-01T00:00:00Z') }),
        index,
      ).resourceId,
    ).toBe(old.id);
  });

  it('is historic when every same-name candidate lived outside the period', () => {
    const later = candidate('droplet', 'api', { createdAt: new Date('2020-09-01T00:00:00Z') });
    expect(matchLine(line('droplet', 'api', JULY), buildCandidateIndex([later])).resourceId).toBe(later.id); // a single candidate is taken as is
    const later2 = candidate('droplet', 'api', { createdAt: new Date('2020-10-01T00:00:00Z') });
    expect(matchLine(line('droplet', 'api', JULY), buildCandidateIndex([later, later2])).unmatchedReason).toBe(
      'historic',
    );
  });

  it('is ambiguous for several stale ones without a live one', () => {
    const a = candidate('volume', 'data', { stale: true });
    const b = candidate('volume', 'data', { stale: true });
    expect(disambiguate([a, b], JULY)).toBe('ambiguous');
  });
});

describe('prepareLine + matchLines', () => {
  it('runs the whole chain on CSV-like lines', () => {
    const web = candidate('droplet', 'web');
    const snap = candidate('snapshot', 'web-snap');
    const index = buildCandidateIndex([web, snap]);
    const raw = [
      { product: 'Droplets', description: 'web (s-1vcpu-1gb)', groupDescription: null, amount: '5.00' },
      { product: 'Droplet Snapshots', description: 'web-snap (nyc3) 25GB', groupDescription: null, amount: '1.25' },
      { product: 'Droplet Backups', description: 'web (s-1vcpu-1gb)', groupDescription: null, amount: '1.00' },
      { product: 'Taxes', description: 'STATE SALES TAX (6.25%)', groupDescription: null, amount: '0.45' },
      { product: 'Credits', description: 'Promo', groupDescription: null, amount: '-2.00' },
      { product: 'Bandwidth', description: 'Outbound', groupDescription: null, amount: '0.10' },
      { product: 'Functions', description: 'GB-seconds', groupDescription: null, amount: '0.01' },
      { product: 'Gizmos', description: 'Something new', groupDescription: null, amount: '0.02' },
    ];
    const results = [
      ...matchLines(
        raw.map((r) => ({ ...r, ...prepareLine(r) })),
        index,
      ),
    ];
    expect(results.map((r) => [r.kind, r.name, r.resourceId, r.matchMethod, r.unmatchedReason])).toEqual([
      ['droplet', 'web', web.id, 'name', null],
      ['snapshot', 'web-snap', snap.id, 'name', null],
      ['droplet_backup', 'web', web.id, 'parent', null],
      [null, null, null, null, 'tax'],
      [null, null, null, null, 'credit'],
      ['bandwidth', 'Outbound', null, null, 'kind_not_synced'],
      ['functions', 'GB-seconds', null, null, 'kind_not_synced'],
      [null, null, null, null, 'unknown_product'],
    ]);
    const summary = summarizeMatches(results);
    expect(summary).toMatchObject({
      lineCount: 8,
      matchedCount: 3,
      linesAmount: '5.83',
      matchedAmount: '7.25',
      chargesAmount: '7.38',
      matchRate: '0.375000',
    });
    expect(summary.byReason.tax).toEqual({ count: 1, amount: '0.45' });
    expect(summary.byReason.credit).toEqual({ count: 1, amount: '-2.00' });
    expect(summary.byReason.ambiguous).toEqual({ count: 0, amount: '0.00' });
  });

  it('matches 100,000 lines against 20,000 candidates through the index', () => {
    const candidates = Array.from({ length: 20_000 }, (_, i) => candidate('droplet', `node-${i}`));
    const index = buildCandidateIndex(candidates);
    let matched = 0;
    for (let i = 0; i < 100_000; i++) {
      if (matchLine(line('droplet', `NODE-${i % 25_000}`), index).resourceId !== null) matched++;
    }
    expect(matched).toBe(80_000);
  });
});

describe('summarizeMatches: exact arithmetic', () => {
  it('sums 0.1 + 0.2 to exactly 0.30', () => {
    const summary = summarizeMatches([
      { amount: '0.1', resourceId: 1 },
      { amount: '0.2', resourceId: 2 },
    ]);
    expect(summary.matchedAmount).toBe('0.30');
    expect(summary.linesAmount).toBe('0.30');
    expect(summary.matchRate).toBe('1.000000');
    expect(summary.amountMatchRate).toBe('1.000000');
  });

  it('stays exact over many small amounts and micro amounts', () => {
    const builder = new MatchSummaryBuilder();
    for (let i = 0; i < 10_000; i++)
      builder.add({
        amount: '0.01',
        resourceId: i % 2 === 0 ? i : null,
        unmatchedReason: i % 2 === 0 ? null : 'historic',
      });
    builder.add({ amount: '0.000001', resourceId: 1 });
    builder.add({ amount: '99999999999.999999', resourceId: 1 });
    const summary = builder.result();
    expect(summary.linesAmount).toBe('100000000100.00');
    expect(summary.matchedAmount).toBe('100000000050.00');
    expect(summary.byReason.historic).toEqual({ count: 5_000, amount: '50.00' });
    expect(summary.matchRate).toBe('0.500100'); // 5,002 / 10,002 = 0.50009998… rounded half up
  });

  it('has null rates for no lines, and no amount rate without positive charges', () => {
    expect(summarizeMatches([])).toMatchObject({
      lineCount: 0,
      matchedCount: 0,
      linesAmount: '0.00',
      matchedAmount: '0.00',
      matchRate: null,
      amountMatchRate: null,
    });
    expect(summarizeMatches([{ amount: '1.00', resourceId: null, unmatchedReason: 'tax' }]).amountMatchRate).toBeNull();
  });
});

describe('decimal helpers', () => {
  it('converts and formats', () => {
    expect(decimalToMicros('12.34')).toBe(12_340_000n);
    expect(decimalToMicros('-0.000001')).toBe(-1n);
    expect(decimalToMicros('.5')).toBe(500_000n);
    expect(decimalToMicros('1.50000000')).toBe(1_500_000n);
    expect(() => decimalToMicros('1.0000001')).toThrow(/6 decimal places/);
    expect(() => decimalToMicros('1e3')).toThrow();
    expect(() => decimalToMicros('')).toThrow();
    expect(microsToDecimal(-1n)).toBe('-0.000001');
    expect(microsToDecimal(0n, 0)).toBe('0');
    expect(normalizeDecimal('-0.00')).toBe('0.00');
    expect(normalizeDecimal('007.10')).toBe('7.10');
    expect(addDecimals(['0.1', '0.2', '-0.3'])).toBe('0.00');
    expect(ratio(2n, 3n)).toBe('0.666667');
    expect(ratio(1n, 3n)).toBe('0.333333');
    expect(ratio(-1n, 3n)).toBe('-0.333333');
    expect(ratio(1n, 0n)).toBeNull();
  });
});
