// Billing periods and cost line filters without a database.
import { describe, expect, it } from 'vitest';
import { boundedKinds, costLineWhere, invoiceWhere, parsePeriod } from '../src/domain/billing.js';
import { InvalidArgumentError } from '../src/domain/errors.js';

describe('parsePeriod', () => {
  it('takes a month or any valid date of it', () => {
    expect(parsePeriod('2026-10')).toBe('2026-10');
    expect(parsePeriod(' 2026-10-31 ')).toBe('2026-10');
    expect(parsePeriod('2028-02-29')).toBe('2028-02');
  });

  it('refuses anything else, naming the argument', () => {
    expect(() => parsePeriod('2026-13')).toThrow(
      expect.objectContaining({
        message: 'period must be a month "YYYY-MM" or a date "YYYY-MM-DD" (got "2026-13")',
        argument: 'period',
      }),
    );
    expect(() => parsePeriod('2026-02-29', 'since')).toThrow(InvalidArgumentError);
    expect(() => parsePeriod('2026-02-29', 'since')).toThrow(
      expect.objectContaining({ message: 'since "2026-02-29" is not a valid date', argument: 'since' }),
    );
    expect(() => parsePeriod('2026-04-00')).toThrow(
      expect.objectContaining({ message: 'period "2026-04-00" is not a valid date' }),
    );
  });
});

describe('cost line and invoice filters', () => {
  it('builds the Prisma conditions', () => {
    expect(costLineWhere({ kind: [' droplet '], matched: false, unmatchedReason: 'tax' })).toEqual([
      { kind: { in: ['droplet'] } },
      { resourceId: null },
      { unmatchedReason: 'tax' },
    ]);
    expect(costLineWhere({ matched: true })).toEqual([{ resourceId: { not: null } }]);
    expect(invoiceWhere({ period: '2026-10-02', provisional: false })).toEqual({
      period: '2026-10',
      provisional: false,
    });
  });

  it('bounds the kinds a filter may list', () => {
    const kinds = Array.from({ length: 51 }, (_, i) => `k${i}`);
    expect(() => costLineWhere({ kind: kinds })).toThrow(
      expect.objectContaining({ message: 'kind may list at most 50 values', argument: 'kind' }),
    );
    expect(() => boundedKinds(kinds)).toThrow(InvalidArgumentError);
    expect(boundedKinds(['droplet'])).toEqual(['droplet']);
  });
});
