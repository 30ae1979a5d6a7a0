// When a new line set may replace an invoice's lines (line-set.ts): the total within max($0.01, 0.5%), an empty set
// only for a zero invoice that had no lines, and the preview compared with its summary's amount.
import { describe, expect, it } from 'vitest';
import { judgeLineSet, referenceAmount } from '../src/jobs/billing/line-set.js';

const judge = (lineCount: number, linesAmount: string, invoiceAmount: string, previousLineCount = 0) =>
  judgeLineSet({ lineCount, linesAmount, invoiceAmount, previousLineCount });

describe('judgeLineSet', () => {
  it('accepts lines that add up, and within max($0.01, 0.5%)', () => {
    expect(judge(14, '131.02', '131.02', 14)).toEqual({ accepted: true, difference: '0.00', tolerance: '0.6551' });
    expect(judge(14, '131.67', '131.02')).toMatchObject({ accepted: true, difference: '0.65' });
    expect(judge(1, '1.01', '1.00')).toMatchObject({ accepted: true, tolerance: '0.01' });
    expect(judge(2, '-5.00', '-5.00')).toMatchObject({ accepted: true });
  });

  it('refuses lines off by more than the tolerance', () => {
    expect(judge(13, '130.00', '131.02', 14)).toMatchObject({ accepted: false, code: 'TOTAL_MISMATCH' });
    expect(judge(1, '1.02', '1.00')).toMatchObject({ accepted: false, code: 'TOTAL_MISMATCH', difference: '0.02' });
  });

  it('an empty set only for an invoice of 0 that had no lines', () => {
    expect(judge(0, '0.00', '0.00')).toMatchObject({ accepted: true });
    expect(judge(0, '0.00', '131.02', 14)).toMatchObject({
      accepted: false,
      code: 'EMPTY_LINE_SET',
      reason: 'DigitalOcean returned no lines for an invoice of 131.02 that has 14 lines; the previous lines are kept',
    });
    expect(judge(0, '0.00', '0.00', 2)).toMatchObject({ accepted: false, code: 'EMPTY_LINE_SET' });
    expect(judge(0, '0.00', '3.00')).toMatchObject({ accepted: false, code: 'EMPTY_LINE_SET' });
  });
});

describe('referenceAmount', () => {
  it("a final invoice's header amount; a preview's summary amount when it is a decimal", () => {
    expect(referenceAmount({ amount: '131.020000', provisional: false }, '140.00')).toEqual({
      amount: '131.02',
      source: 'invoice',
    });
    expect(referenceAmount({ amount: '7.000000', provisional: true }, '9.5')).toEqual({
      amount: '9.50',
      source: 'summary',
    });
    expect(referenceAmount({ amount: '7.000000', provisional: true }, 'n/a')).toEqual({
      amount: '7.00',
      source: 'invoice',
    });
    expect(referenceAmount({ amount: '7', provisional: true }, undefined)).toMatchObject({ source: 'invoice' });
  });
});
