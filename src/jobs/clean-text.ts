/**
 * Text as PostgreSQL can store it. A text column refuses the NUL character ("invalid byte sequence for encoding
 * UTF8: 0x00") and jsonb refuses both `\u0000` and an unpaired surrogate escape, so one such character from
 * DigitalOcean would fail every write of the row it sits in, again on every sync. Such characters are removed
 * (NUL) or replaced by U+FFFD (unpaired surrogates), and counted. Invalid UTF-8 bytes never get this far: decoding
 * (JSON bodies, the CSV tokenizer) already turns them into U+FFFD, so values holding U+FFFD are counted too (one
 * DigitalOcean wrote itself is counted as well: the two cannot be told apart after decoding).
 */

const NUL = '\u0000';
const REPLACEMENT = '\uFFFD';
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

/** `text` without NUL characters, each unpaired surrogate replaced by U+FFFD. */
export function cleanText(text: string): string {
  const nul = text.includes(NUL);
  if (!nul && !HAS_LONE_SURROGATE.test(text)) return text;
  return (nul ? text.replaceAll(NUL, '') : text).replace(LONE_SURROGATE, REPLACEMENT);
}

/** What a run cleaned, for its details. */
export interface TextCleaningCounts {
  /** Values that held a NUL or an unpaired surrogate (stored without them). */
  cleanedValues: number;
  /** Values that hold U+FFFD (invalid UTF-8 replaced while decoding). */
  replacementCharacterValues: number;
}

/** Cleans values and counts them (cleanText), over a whole run. */
export class TextCleaner {
  cleanedValues = 0;
  replacementCharacterValues = 0;

  text(value: string): string {
    const out = cleanText(value);
    if (out !== value) this.cleanedValues++;
    if (out.includes(REPLACEMENT)) this.replacementCharacterValues++;
    return out;
  }

  nullable(value: string | null): string | null {
    return value === null ? null : this.text(value);
  }

  /** A deep copy of a JSON-like value with every string (object keys too) cleaned; other values kept as they are. */
  deep<T>(value: T): T {
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.text(v);
      if (Array.isArray(v)) return v.map(walk);
      if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[this.text(k)] = walk(x);
        return out;
      }
      return v;
    };
    return walk(value) as T;
  }

  /** The counts that are not zero (nothing when nothing was cleaned). */
  counts(): Partial<TextCleaningCounts> {
    return {
      ...(this.cleanedValues > 0 && { cleanedValues: this.cleanedValues }),
      ...(this.replacementCharacterValues > 0 && { replacementCharacterValues: this.replacementCharacterValues }),
    };
  }
}
