// Exact decimal arithmetic for money, without floats (shared by the billing jobs and the accrual reads).
//
// Amounts are stored as numeric(18, 6), so one micro-dollar (10^-6) is the unit: every amount is held
// as a bigint count of micros. Parsing rejects anything finer than that rather than rounding it away,
// so a sum computed here always equals the SUM() Postgres computes over the stored rows.

/** Decimal places of the money columns (numeric(18, 6)). */
export const MONEY_SCALE = 6;
const MICROS_PER_UNIT = 10n ** BigInt(MONEY_SCALE);

export class DecimalFormatError extends Error {
  override readonly name = 'DecimalFormatError';
  constructor(
    message: string,
    readonly value: string,
  ) {
    super(message);
  }
}

// A plain decimal: optional sign, digits, optional fraction ("12", "-0.5", ".5", "12.").
const PLAIN_DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?$/;

/** "12.34" → 12_340_000n. Throws DecimalFormatError for anything that is not a plain decimal or has
 *  non-zero digits beyond the sixth decimal place. */
export function decimalToMicros(value: string): bigint {
  const match = PLAIN_DECIMAL.exec(value.trim());
  const intPart = match?.[2] ?? '';
  const fracPart = match?.[3] ?? '';
  if (!match || (intPart === '' && fracPart === '')) {
    throw new DecimalFormatError(`"${value}" is not a decimal number`, value);
  }
  const significantFraction = fracPart.replace(/0+$/, '');
  if (significantFraction.length > MONEY_SCALE) {
    throw new DecimalFormatError(`"${value}" has more than ${MONEY_SCALE} decimal places`, value);
  }
  const micros = BigInt(intPart || '0') * MICROS_PER_UNIT + BigInt(significantFraction.padEnd(MONEY_SCALE, '0') || '0');
  return match[1] === '-' ? -micros : micros;
}

/** 12_340_000n → "12.34". Keeps at least `minScale` decimal places and drops further trailing zeros;
 *  never prints "-0". */
export function microsToDecimal(micros: bigint, minScale = 2): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const intPart = (abs / MICROS_PER_UNIT).toString();
  let fraction = (abs % MICROS_PER_UNIT).toString().padStart(MONEY_SCALE, '0');
  const keep = Math.max(Math.min(minScale, MONEY_SCALE), fraction.replace(/0+$/, '').length);
  fraction = fraction.slice(0, keep);
  return `${negative ? '-' : ''}${intPart}${fraction ? `.${fraction}` : ''}`;
}

/** Canonical spelling of a decimal string: "012.340" → "12.34", "-0.00" → "0.00". */
export function normalizeDecimal(value: string, minScale = 2): string {
  return microsToDecimal(decimalToMicros(value), minScale);
}

/** Exact sum of decimal strings. */
export function addDecimals(values: Iterable<string>, minScale = 2): string {
  let total = 0n;
  for (const value of values) total += decimalToMicros(value);
  return microsToDecimal(total, minScale);
}

/** numerator / denominator as a decimal string with `scale` places, rounded half away from zero.
 *  Returns null when the denominator is zero. */
export function ratio(numerator: bigint, denominator: bigint, scale = 6): string | null {
  if (denominator === 0n) return null;
  const negative = numerator < 0n !== denominator < 0n && numerator !== 0n;
  const num = (numerator < 0n ? -numerator : numerator) * 10n ** BigInt(scale);
  const den = denominator < 0n ? -denominator : denominator;
  const scaled = (num * 2n + den) / (den * 2n);
  const digits = scaled.toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative && scaled !== 0n ? `-${text}` : text;
}
