// Streaming parser for DigitalOcean invoice CSVs (GET /v2/customers/my/invoices/{uuid}/csv).
//
// The file is read record by record through a streaming RFC 4180 tokenizer (csv-tokenizer.ts: quoting,
// BOM stripped, physical line numbers), columns are found by header name, and every value is validated. A malformed file throws InvoiceCsvError naming
// the line and column; nothing is skipped silently, because a skipped line is money that disappears
// from the invoice without anyone noticing. Only blank lines are passed over (they hold no data). A header cell
// holding a NUL byte is refused (NUL_IN_HEADER, naming the column's 1-based position); NUL bytes in data cells are
// removed by the ingest (clean-text.ts), which counts them, and one in a number or a date makes it malformed.
//
// Memory stays flat: chunks are pulled from the source on demand and tokenized one at a time, so one chunk's
// records and the source's own buffer are all that is held, whatever the file size.

import { Readable } from 'node:stream';
import { CsvSyntaxError, tokenizeCsv, type CsvRecord } from './csv-tokenizer.js';
import { parseHours, parseTimestamp, parseUsdAmount, ValueFormatError } from './values.js';

export { parseHours, parseTimestamp, parseUsdAmount } from './values.js';

/** One invoice line, as the CSV gives it (kind, name and match are derived later). */
export interface InvoiceCsvLine {
  /** 1-based position among the data lines (the header and blank lines do not count). */
  lineNo: number;
  /** 1-based physical line of the file where this record starts (the header is line 1). */
  fileLine: number;
  product: string;
  groupDescription: string | null;
  description: string;
  /** Decimal string, e.g. "744"; null when empty (taxes, flat items). */
  hours: string | null;
  startAt: Date | null;
  endAt: Date | null;
  /** Decimal string in USD, sign included, never a float: "3.11", "-1.00", "1234.56". */
  amount: string;
  projectName: string | null;
  /** iaas / paas …; null in the older 8-column files. */
  category: string | null;
}

export type InvoiceCsvErrorCode =
  | 'MISSING_HEADER'
  | 'MISSING_COLUMN'
  | 'NUL_IN_HEADER'
  | 'DUPLICATE_COLUMN'
  | 'COLUMN_COUNT'
  | 'EMPTY_VALUE'
  | 'BAD_AMOUNT'
  | 'BAD_HOURS'
  | 'BAD_DATE'
  | 'CSV_SYNTAX';

export class InvoiceCsvError extends Error {
  override readonly name = 'InvoiceCsvError';
  constructor(
    readonly code: InvoiceCsvErrorCode,
    /** What is wrong, without the location. */
    readonly detail: string,
    /** 1-based physical line of the file (where the offending record starts); null for an empty file. */
    readonly line: number | null,
    /** The column as the header spells it, when one column is at fault. */
    readonly column: string | null = null,
    options?: { cause?: unknown },
  ) {
    const where = [line !== null ? `line ${line}` : null, column !== null ? `column "${column}"` : null]
      .filter(Boolean)
      .join(', ');
    super(`Invoice CSV${where ? ` ${where}` : ''}: ${detail}`, options);
  }
}

export type InvoiceCsvSource =
  Readable | AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array> | string | Uint8Array;

export interface ParseInvoiceCsvOptions {
  /** Longest record accepted, in characters, so a missing closing quote cannot swallow the file. */
  maxRecordSize?: number;
}

type ColumnKey =
  'product' | 'group_description' | 'description' | 'hours' | 'start' | 'end' | 'usd' | 'project_name' | 'category';
const KNOWN_COLUMNS: readonly ColumnKey[] = [
  'product',
  'group_description',
  'description',
  'hours',
  'start',
  'end',
  'usd',
  'project_name',
  'category',
];
/** The rest may be absent: `category` is missing from files older than mid-2020, and a file without
 *  hours/start/end/group/project columns still has everything a cost line needs. */
const REQUIRED_COLUMNS: readonly ColumnKey[] = ['product', 'description', 'usd'];

interface Header {
  width: number;
  index: Partial<Record<ColumnKey, number>>;
  /** The header cell as written, for error messages ("USD", not "usd"). */
  label: Partial<Record<ColumnKey, string>>;
}

