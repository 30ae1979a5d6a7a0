// Live accrual's pure parts: the forecast on known series, the movers, SKUs and points as the job reads them, the
// months a run fetches, and the simulator's spread of a line over its days.
import { describe, expect, it } from 'vitest';
import { findMovers, forecastMonth, monthDays, type DayCost } from '../src/domain/accrual.js';
import {
  insightRanges,
  matchableLine,
  OccurrenceCounter,
  PointReader,
  skuProduct,
} from '../src/jobs/billing/insight-points.js';
import { buildCandidateIndex, matchLine } from '../src/jobs/billing/match.js';
import { spreadOverDays } from '../tools/simulator/billing.js';

const days = (month: string, amounts: string[]) =>
  amounts.map((amount, i) => ({ day: `${month}-${String(i + 1).padStart(2, '0')}`, amount }));

describe('forecastMonth', () => {
  it('is month to date plus the mean of the last seven days times the days left', () => {
    // Ten days of 1.00, then four of 3.00: the window (days 8-14) holds 3 × 1.00 + 4 × 3.00 = 15.00.
    const series = days('2026-11', [...Array<string>(10).fill('1.00'), ...Array<string>(4).fill('3.00')]);
    const f = forecastMonth('2026-11', series, '2026-11-14');
    expect(f).toEqual({
      method: 'run_rate',
      monthToDate: '22.00',
      lastObservedDay: '2026-11-14',
      daysObserved: 14,
      windowDays: 7,
      dailyRate: '2.142857', // 15 / 7, rounded half away from zero to the micro-dollar
      daysRemaining: 16,
      forecast: '56.285712', // 22 + 2.142857 × 16
    });
  });

  it('averages fewer days early in the month, and counts a day without points as zero', () => {
    const f = forecastMonth('2026-02', [{ day: '2026-02-01', amount: '4.00' }], '2026-02-03');
    expect(f).toMatchObject({ daysObserved: 3, windowDays: 3, dailyRate: '1.333333', daysRemaining: 25 });
    expect(f.forecast).toBe('37.333325');
  });

  it('forecasts a finished month as itself, and a month without points as zero', () => {
    const full = forecastMonth('2026-10', days('2026-10', Array<string>(31).fill('2.50')), '2026-10-31');
    expect(full).toMatchObject({ daysRemaining: 0, forecast: '77.50', monthToDate: '77.50', dailyRate: '2.50' });
    expect(forecastMonth('2026-10', [], null)).toMatchObject({ daysObserved: 0, forecast: '0.00', daysRemaining: 31 });
    // A series whose last points are older than the account's last day keeps that rate low, not its old one.
    const stopped = forecastMonth('2026-11', days('2026-11', ['5.00', '5.00']), '2026-11-10');
    expect(stopped).toMatchObject({ dailyRate: '0.00', forecast: '10.00' });
  });

  it('knows the length of every month', () => {
    expect(monthDays('2024-02')).toEqual({ first: '2024-02-01', last: '2024-02-29', days: 29 });
    expect(monthDays('2026-12').last).toBe('2026-12-31');
  });
});

