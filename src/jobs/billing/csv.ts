// Streaming parser for DigitalOcean invoice CSVs (GET /v2/customers/my/invoices/{uuid}/csv).
//
// The file is read record by record through csv-parse (RFC 4180 quoting, BOM stripped), columns are
// found by header name, and every value is validated. A malformed file throws InvoiceCsvError naming
// the line and column; nothing is skipped silently, because a skipped line is money that disappears
// from the invoice without anyone noticing. Only blank lines are passed over (they hold no data).
//
// Memory stays flat: the async iterator pulls records on demand, so csv-parse's object buffer (16
// records) and the source's own buffer are all that is held, whatever the file size.

import { Readable, pipeline } from 'node:stream';
import { CsvError, parse, type Options as CsvParseOptions } from 'csv-parse';
import { parseHours, parseTimestamp, parseUsdAmount, ValueFormatError } from './values.js';

export { parseHours, parseTimestamp, parseUsdAmount, ValueFormatError } from './values.js';

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
    const where = [line !== null ? `line ${line}` : null, column !== null ? `column "${column}"` : null].filter(Boolean).join(', ');
    super(`Invoice CSV${where ? ` ${where}` : ''}: ${detail}`, options);
  }
}

export type InvoiceCsvSource =
  | Readable
  | AsyncIterable<string | Uint8Array>
  | Iterable<string | Uint8Array>
  | string
  | Uint8Array;

export interface ParseInvoiceCsvOptions {
  /** Longest record accepted, in characters, so a missing closing quote cannot swallow the file. */
  maxRecordSize?: number;
}

type ColumnKey = 'product' | 'group_description' | 'description' | 'hours' | 'start' | 'end' | 'usd' | 'project_name' | 'category';
const KNOWN_COLUMNS: readonly ColumnKey[] = ['product', 'group_description', 'description', 'hours', 'start', 'end', 'usd', 'project_name', 'category'];
/** The rest may be absent: `category` is missing from files older than mid-2020, and a file without
 *  hours/start/end/group/project columns still has everything a cost line needs. */
const REQUIRED_COLUMNS: readonly ColumnKey[] = ['product', 'description', 'usd'];

interface Header {
  width: number;
  index: Partial<Record<ColumnKey, number>>;
  /** The header cell as written, for error messages ("USD", not "usd"). */
  label: Partial<Record<ColumnKey, string>>;
}

interface LocatedRecord {
  fields: string[];
  startLine: number;
}

