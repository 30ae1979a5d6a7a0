// Billing history entries have no id, so each row is keyed by a hash of what
// identifies it: (date, type, amount, description, invoice_uuid).

import { createHash } from 'node:crypto';
import { normalizeDecimal } from '../../domain/decimal.js';
import { parseJsonDecimal, parseTimestamp } from './values.js';

export interface BillingHistoryEntryLike {
  /** RFC 3339 string (as the API sends it) or a Date. */
  date: string | Date;
  type: string;
  /** Decimal, signed ("-12.34" for payments and credits): a string as the spec has it, or a JSON number. */
  amount: string | number;
  description: string;
  invoice_uuid?: string | null;
}

/**
 * sha256 (hex) of the JSON array [date as ISO 8601 UTC with milliseconds, type, amount, description,
 * invoice_uuid or '']. Each part is canonicalized so that spellings of the same entry agree:
 * "2018-06-01T08:44:38Z" and "2018-06-01T10:44:38+02:00" are one instant, "12.30" and "12.3" one
 * amount (trailing zeros dropped, "-0" is "0"), surrounding whitespace is ignored and the uuid is
 * lowercased, and a JSON number is the decimal it spells (12.34 is "12.34"). JSON encoding keeps the join
 * unambiguous whatever the description contains.
 */
export function billingHistoryNaturalKey(entry: BillingHistoryEntryLike): string {
  const date = entry.date instanceof Date ? entry.date : parseTimestamp(entry.date);
  if (!date || Number.isNaN(date.getTime()))
    throw new RangeError(`billing history entry has no valid date: ${String(entry.date)}`);
  const parts = [
    date.toISOString(),
    entry.type.trim(),
    normalizeDecimal(parseJsonDecimal(entry.amount), 0),
    entry.description.trim(),
    (entry.invoice_uuid ?? '').trim().toLowerCase(),
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
