// A streaming RFC 4180 tokenizer: text chunks in, batches of records (fields + physical start line) out.
//
// Why not csv-parse: at 100,000 invoice lines csv-parse (with the `raw`/`on_record` hooks the line numbering
// needs) spent ~0.5 s of CPU per invoice, as much as PostgreSQL takes to store the lines, and allocated enough to
// keep the collector busy. This tokenizer scans with indexOf and charCodeAt, slices each field once, and
// counts physical lines itself (CRLF once, lone CR or LF once, including inside quoted fields).
//
// Dialect (what csv-parse does with `bom: true` and default options):
// - a UTF-8 BOM at the very start is dropped; records end at CRLF, LF or a lone CR (one deliberate difference:
//   csv-parse locks onto the first line ending it sees and keeps any other CR as data, so a file with mixed
//   endings would get "iaas\r" categories; here every line ending ends a record);
// - a field that starts with `"` is quoted: `""` inside it is one quote, separators and line breaks are data;
//   after the closing quote only a comma, a line break or the end of the file may follow (INVALID_CLOSING_QUOTE);
// - a quote inside an unquoted field is an error (INVALID_OPENING_QUOTE); fields are not trimmed;
// - an empty line is a record with one empty field (the caller decides to skip it);
// - a record (or an unclosed quoted field) longer than `maxRecordSize` characters is an error (MAX_RECORD_SIZE),
//   so a missing closing quote cannot make the tokenizer buffer the whole file.

import { StringDecoder } from 'node:string_decoder';

export interface CsvRecord {
  fields: string[];
  /** 1-based physical line where the record starts. */
  startLine: number;
}

export type CsvSyntaxCode = 'QUOTE_NOT_CLOSED' | 'INVALID_CLOSING_QUOTE' | 'INVALID_OPENING_QUOTE' | 'MAX_RECORD_SIZE';

export class CsvSyntaxError extends Error {
  override readonly name = 'CsvSyntaxError';
  constructor(
    readonly code: CsvSyntaxCode,
    message: string,
    /** Physical line where the offending record starts. */
    readonly line: number,
  ) {
    super(message);
  }
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/** Line breaks in a field's text: CRLF once, lone CR or LF once each. */
function countLineBreaks(text: string): number {
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) return 0;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === LF) count++;
    else if (char === CR) {
      count++;
      if (text.charCodeAt(i + 1) === LF) i++;
    }
  }
  return count;
}

/** Turns chunks into records; a record cut by a chunk boundary waits in `tail` for the next chunk. */
class Tokenizer {
  /** Unconsumed text: the start of a record that has not been completed yet. */
  private tail = '';
  /** Physical line at the start of `tail`. */
  private line = 1;
  private started = false;
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly maxRecordSize: number) {}

  push(chunk: string | Uint8Array, out: CsvRecord[]): void {
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.parse(this.tail.length > 0 ? this.tail + text : text, false, out);
  }

  end(out: CsvRecord[]): void {
    const rest = this.decoder.end();
    const text = this.tail + rest;
    if (text.length > 0) this.parse(text, true, out);
    this.tail = '';
  }

  private parse(text: string, final: boolean, out: CsvRecord[]): void {
    const length = text.length;
    let pos = 0;
    while (pos < length) {
      const start = pos;
      const startLine = this.line;
      const fields: string[] = [];
      let breaks = 0;
      let complete = false;
      for (;;) {
        if (pos < length && text.charCodeAt(pos) === QUOTE) {
          // Quoted field.
          let value = '';
          let segment = pos + 1;
          let search = segment;
          let closed = -1;
          for (;;) {
            const quote = text.indexOf('"', search);
            if (quote === -1) break;
            if (quote + 1 < length && text.charCodeAt(quote + 1) === QUOTE) {
              value += text.slice(segment, quote + 1);
              segment = search = quote + 2;
              continue;
            }
            if (quote + 1 >= length && !final) break; // a doubled quote may follow in the next chunk
            value += text.slice(segment, quote);
            closed = quote;
            break;
          }
          if (closed === -1) {
            if (final) throw new CsvSyntaxError('QUOTE_NOT_CLOSED', 'a quoted field is never closed', startLine);
            this.keep(text, start, startLine);
            return;
          }
          breaks += countLineBreaks(value);
          fields.push(value);
          pos = closed + 1;
          if (pos >= length) {
            if (!final) {
              this.keep(text, start, startLine);
              return;
            }
            complete = true;
            break;
          }
          const next = text.charCodeAt(pos);
          if (next === COMMA) {
            pos++;
            continue;
          }
          if (next === LF || next === CR) {
            if (next === CR && pos + 1 >= length && !final) {
              this.keep(text, start, startLine);
              return;
            }
            pos += next === CR && text.charCodeAt(pos + 1) === LF ? 2 : 1;
            breaks++;
            complete = true;
            break;
          }
          throw new CsvSyntaxError(
            'INVALID_CLOSING_QUOTE',
            'a closing quote is followed by something other than a delimiter (quotes inside a field must be doubled)',
            startLine,
          );
        }
        // Unquoted field: up to the next comma or line break.
        let end = pos;
        let char = 0;
        while (end < length) {
          char = text.charCodeAt(end);
          if (char === COMMA || char === LF || char === CR) break;
          if (char === QUOTE) {
            throw new CsvSyntaxError(
              'INVALID_OPENING_QUOTE',
              'a quote appears inside a field that does not start with one',
              startLine,
            );
          }
          end++;
        }
        if (end >= length) {
          if (!final) {
            this.keep(text, start, startLine);
            return;
          }
          fields.push(text.slice(pos, end));
          pos = end;
          complete = true;
          break;
        }
        fields.push(text.slice(pos, end));
        if (char === COMMA) {
          pos = end + 1;
          continue;
        }
        if (char === CR && end + 1 >= length && !final) {
          this.keep(text, start, startLine);
          return;
        }
        pos = end + (char === CR && text.charCodeAt(end + 1) === LF ? 2 : 1);
        breaks++;
        complete = true;
        break;
      }
      if (complete) {
        if (pos - start > this.maxRecordSize) {
          throw new CsvSyntaxError('MAX_RECORD_SIZE', 'the record is too large (an unclosed quote?)', startLine);
        }
        out.push({ fields, startLine });
        this.line += breaks;
      }
    }
    this.tail = '';
  }

  /** Keeps `text[start..]` for the next chunk (an incomplete record), refusing to keep more than a record may be. */
  private keep(text: string, start: number, startLine: number): void {
    this.tail = start === 0 ? text : text.slice(start);
    if (this.tail.length > this.maxRecordSize) {
      throw new CsvSyntaxError('MAX_RECORD_SIZE', 'the record is too large (an unclosed quote?)', startLine);
    }
  }
}

/**
 * Tokenizes a stream of text or bytes. Yields the records of each chunk as one batch (one await per chunk, not
 * per record). Errors of the source propagate unchanged; returning early stops reading the source.
 */
export async function* tokenizeCsv(
  source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: { maxRecordSize?: number } = {},
): AsyncGenerator<CsvRecord[], void, undefined> {
  const tokenizer = new Tokenizer(options.maxRecordSize ?? 1_000_000);
  for await (const chunk of source) {
    const out: CsvRecord[] = [];
    tokenizer.push(chunk, out);
    if (out.length > 0) yield out;
  }
  const out: CsvRecord[] = [];
  tokenizer.end(out);
  if (out.length > 0) yield out;
}
