/**
 * Whether a new line set may replace an invoice's stored lines. An ingest that reads a truncated, header-only or
 * wrong file would otherwise "succeed" and silently take the invoice's money out of every report; refusing it
 * keeps the previous lines (the ingest's transaction rolls back) and records why.
 *
 * The rules:
 * - The lines must add up to the invoice amount within max($0.01, 0.5% of the amount). Lines are rounded to the
 *   cent one by one, so a long invoice can be a few cents off its total; a missing block of lines, a header-only
 *   file or another invoice's file is not. A small missing line can hide inside the tolerance: the tolerance is
 *   what keeps an honest, slightly rounded invoice from failing forever.
 * - An empty line set is accepted only when the amount is 0 AND the invoice had no lines (a zero invoice whose
 *   lines cancel out, e.g. a charge and its credit, does not become empty without anyone noticing).
 *
 * The amount compared with is the header's (from the invoices listing), except for the month-to-date preview:
 * DigitalOcean regenerates it while the month runs, so the amount of the listing, read before the job was
 * queued, can be older than the CSV. Its summary, read by the same ingest just before the lines, is the closer
 * figure when it is offered.
 */
import { decimalToMicros, DecimalFormatError, microsToDecimal } from '../../domain/decimal.js';

/** The relative tolerance, in parts per thousand (5 = 0.5%), and the absolute floor in micros ($0.01). */
const TOLERANCE_PER_MILLE = 5n;
const TOLERANCE_FLOOR_MICROS = 10_000n;

export interface LineSetCandidate {
  lineCount: number;
  /** Exact decimal sum of the new lines. */
  linesAmount: string;
  /** How many lines the invoice had before this ingest. */
  previousLineCount: number;
  /** The amount the lines must add up to (referenceAmount). */
  invoiceAmount: string;
}

export type LineSetVerdict =
  | { accepted: true; difference: string; tolerance: string }
  | {
      accepted: false;
      code: 'EMPTY_LINE_SET' | 'TOTAL_MISMATCH';
      reason: string;
      difference: string;
      tolerance: string;
    };

/** max($0.01, 0.5% of |amount|), in micros. */
function toleranceOf(amountMicros: bigint): bigint {
  const abs = amountMicros < 0n ? -amountMicros : amountMicros;
  const relative = (abs * TOLERANCE_PER_MILLE) / 1000n;
  return relative > TOLERANCE_FLOOR_MICROS ? relative : TOLERANCE_FLOOR_MICROS;
}

/** The verdict on a new line set (see the module comment). */
export function judgeLineSet(candidate: LineSetCandidate): LineSetVerdict {
  const amount = decimalToMicros(candidate.invoiceAmount);
  const lines = decimalToMicros(candidate.linesAmount);
  const differenceMicros = lines - amount;
  const toleranceMicros = toleranceOf(amount);
  const difference = microsToDecimal(differenceMicros);
  const tolerance = microsToDecimal(toleranceMicros);
  const figures = { difference, tolerance };
  if (candidate.lineCount === 0 && (candidate.previousLineCount > 0 || amount !== 0n)) {
    return {
      accepted: false,
      code: 'EMPTY_LINE_SET',
      reason:
        `DigitalOcean returned no lines for an invoice of ${microsToDecimal(amount)}` +
        (candidate.previousLineCount > 0 ? ` that has ${candidate.previousLineCount} lines` : '') +
        '; the previous lines are kept',
      ...figures,
    };
  }
  const off = differenceMicros < 0n ? -differenceMicros : differenceMicros;
  if (off > toleranceMicros) {
    return {
      accepted: false,
      code: 'TOTAL_MISMATCH',
      reason:
        `the ${candidate.lineCount} lines add up to ${candidate.linesAmount}, the invoice amount is ` +
        `${microsToDecimal(amount)} (off by ${difference}, more than the tolerance of ${tolerance}); ` +
        'the previous lines are kept',
      ...figures,
    };
  }
  return { accepted: true, ...figures };
}

/**
 * The amount a line set must add up to: the header's, or for a preview the summary's amount when the summary was
 * read and its amount is a decimal (see the module comment).
 */
export function referenceAmount(
  header: { amount: string; provisional: boolean },
  summaryAmount: unknown,
): { amount: string; source: 'invoice' | 'summary' } {
  if (header.provisional && typeof summaryAmount === 'string') {
    try {
      return { amount: microsToDecimal(decimalToMicros(summaryAmount)), source: 'summary' };
    } catch (error) {
      if (!(error instanceof DecimalFormatError)) throw error;
    }
  }
  return { amount: microsToDecimal(decimalToMicros(header.amount)), source: 'invoice' };
}

/** Thrown inside the ingest's transaction when the verdict is a refusal: it rolls back and records the reason. */
export class LineSetRefusedError extends Error {
  override readonly name = 'LineSetRefusedError';
  constructor(readonly verdict: Extract<LineSetVerdict, { accepted: false }>) {
    super(`invoice lines refused (${verdict.code}): ${verdict.reason}`);
  }
}