/** Header cells compare trimmed and case-insensitively; "Group Description" / "group-description" too. */
function columnKey(cell: string): string {
  return cell.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

function readHeader(fields: string[], line: number): Header {
  const header: Header = { width: fields.length, index: {}, label: {} };
  fields.forEach((cell, position) => {
    const key = columnKey(cell) as ColumnKey;
    if (!KNOWN_COLUMNS.includes(key)) return; // unknown columns are tolerated (DO adds columns over time)
    if (header.index[key] !== undefined) {
      throw new InvoiceCsvError('DUPLICATE_COLUMN', `column "${cell.trim()}" appears twice in the header`, line, cell.trim());
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

function toLine(record: LocatedRecord, header: Header, lineNo: number): InvoiceCsvLine {
  const { fields, startLine } = record;
  if (fields.length !== header.width) {
    throw new InvoiceCsvError('COLUMN_COUNT', `has ${fields.length} fields, the header has ${header.width}`, startLine);
  }
  const cell = (key: ColumnKey): string | undefined => {
    const position = header.index[key];
    return position === undefined ? undefined : fields[position];
  };
  const optionalText = (key: ColumnKey): string | null => cell(key)?.trim() || null;
  const parsed = <T>(key: ColumnKey, code: InvoiceCsvErrorCode, parseValue: (raw: string) => T): T => {
    const raw = cell(key) ?? '';
    try {
      return parseValue(raw);
    } catch (error) {
      if (error instanceof ValueFormatError) {
        throw new InvoiceCsvError(code, error.message, startLine, header.label[key] ?? key, { cause: error });
      }
      throw error;
    }
  };

  const product = (cell('product') ?? '').trim();
  if (product === '') throw new InvoiceCsvError('EMPTY_VALUE', 'product is empty', startLine, header.label.product ?? 'product');
  return {
    lineNo,
    fileLine: startLine,
    product,
    groupDescription: optionalText('group_description'),
    description: (cell('description') ?? '').trim(),
    hours: parsed('hours', 'BAD_HOURS', parseHours),
    startAt: parsed('start', 'BAD_DATE', parseTimestamp),
    endAt: parsed('end', 'BAD_DATE', parseTimestamp),
    amount: parsed('usd', 'BAD_AMOUNT', parseUsdAmount),
    projectName: optionalText('project_name'),
    category: optionalText('category'),
  };
}

/** Line breaks in a record's raw text: CRLF counts once, lone CR or LF once each. csv-parse's own
 *  `lines` counter counts a CRLF inside a quoted field twice, so physical lines are counted here. */
function countLineBreaks(raw: string): number {
  let count = 0;
  for (let i = 0; i < raw.length; i++) {
    const char = raw.charCodeAt(i);
    if (char === 10) count++;
    else if (char === 13) {
      count++;
      if (raw.charCodeAt(i + 1) === 10) i++;
    }
  }
  return count;
}

const SYNTAX_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by something other than a delimiter (quotes inside a field must be doubled)',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a closing quote is followed by something other than a delimiter',
  CSV_MAX_RECORD_SIZE: 'the record is too large (an unclosed quote?)',
};

function toReadable(source: InvoiceCsvSource): Readable {
  if (source instanceof Readable) return source;
  if (typeof source === 'string' || source instanceof Uint8Array) return Readable.from([source]);
  return Readable.from(source);
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
  // Physical line where the next record starts. on_record runs inside the parser, before buffering,
  // so when csv-parse fails this still points at the record it failed on.
  let nextLine = 1;
  const csvOptions: CsvParseOptions<LocatedRecord, { record: string[] }> = {
    bom: true,
    raw: true,
    relax_column_count: true, // the count is checked here, against the header, with a clearer message
    skip_empty_lines: false, // counted here, so line numbers stay physical
    max_record_size: options.maxRecordSize ?? 1_000_000,
    // With `raw: true` the record arrives as { record, raw }.
    on_record: ({ record }, context) => {
      const startLine = nextLine;
      nextLine += countLineBreaks(context.raw ?? '');
      return { fields: record, startLine };
    },
  };
  // csv-parse types on_record as returning string[]; ours returns LocatedRecord, read back below.
  const parser = parse(csvOptions as unknown as CsvParseOptions);
  // Errors reach the loop below through the parser (pipeline destroys it with the source's error).
  pipeline(toReadable(source), parser, () => {});

  let header: Header | null = null;
  let lineNo = 0;
  try {
    for await (const record of parser as AsyncIterable<LocatedRecord>) {
      if (record.fields.length === 1 && record.fields[0]!.trim() === '') continue; // blank line
      if (header === null) {
        header = readHeader(record.fields, record.startLine);
        continue;
      }
      lineNo += 1;
      yield toLine(record, header, lineNo);
    }
  } catch (error) {
    if (error instanceof CsvError) {
      throw new InvoiceCsvError('CSV_SYNTAX', SYNTAX_PROBLEMS[error.code] ?? error.message, nextLine, null, { cause: error });
    }
    throw error;
  } finally {
    if (!parser.destroyed) parser.destroy();
  }
  if (header === null) throw new InvoiceCsvError('MISSING_HEADER', 'the file is empty (no header row)', null);
}

/** Reads a whole CSV into memory. For tests and small files; ingest should iterate parseInvoiceCsv. */
export async function parseInvoiceCsvToArray(source: InvoiceCsvSource, options?: ParseInvoiceCsvOptions): Promise<InvoiceCsvLine[]> {
  const lines: InvoiceCsvLine[] = [];
  for await (const line of parseInvoiceCsv(source, options)) lines.push(line);
  return lines;
}
