// Parsers for the value formats that invoices use (CSV and JSON items alike). Each returns the
// canonical value or throws ValueFormatError with a short reason; the CSV parser adds line and column.

import { DecimalFormatError, microsToDecimal, decimalToMicros } from '../../domain/decimal.js';

export class ValueFormatError extends Error {
  override readonly name = 'ValueFormatError';
  constructor(message: string) {
    super(message);
  }
}

// Digits with optional thousands separators (strictly grouped by three) and an optional fraction.
const GROUPED_NUMBER = /^(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d+))?$/;

function stripThousands(text: string, what: string): string {
  const match = GROUPED_NUMBER.exec(text);
  if (!match || (match[1] === '' && match[2] === undefined)) {
    throw new ValueFormatError(`${what} "${text}" is not a number`);
  }
  return `${match[1]!.replace(/,/g, '') || '0'}${match[2] !== undefined ? `.${match[2]}` : ''}`;
}

/**
 * A USD amount as the invoice CSV writes it, to a canonical decimal string (at least two decimals,
 * at most six): "$3.11" → "3.11", "$1,234.56" → "1234.56", "-$1.00" / "$-1.00" / "($1.00)" → "-1.00",
 * "12.34" (JSON items, no "$") → "12.34". Empty, two signs, a sign inside parentheses, misplaced
 * thousands separators or more than six significant decimals are errors, never guesses.
 */
export function parseUsdAmount(raw: string): string {
  let text = raw.trim();
  if (text === '') throw new ValueFormatError('amount is empty');
  let negative = false;
  const parenthesized = /^\((.*)\)$/.exec(text);
  if (parenthesized) {
    negative = true;
    text = parenthesized[1]!.trim();
  }
  // sign? $? sign? number — at most one sign in total.
  const shape = /^([+-])?\s*(\$)?\s*([+-])?\s*([\d.,]+)$/.exec(text);
  if (!shape) throw new ValueFormatError(`amount "${raw}" is not a money value`);
  const [, signBefore, , signAfter, number] = shape;
  if (signBefore && signAfter) throw new ValueFormatError(`amount "${raw}" has two signs`);
  const sign = signBefore ?? signAfter;
  if (sign && parenthesized) throw new ValueFormatError(`amount "${raw}" has a sign inside parentheses`);
  if (sign === '-') negative = true;
  const plain = stripThousands(number!, 'amount');
  try {
    const micros = decimalToMicros(plain);
    return microsToDecimal(negative ? -micros : micros);
  } catch (error) {
    if (error instanceof DecimalFormatError) throw new ValueFormatError(`amount "${raw}": ${error.message}`);
    throw error;
  }
}

/** Hours ("744", "100.5", "1,488"); empty → null (taxes and flat items have none). Returned as a
 *  decimal string without separators or leading zeros. */
export function parseHours(raw: string): string | null {
  const text = raw.trim();
  if (text === '') return null;
  const signed = /^([+-])?(.*)$/.exec(text)!;
  const plain = stripThousands(signed[2]!, 'hours');
  const [intPart, fracPart] = plain.split('.') as [string, string | undefined];
  const int = intPart.replace(/^0+(?=\d)/, '');
  const isZero = /^0*$/.test(int) && /^0*$/.test(fracPart ?? '');
  return `${signed[1] === '-' && !isZero ? '-' : ''}${int}${fracPart !== undefined ? `.${fracPart}` : ''}`;
}

// "2020-07-01 00:00:00 +0000" (the CSV), "2020-07-01T00:00:00Z" / "…+05:30" (RFC 3339, JSON items).
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(?:([Zz]|UTC|GMT)|([+-])(\d{2}):?(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Valid timestamps already parsed (text → epoch ms), bounded; the function is pure, so this only saves time. */
const timestampCache = new Map<string, number>();

/** A timestamp with an explicit zone to a Date; empty → null. Calendar fields are range-checked
 *  (no Feb 30, no 24:00), because Date.UTC would silently roll them over. */
export function parseTimestamp(raw: string): Date | null {
  const text = raw.trim();
  if (text === '') return null;
  // An invoice repeats a handful of timestamps (period start and end) on almost every line.
  const cached = timestampCache.get(text);
  if (cached !== undefined) return new Date(cached);
  const m = TIMESTAMP.exec(text);
  if (!m) throw new ValueFormatError(`date "${raw}" is neither "YYYY-MM-DD HH:MM:SS +HHMM" nor RFC 3339`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new ValueFormatError(`date "${raw}" is not a valid calendar time`);
  }
  let offsetMinutes = 0;
  if (m[9]) {
    const offHours = Number(m[10]);
    const offMinutes = Number(m[11]);
    if (offHours > 23 || offMinutes > 59) throw new ValueFormatError(`date "${raw}" has an invalid UTC offset`);
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offHours * 60 + offMinutes);
  }
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0–99 to 1900–1999
  date.setUTCHours(hour, minute, second, millis);
  const time = date.getTime() - offsetMinutes * 60_000;
  if (timestampCache.size >= 4096) timestampCache.clear();
  timestampCache.set(text, time);
  return new Date(time);
}

/** What a JSON value is, for an error message: "null", "missing", "an object", "a boolean"... */
function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Beyond this magnitude a JSON number may already have lost cents when it was parsed into a double. */
const EXACT_JSON_NUMBER_LIMIT = 1e15;

/**
 * A money value from a JSON body, to a canonical decimal string. The spec sends decimal strings ("12.34"), but
 * DigitalOcean's own clients document numbers too (12.34). A number is taken by its shortest spelling, which is
 * the literal the body held (12.34 → "12.34", never 12.339999...); a number too large to have come through a
 * double exactly, or with more than six decimals, is an error. Anything else (an object, a boolean, empty) is an
 * error, never a guess.
 */
export function parseJsonDecimal(value: unknown, what = 'amount'): string {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Math.abs(value) >= EXACT_JSON_NUMBER_LIMIT)
      throw new ValueFormatError(`${what} ${String(value)} is not a number that can be read exactly`);
    text = String(value);
    // Tiny magnitudes print in exponent form (1e-7); they are finer than a micro-dollar anyway.
    if (/e/i.test(text)) throw new ValueFormatError(`${what} ${text} has more than six decimal places`);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw new ValueFormatError(`${what} is ${describeJson(value)}, not a decimal`);
  }
  try {
    return microsToDecimal(decimalToMicros(text));
  } catch (error) {
    if (error instanceof DecimalFormatError) throw new ValueFormatError(`${what}: ${error.message}`);
    throw error;
  }
}

/**
 * An identifier from a JSON body (`invoice_id`: "123" in the spec, 123 in DigitalOcean's Ansible collection): a
 * string trimmed, a non-negative safe integer in decimal; missing, null or empty → null; anything else an error.
 */
export function parseJsonId(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value.trim() === '' ? null : value.trim();
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  throw new ValueFormatError(`${what} ${typeof value === 'number' ? String(value) : describeJson(value)} is not an id`);
}