describe('findMovers', () => {
  const cost = (resourceId: number | null, sku: string, amount: string, name = `r${resourceId}`): DayCost => ({
    resourceId,
    kind: 'droplet',
    resourceName: name,
    sku,
    description: `${name} (${sku})`,
    amount,
  });

  it('reports resources that moved by more than the ratio and the minimum, largest first', () => {
    const before = [cost(1, 'a', '1.00'), cost(2, 'a', '1.00'), cost(3, 'a', '10.00'), cost(4, 'a', '0.10')];
    const after = [cost(1, 'a', '1.10'), cost(2, 'a', '2.00'), cost(3, 'a', '5.00'), cost(4, 'a', '0.20')];
    const movers = findMovers(before, after);
    // #1 moved 10% (under 20%), #4 by 0.10 (100%, but the default minimum is 0.05: it counts).
    expect(movers.resources.map((m) => [m.resourceId, m.change])).toEqual([
      [3, '-5.00'],
      [2, '1.00'],
      [4, '0.10'],
    ]);
    expect(movers.resources[0]).toMatchObject({ previousAmount: '10.00', amount: '5.00', ratio: -0.5 });
    expect(findMovers(before, after, { ratio: 0.05, minChange: '0.50' }).resources.map((m) => m.resourceId)).toEqual([
      3, 2,
    ]);
  });

  it('shows a resize as one SKU vanishing and one appearing, a new resource and a deleted one as movers', () => {
    const before = [cost(1, 'small', '0.20'), cost(9, 'x', '3.00')];
    const after = [cost(1, 'large', '0.80'), cost(null, 'y', '1.00', 'unknown-thing')];
    const movers = findMovers(before, after);
    expect(movers.newSkus.map((s) => s.sku).sort()).toEqual(['large', 'y']);
    expect(movers.vanishedSkus.map((s) => s.sku).sort()).toEqual(['small', 'x']);
    expect(movers.resources.map((m) => [m.resourceId ?? m.resourceName, m.change, m.ratio])).toEqual([
      [9, '-3.00', -1],
      ['unknown-thing', '1.00', null],
      [1, '0.60', 3],
    ]);
  });

  it('finds nothing when nothing changed', () => {
    const day = [cost(1, 'a', '1.00'), cost(2, 'b', '2.00')];
    expect(findMovers(day, day)).toEqual({ resources: [], newSkus: [], vanishedSkus: [] });
  });
});