/** Header cells compare trimmed and case-insensitively; "Group Description" / "group-description" too. */
function columnKey(cell: string): string {
  return cell
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

function readHeader(fields: string[], line: number): Header {
  // A header with a NUL is not a header to guess from: which column it names is unknowable.
  const withNul = fields.findIndex((cell) => cell.includes('\u0000'));
  if (withNul !== -1) {
    const shown = clip(fields[withNul]!.trim().replaceAll('\u0000', '\\0'));
    throw new InvoiceCsvError('NUL_IN_HEADER', `header column ${withNul + 1} ("${shown}") contains a NUL byte`, line);
  }
  const header: Header = { width: fields.length, index: {}, label: {} };
  fields.forEach((cell, position) => {
    const key = columnKey(cell) as ColumnKey;
    if (!KNOWN_COLUMNS.includes(key)) return; // unknown columns are tolerated (DO adds columns over time)
    if (header.index[key] !== undefined) {
      throw new InvoiceCsvError(
        'DUPLICATE_COLUMN',
        `column "${cell.trim()}" appears twice in the header`,
        line,
        cell.trim(),
      );
    }
    header.index[key] = position;
    header.label[key] = cell.trim();
  });
  const missing = REQUIRED_COLUMNS.filter((key) => header.index[key] === undefined);
  if (missing.length > 0) {
    const seen = fields.map((cell) => cell.trim()).join(',');
    throw new InvoiceCsvError(
      'MISSING_COLUMN',
      `header lacks required column${missing.length > 1 ? 's' : ''} ${missing.map((key) => (key === 'usd' ? '"USD"' : `"${key}"`)).join(', ')} (header is "${clip(seen)}")`,
      line,
      missing[0] === 'usd' ? 'USD' : missing[0]!,
    );
  }
  return header;
}

function clip(value: string, max = 80): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

// Module-level helpers rather than closures inside toLine: a 100,000-line file calls them a million times.
function cellOf(fields: string[], header: Header, key: ColumnKey): string | undefined {
  const position = header.index[key];
  return position === undefined ? undefined : fields[position];
}

function optionalText(fields: string[], header: Header, key: ColumnKey): string | null {
  return cellOf(fields, header, key)?.trim() || null;
}

function parsedCell<T>(
  fields: string[],
  header: Header,
  startLine: number,
  key: ColumnKey,
  code: InvoiceCsvErrorCode,
  parseValue: (raw: string) => T,
): T {
  const raw = cellOf(fields, header, key) ?? '';
  try {
    return parseValue(raw);
  } catch (error) {
    if (error instanceof ValueFormatError) {
      throw new InvoiceCsvError(code, error.message, startLine, header.label[key] ?? key, { cause: error });
    }
    throw error;
  }
}

function toLine(record: CsvRecord, header: Header, lineNo: number): InvoiceCsvLine {
  const { fields, startLine } = record;
  if (fields.length !== header.width) {
    throw new InvoiceCsvError('COLUMN_COUNT', `has ${fields.length} fields, the header has ${header.width}`, startLine);
  }
  const product = (cellOf(fields, header, 'product') ?? '').trim();
  if (product === '')
    throw new InvoiceCsvError('EMPTY_VALUE', 'product is empty', startLine, header.label.product ?? 'product');
  return {
    lineNo,
    fileLine: startLine,
    product,
    groupDescription: optionalText(fields, header, 'group_description'),
    description: (cellOf(fields, header, 'description') ?? '').trim(),
    hours: parsedCell(fields, header, startLine, 'hours', 'BAD_HOURS', parseHours),
    startAt: parsedCell(fields, header, startLine, 'start', 'BAD_DATE', parseTimestamp),
    endAt: parsedCell(fields, header, startLine, 'end', 'BAD_DATE', parseTimestamp),
    amount: parsedCell(fields, header, startLine, 'usd', 'BAD_AMOUNT', parseUsdAmount),
    projectName: optionalText(fields, header, 'project_name'),
    category: optionalText(fields, header, 'category'),
  };
}

function toChunks(source: InvoiceCsvSource): AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array> {
  if (typeof source === 'string' || source instanceof Uint8Array) return [source];
  return source; // a Readable is async-iterable; leaving the loop early destroys it
}

/**
 * Parses an invoice CSV lazily, one batch of lines per chunk of the source (the fast path for ingest: one await
 * per chunk). Same validation and errors as parseInvoiceCsv.
 */
export async function* parseInvoiceCsvBatches(
  source: InvoiceCsvSource,
  options: ParseInvoiceCsvOptions = {},
): AsyncGenerator<InvoiceCsvLine[], void, undefined> {
  let header: Header | null = null;
  let lineNo = 0;
  const records = tokenizeCsv(
    toChunks(source),
    options.maxRecordSize !== undefined ? { maxRecordSize: options.maxRecordSize } : {},
  );
  try {
    for await (const batch of records) {
      const lines: InvoiceCsvLine[] = [];
      for (const record of batch) {
        if (record.fields.length === 1 && record.fields[0]!.trim() === '') continue; // blank line
        if (header === null) {
          header = readHeader(record.fields, record.startLine);
          continue;
        }
        lineNo += 1;
        lines.push(toLine(record, header, lineNo));
      }
      if (lines.length > 0) yield lines;
    }
  } catch (error) {
    if (error instanceof CsvSyntaxError) {
      throw new InvoiceCsvError('CSV_SYNTAX', error.message, error.line, null, { cause: error });
    }
    throw error;
  } finally {
    await records.return(undefined);
  }
  if (header === null) throw new InvoiceCsvError('MISSING_HEADER', 'the file is empty (no header row)', null);
}

/**
 * Parses an invoice CSV lazily: each line is validated and yielded as it is read. Throws
 * InvoiceCsvError (with `line`, `column`, `code`) at the first malformed record; errors of the source
 * stream itself propagate unchanged. Breaking out of the loop stops reading and destroys the source.
 */
export async function* parseInvoiceCsv(
  source: InvoiceCsvSource,
  options: ParseInvoiceCsvOptions = {},
): AsyncGenerator<InvoiceCsvLine, void, undefined> {
  for await (const lines of parseInvoiceCsvBatches(source, options)) yield* lines;
}

/** Reads a whole CSV into memory. For tests and small files; ingest should iterate parseInvoiceCsv. */
export async function parseInvoiceCsvToArray(
  source: InvoiceCsvSource,
  options?: ParseInvoiceCsvOptions,
): Promise<InvoiceCsvLine[]> {
  const lines: InvoiceCsvLine[] = [];
  for await (const line of parseInvoiceCsv(source, options)) lines.push(line);
  return lines;
}
