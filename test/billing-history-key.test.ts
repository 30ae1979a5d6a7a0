import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { billingHistoryNaturalKey } from '../src/jobs/billing/history-key.js';

const invoice = {
  description: 'Invoice for May 2018',
  amount: '12.34',
  invoice_id: '123',
  invoice_uuid: 'example-uuid',
  date: '2018-06-01T08:44:38Z',
  type: 'Invoice',
};
const payment = { description: 'Payment (MC 2018)', amount: '-12.34', date: '2018-06-02T08:44:38Z', type: 'Payment' };

describe('billingHistoryNaturalKey', () => {
  it('is the sha256 of the canonical JSON join', () => {
    const expected = createHash('sha256')
      .update(JSON.stringify(['2018-06-01T08:44:38.000Z', 'Invoice', '12.34', 'Invoice for May 2018', 'example-uuid']))
      .digest('hex');
    expect(billingHistoryNaturalKey(invoice)).toBe(expected);
    expect(billingHistoryNaturalKey(invoice)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('uses an empty string for a missing invoice uuid', () => {
    expect(billingHistoryNaturalKey(payment)).toBe(billingHistoryNaturalKey({ ...payment, invoice_uuid: null }));
    expect(billingHistoryNaturalKey(payment)).toBe(billingHistoryNaturalKey({ ...payment, invoice_uuid: '' }));
  });

  it('agrees across spellings of the same entry', () => {
    const key = billingHistoryNaturalKey(invoice);
    expect(billingHistoryNaturalKey({ ...invoice, date: '2018-06-01T10:44:38+02:00' })).toBe(key);
    expect(billingHistoryNaturalKey({ ...invoice, date: new Date('2018-06-01T08:44:38Z') })).toBe(key);
    expect(billingHistoryNaturalKey({ ...invoice, amount: '12.340' })).toBe(key);
    expect(billingHistoryNaturalKey({ ...invoice, invoice_uuid: 'EXAMPLE-UUID' })).toBe(key);
    expect(billingHistoryNaturalKey({ ...invoice, description: ' Invoice for May 2018 ' })).toBe(key);
  });

  it('differs when any part differs', () => {
    const key = billingHistoryNaturalKey(invoice);
    for (const change of [
      { date: '2018-06-01T08:44:39Z' },
      { type: 'Adjustment' },
      { amount: '-12.34' },
      { description: 'Invoice for June 2018' },
      { invoice_uuid: 'other-uuid' },
    ]) {
      expect(billingHistoryNaturalKey({ ...invoice, ...change })).not.toBe(key);
    }
    // The join cannot be fooled by moving text between fields.
    expect(billingHistoryNaturalKey({ ...payment, type: 'Payment', description: 'x|y' })).not.toBe(
      billingHistoryNaturalKey({ ...payment, type: 'Payment|x', description: 'y' }),
    );
  });

  it('rejects an invalid date', () => {
    expect(() => billingHistoryNaturalKey({ ...invoice, date: 'yesterday' })).toThrow();
  });
});
