// Text PostgreSQL refuses (NUL, unpaired surrogates): cleaned and counted, in error texts, inventory rows and
// invoice CSV headers. Pure functions; the database side is in ingest-integrity.test.ts.
import { describe, expect, it } from 'vitest';
import { cleanText, TextCleaner } from '../src/jobs/clean-text.js';
import { errorText } from '../src/jobs/run.js';
import { normalizeDroplet, normalizeProject } from '../src/jobs/inventory/normalize.js';
import { InvoiceCsvError, parseInvoiceCsvToArray } from '../src/jobs/billing/csv.js';

describe('cleanText', () => {
  it('removes NUL and replaces unpaired surrogates; leaves pairs and clean text alone', () => {
    expect(cleanText('a\u0000b\u0000')).toBe('ab');
    expect(cleanText('x\uD800y')).toBe('x\uFFFDy');
    expect(cleanText('\uDC00x')).toBe('\uFFFDx');
    expect(cleanText('ok 😀')).toBe('ok 😀');
    const plain = 'plain text';
    expect(cleanText(plain)).toBe(plain);
  });

  it('TextCleaner counts cleaned values and values holding U+FFFD, keys included, and keeps dates', () => {
    const cleaner = new TextCleaner();
    const at = new Date('2026-01-01T00:00:00Z');
    const out = cleaner.deep({ 'k\u0000': ['v\u0000', 'fine', 'bad \uFFFD'], at, n: 1, nested: { s: '\uD83D' } });
    expect(out).toEqual({ k: ['v', 'fine', 'bad \uFFFD'], at, n: 1, nested: { s: '\uFFFD' } });
    expect(out.at).toBe(at);
    expect(cleaner.counts()).toEqual({ cleanedValues: 3, replacementCharacterValues: 2 });
    expect(new TextCleaner().counts()).toEqual({});
  });
});

describe('errorText: recording a failure never fails on its message', () => {
  it('strips NUL and unpaired surrogates, and bounds the length without splitting a pair', () => {
    expect(errorText(new Error('invalid header "US\u0000D"'))).toBe('invalid header "USD"');
    expect(errorText('lone \uDFFF')).toBe('lone \uFFFD');
    const long = errorText(`${'x'.repeat(1999)}😀 and more`);
    expect(long).toHaveLength(2000);
    expect(long.endsWith('\uFFFD')).toBe(true);
    expect(errorText('a'.repeat(5000))).toHaveLength(2000);
  });

  it('never throws: an unprintable value or a failing redact still gives a text', () => {
    const hostile = {
      toString(): string {
        throw new Error('no');
      },
    };
    expect(errorText(hostile)).toBe('the error could not be described');
    expect(
      errorText(new Error('x'), () => {
        throw new Error('redact failed');
      }),
    ).toBe('the error could not be described');
    expect(errorText(new Error('token dop_v1_abc'), (t) => t.replace(/dop_v1_\w+/g, '[redacted]'))).toBe(
      'token [redacted]',
    );
  });
});

describe('normalizers clean what PostgreSQL refuses and count it', () => {
  it('a droplet with a NUL in its name, a tag and an attrs value', () => {
    const row = normalizeDroplet({
      id: 7,
      name: 'web\u0000-1',
      tags: ['a\u0000', 'b'],
      image: { name: 'img\uD800' },
      created_at: '2026-01-01T00:00:00Z',
    });
    expect(row).toMatchObject({ providerId: '7', name: 'web-1', tags: ['a', 'b'], cleanedValues: 3 });
    expect(row.attrs.image_name).toBe('img\uFFFD');
    expect(row.providerCreatedAt).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(normalizeDroplet({ id: 8, name: 'clean' })).not.toHaveProperty('cleanedValues');
  });

  it('a project with a NUL in its description', () => {
    expect(normalizeProject({ id: 'p', name: 'p', description: 'd\u0000' })).toMatchObject({
      description: 'd',
      cleanedValues: 1,
    });
  });
});

describe('an invoice CSV header with a NUL byte', () => {
  it('is refused, naming the column by its position', async () => {
    const csv = 'product,group_description,description,hours,start,end,U\u0000SD,project_name,category\n';
    const error = await parseInvoiceCsvToArray(csv).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvoiceCsvError);
    expect(error).toMatchObject({ code: 'NUL_IN_HEADER', line: 1 });
    expect((error as Error).message).toBe('Invoice CSV line 1: header column 7 ("U\\0SD") contains a NUL byte');
  });
});