describe('billing insight points', () => {
  it('reads a SKU as the invoice product it bills, family before service; unknown SKUs get none', () => {
    expect(skuProduct('1-DO-DROP-0109')).toBe('Droplets');
    expect(skuProduct('1-DO-SNAP-0001')).toBe('Droplet Snapshots');
    expect(skuProduct('1-BS-SNAP-0001')).toBe('Volume Snapshots');
    expect(skuProduct('1-KS-K8SWN-00109')).toBe('Kubernetes Clusters');
    expect(skuProduct('1-do-bkup-0003')).toBe('Droplet Backups');
    expect(skuProduct('7-ZZ-NEW-0001')).toBeNull();
    expect(skuProduct('garbage')).toBeNull();
  });

  it('classifies with the invoice rules: snapshots and backups never as droplets, groups name clusters', () => {
    const reader = new PointReader();
    const point = (sku: string, description: string, group = '', amount = '1.00') =>
      reader.read({ start_date: '2026-11-02', total_amount: amount, sku, description, group_description: group });
    expect(point('1-DO-DROP-0109', 'web-1 (c-2-4GiB)')).toMatchObject({ kind: 'droplet', resourceName: 'web-1' });
    expect(point('1-DO-SNAP-0001', 'web-1-nightly (25GB)')).toMatchObject({ kind: 'snapshot' });
    expect(point('1-DO-BKUP-0001', 'web-1 (s-1vcpu-1gb)')).toMatchObject({
      kind: 'droplet_backup',
      resourceName: 'web-1',
    });
    expect(point('1-KS-K8SWN-00109', '3 nodes - 4 GB / 2 vCPU / 80 GB SSD', 'prod-cluster')).toMatchObject({
      kind: 'kubernetes_cluster',
      resourceName: 'prod-cluster',
    });
    expect(point('1-DB-DBAAS-0001', 'PostgreSQL db-s-1vcpu-1gb (1 node)', 'orders-db')).toMatchObject({
      kind: 'managed_db',
      resourceName: 'orders-db',
    });
    expect(point('9-QQ-NEW-0001', 'something new')).toMatchObject({ kind: null, isTax: false, isCredit: false });
    expect(point('9-QQ-NEW-0001', 'STATE SALES TAX (6.25%)')).toMatchObject({ kind: null, isTax: true });
    expect(point('1-DO-DROP-0109', 'web-1 (c-2-4GiB)', '', '-1.00')).toMatchObject({ isCredit: true });
    // A droplet named like a tax stays a droplet (the product decides).
    expect(point('1-DO-DROP-0109', 'vat-calculator (s-1vcpu-1gb)')).toMatchObject({ kind: 'droplet', isTax: false });
    expect(point('1-DO-DROP-0109', 'web-1 (c)', '', '0.123456').amount).toBe('0.123456');
  });

  it('refuses a point without a day or a decimal amount', () => {
    const reader = new PointReader();
    const base = { sku: '1-DO-DROP-1', description: 'x (s)', total_amount: '1.00', start_date: '2026-11-01' };
    expect(() => reader.read({ ...base, start_date: '2026-13-45' })).toThrow(/start_date/);
    expect(() => reader.read({ ...base, total_amount: '1,5' })).toThrow(/total_amount/);
    expect(() => reader.read({ ...base, total_amount: '0.0000001' })).toThrow(/total_amount/);
  });

  it('numbers identical points of a day 1, 2, … and starts again on another day', () => {
    const reader = new PointReader();
    const counter = new OccurrenceCounter();
    const raw = { sku: '1-DO-DROP-1', description: 'twin (s-1vcpu-1gb)', total_amount: '0.20', region: 'nyc3' };
    const numbers = [
      { ...raw, start_date: '2026-11-01' },
      { ...raw, start_date: '2026-11-01' },
      { ...raw, start_date: '2026-11-01', region: 'fra1' },
      { ...raw, start_date: '2026-11-02' },
    ].map((p) => counter.next(reader.read(p)));
    expect(numbers).toEqual([1, 2, 1, 1]);
  });

  it('matches a point through the invoice matcher: the day is its period, ambiguity is not guessed', () => {
    const reader = new PointReader();
    const index = buildCandidateIndex([
      { id: 1, kind: 'droplet', providerId: '10', name: 'web', stale: false },
      { id: 2, kind: 'droplet', providerId: '11', name: 'twin', stale: false },
      { id: 3, kind: 'droplet', providerId: '12', name: 'twin', stale: false },
      // Deleted (stale): still a candidate, since deleted resources keep billing for a while.
      { id: 4, kind: 'droplet', providerId: '13', name: 'old', stale: true, staleAt: new Date('2026-10-20T00:00:00Z') },
    ]);
    const match = (description: string) =>
      matchLine(
        matchableLine(reader.read({ start_date: '2026-11-02', total_amount: '1', sku: '1-DO-DROP-1', description })),
        index,
      );
    expect(match('web (s-1vcpu-1gb)')).toEqual({ resourceId: 1, matchMethod: 'name', unmatchedReason: null });
    expect(match('twin (s-1vcpu-1gb)')).toMatchObject({ resourceId: null, unmatchedReason: 'ambiguous' });
    expect(match('old (s-1vcpu-1gb)')).toMatchObject({ resourceId: 4, matchMethod: 'name' });
    expect(match('never-seen (s-1vcpu-1gb)')).toMatchObject({ resourceId: null, unmatchedReason: 'historic' });
  });

  it('fetches the previous month whole and this month to today', () => {
    expect(insightRanges(new Date('2026-11-15T09:17:00Z'))).toEqual([
      { month: '2026-10', start: '2026-10-01', end: '2026-10-31' },
      { month: '2026-11', start: '2026-11-01', end: '2026-11-15' },
    ]);
    expect(insightRanges(new Date('2026-01-01T00:00:00Z'))).toEqual([
      { month: '2025-12', start: '2025-12-01', end: '2025-12-31' },
      { month: '2026-01', start: '2026-01-01', end: '2026-01-01' },
    ]);
    expect(insightRanges(new Date('2024-03-10T00:00:00Z'))[0]!.end).toBe('2024-02-29');
  });
});

describe("the simulator's daily spread of an invoice line", () => {
  it('adds up to the line exactly, in proportion to the hours of each day', () => {
    const line = {
      startMs: Date.parse('2026-10-14T10:00:00Z'),
      endMs: Date.parse('2026-10-17T00:00:00Z'),
      amountCents: 1001,
    };
    const spread = spreadOverDays(line);
    expect(spread.map(([day]) => day)).toEqual(['2026-10-14', '2026-10-15', '2026-10-16']);
    expect(spread.reduce((s, [, cents]) => s + cents, 0)).toBe(1001);
    // 14 h, 24 h, 24 h of 62 h.
    expect(spread.map(([, cents]) => cents)).toEqual([226, 388, 387]);
  });
});
