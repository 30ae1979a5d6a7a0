// The streaming CSV tokenizer that replaced csv-parse in the invoice parser: on random files (quoted fields,
// doubled quotes, separators and line breaks inside quotes, malformed quoting) cut into random chunks, it yields
// exactly csv-parse's records, and fails exactly where csv-parse fails. One deliberate difference is pinned too.
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, tokenizeCsv, type CsvRecord } from '../src/jobs/billing/csv-tokenizer.js';

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function tokenize(chunks: Iterable<string | Uint8Array>, maxRecordSize?: number): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for await (const batch of tokenizeCsv(chunks, maxRecordSize ? { maxRecordSize } : {})) records.push(...batch);
  return records;
}

function randomFile(random: () => number): string {
  const eol = random() < 0.5 ? '\n' : '\r\n';
  const atoms = ['a', 'b', ',', '"', ' ', 'é', '""', 'x,y', '$1,234.56', eol];
  const rows: string[] = [];
  const rowCount = 1 + Math.floor(random() * 5);
  for (let r = 0; r < rowCount; r++) {
    const fields: string[] = [];
    const fieldCount = 1 + Math.floor(random() * 5);
    for (let f = 0; f < fieldCount; f++) {
      let value = '';
      for (let k = Math.floor(random() * 4); k > 0; k--) value += atoms[Math.floor(random() * atoms.length)];
      if (random() < 0.5) fields.push(`"${value.replace(/"/g, '""')}"`);
      else fields.push(random() < 0.85 ? value.replace(/[",\r\n]/g, '') : value); // sometimes malformed
    }
    rows.push(fields.join(','));
  }
  return rows.join(eol) + (random() < 0.5 ? eol : '');
}

function cut(text: string, random: () => number, bytes: boolean): Array<string | Uint8Array> {
  const source = bytes ? Buffer.from(text, 'utf8') : text;
  const chunks: Array<string | Uint8Array> = [];
  for (let i = 0; i < source.length;) {
    const n = 1 + Math.floor(random() * 6);
    chunks.push(source.slice(i, i + n));
    i += n;
  }
  return chunks;
}

describe('tokenizeCsv', () => {
  it('agrees with csv-parse on 5,000 random files, whatever the chunking (text or split UTF-8 bytes)', async () => {
    const random = prng(42);
    let failures = 0;
    for (let i = 0; i < 5_000; i++) {
      const text = (random() < 0.1 ? '\uFEFF' : '') + randomFile(random);
      let expected: string[][] | undefined;
      try {
        expected = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: false });
      } catch {
        expected = undefined;
      }
      let actual: string[][] | undefined;
      try {
        actual = (await tokenize(cut(text, random, i % 2 === 0))).map((r) => r.fields);
      } catch (error) {
        expect(error).toBeInstanceOf(CsvSyntaxError);
        actual = undefined;
      }
      if (expected === undefined) failures++;
      expect(actual, JSON.stringify(text)).toEqual(expected);
    }
    expect(failures).toBeGreaterThan(100); // the malformed cases were exercised
  });

  it('numbers records by physical line (a CRLF inside quotes counts once) and reports the line of a bad record', async () => {
    const records = await tokenize(['h1,h2\r\n"a\r\nb",c\r\n\r\nd,"e\nf"\r\nlast,x']);
    expect(records.map((r) => [r.startLine, r.fields])).toEqual([
      [1, ['h1', 'h2']],
      [2, ['a\r\nb', 'c']],
      [4, ['']],
      [5, ['d', 'e\nf']],
      [7, ['last', 'x']],
    ]);
    await expect(tokenize(['a,b\n"x"y,z\n'])).rejects.toMatchObject({ code: 'INVALID_CLOSING_QUOTE', line: 2 });
    await expect(tokenize(['a,b\nc,"never closed\n', 'more\n'])).rejects.toMatchObject({
      code: 'QUOTE_NOT_CLOSED',
      line: 2,
    });
    await expect(tokenize(['a,b\nc,d"e\n'])).rejects.toMatchObject({ code: 'INVALID_OPENING_QUOTE', line: 2 });
    await expect(tokenize(['a,"', 'x'.repeat(2_000)], 1_000)).rejects.toMatchObject({
      code: 'MAX_RECORD_SIZE',
      line: 1,
    });
  });

  it('ends a record at every line ending of a file with mixed endings (csv-parse keeps the odd CR as data)', async () => {
    const records = await tokenize(['a,b\ncategory,iaas\r\nnext,row\n']);
    expect(records.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['category', 'iaas'],
      ['next', 'row'],
    ]);
  });
});
