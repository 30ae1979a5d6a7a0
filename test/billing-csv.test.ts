import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  InvoiceCsvError,
  parseHours,
  parseInvoiceCsv,
  parseInvoiceCsvToArray,
  parseTimestamp,
  parseUsdAmount,
  type InvoiceCsvLine,
} from '../src/jobs/billing/csv.js';

const HEADER = 'product,group_description,description,hours,start,end,USD,project_name,category';
const crlf = (...lines: string[]): string => lines.join('\r\n') + '\r\n';

/** Every quirk at once: BOM, CRLF, RFC 4180 quoting (commas, doubled quotes, a line break inside a
 *  field), thousands separators, both negative spellings and parentheses, empty hours, +0000 and other
 *  offsets, RFC 3339, a blank line, header cells with odd case and spaces. */
const QUIRKY =
  '\uFEFF' +
  crlf(
    ' Product ,Group_Description,description,HOURS,start,end, usd ,project_name,Category',
    'Floating IPs,,Unused Floating IP - 1.1.1.1,100,2020-07-01 00:00:00 +0000,2020-07-22 18:14:39 +0000,$3.11,,iaas',
    'Taxes,,"STATE SALES TAX (6.25%), ""county"" part",,2020-07-01 00:00:00 +0000,2020-07-31 23:59:59 +0000,$0.16,,iaas',
    'Droplets,,"big, ""quoted"" (s-32vcpu-64gb)",744,2020-07-01 00:00:00 +0000,2020-08-01 00:00:00 +0000,"$1,234.56",web,iaas',
    'Credits,,Promo credit,,2020-07-01 00:00:00 +0000,2020-07-31 23:59:59 +0000,-$1.00,,',
    '',
    'Credits,,Other credit,,2020-07-01 00:00:00 +0530,2020-07-31T23:59:59Z,$-1.00,,',
    'Adjustments,,"line one\r\nline two",,2020-07-01T00:00:00.250-04:00,,($2.50),,paas',
    'Kubernetes Clusters,my-doks,pool-1 (s-2vcpu-4gb),"1,488",2020-07-01 00:00:00 +0000,2020-07-31 23:59:59 +0000,"$12,345,678.901234",prod,paas',
  );

describe('parseInvoiceCsv: quirks', () => {
  it('parses a file with every quirk', async () => {
    const lines = await parseInvoiceCsvToArray(QUIRKY);
    expect(lines).toHaveLength(7);
    const [ip, tax, droplet, credit1, credit2, adjustment, doks] = lines as [
      InvoiceCsvLine,
      InvoiceCsvLine,
      InvoiceCsvLine,
      InvoiceCsvLine,
      InvoiceCsvLine,
      InvoiceCsvLine,
      InvoiceCsvLine,
    ];

    expect(ip).toEqual({
      lineNo: 1,
      fileLine: 2,
      product: 'Floating IPs',
      groupDescription: null,
      description: 'Unused Floating IP - 1.1.1.1',
      hours: '100',
      startAt: new Date('2020-07-01T00:00:00Z'),
      endAt: new Date('2020-07-22T18:14:39Z'),
      amount: '3.11',
      projectName: null,
      category: 'iaas',
    });
    expect(tax.description).toBe('STATE SALES TAX (6.25%), "county" part');
    expect(tax.hours).toBeNull();
    expect(tax.amount).toBe('0.16');
    expect(droplet.description).toBe('big, "quoted" (s-32vcpu-64gb)');
    expect(droplet.amount).toBe('1234.56');
    expect(droplet.projectName).toBe('web');
    expect(credit1.amount).toBe('-1.00');
    expect(credit1.category).toBeNull();
    // The blank line is passed over but still counted in physical line numbers.
    expect(credit2.lineNo).toBe(5);
    expect(credit2.fileLine).toBe(7);
    expect(credit2.amount).toBe('-1.00');
    expect(credit2.startAt).toEqual(new Date('2020-06-30T18:30:00Z'));
    expect(credit2.endAt).toEqual(new Date('2020-07-31T23:59:59Z'));
    expect(adjustment.description).toBe('line one\r\nline two');
    expect(adjustment.amount).toBe('-2.50');
    expect(adjustment.startAt).toEqual(new Date('2020-07-01T04:00:00.250Z'));
    expect(adjustment.endAt).toBeNull();
    // The record above spans two physical lines.
    expect(doks.fileLine).toBe(10);
    expect(doks.groupDescription).toBe('my-doks');
    expect(doks.hours).toBe('1488');
    expect(doks.amount).toBe('12345678.901234');
  });

  it('gives the same result when the bytes arrive one at a time (BOM, CRLF, UTF-8 split across chunks)', async () => {
    const text = QUIRKY.replace('web', 'wéb');
    const bytes = Buffer.from(text, 'utf8');
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    const whole = await parseInvoiceCsvToArray(text);
    const bytewise = await parseInvoiceCsvToArray(Readable.from(chunks));
    expect(bytewise).toEqual(whole);
    expect(bytewise[2]!.projectName).toBe('wéb');
  });

  it('accepts the older 8-column header (no category) and LF endings', async () => {
    const csv = [
      'product,group_description,description,hours,start,end,USD,project_name',
      'Volumes,,volume-sfo2-01 (sfo2) 100GB,744,2019-01-01 00:00:00 +0000,2019-01-31 23:59:59 +0000,$10.00,',
      'Droplets,,eth (s-4vcpu-8gb),744,2019-01-01 00:00:00 +0000,2019-02-01 00:00:00 +0000,$40.00,',
      '',
    ].join('\n');
    const lines = await parseInvoiceCsvToArray(csv);
    expect(lines.map((l) => [l.product, l.description, l.amount, l.category, l.projectName])).toEqual([
      ['Volumes', 'volume-sfo2-01 (sfo2) 100GB', '10.00', null, null],
      ['Droplets', 'eth (s-4vcpu-8gb)', '40.00', null, null],
    ]);
  });

  it('finds columns by name, not position, and ignores unknown columns', async () => {
    const csv = ['USD,description,extra,product', '$5.00,"a, b",whatever,Droplets'].join('\n');
    const [line] = await parseInvoiceCsvToArray(csv);
    expect(line).toMatchObject({
      product: 'Droplets',
      description: 'a, b',
      amount: '5.00',
      hours: null,
      startAt: null,
      category: null,
    });
  });

  it('yields nothing for a header-only file', async () => {
    expect(await parseInvoiceCsvToArray(`${HEADER}\r\n`)).toEqual([]);
  });

  it('accepts an async iterable of strings', async () => {
    // eslint-disable-next-line @typescript-eslint/require-await -- an async source on purpose: what the test is about
    async function* source() {
      yield `${HEADER}\n`;
      yield 'Droplets,,a (s),1,2020-07-01 00:00:00 +0000,2020-07-01 01:00:00 +0000,$0.01,,iaas\n';
    }
    const lines = await parseInvoiceCsvToArray(source());
    expect(lines).toHaveLength(1);
    expect(lines[0]!.amount).toBe('0.01');
  });
});

async function parseError(csv: string | Readable): Promise<InvoiceCsvError> {
  try {
    await parseInvoiceCsvToArray(csv);
  } catch (error) {
    expect(error).toBeInstanceOf(InvoiceCsvError);
    return error as InvoiceCsvError;
  }
  throw new Error('expected the CSV to be rejected');
}

const GOOD_ROW = 'Droplets,,web (s-1vcpu-1gb),744,2020-07-01 00:00:00 +0000,2020-08-01 00:00:00 +0000,$5.00,,iaas';

describe('parseInvoiceCsv: malformed files throw with line and column', () => {
  it.each([
    [
      'missing USD column',
      'product,group_description,description,hours,start,end,project_name,category\nDroplets,,a,1,,,,',
      'MISSING_COLUMN',
      1,
      'USD',
    ],
    ['missing product column', 'group_description,description,USD\n,a,$1.00', 'MISSING_COLUMN', 1, 'product'],
    ['missing description column', 'product,USD\nDroplets,$1.00', 'MISSING_COLUMN', 1, 'description'],
    ['duplicate column', 'product,description,USD,usd\nDroplets,a,$1.00,$1.00', 'DUPLICATE_COLUMN', 1, 'usd'],
    [
      'bad amount',
      `${HEADER}\n${GOOD_ROW}\nDroplets,,web,744,2020-07-01 00:00:00 +0000,,$abc,,iaas`,
      'BAD_AMOUNT',
      3,
      'USD',
    ],
    ['empty amount', `${HEADER}\n${GOOD_ROW}\n${GOOD_ROW}\nDroplets,,web,744,,,,,iaas`, 'BAD_AMOUNT', 4, 'USD'],
    ['two signs', `${HEADER}\nCredits,,x,,,,-$-1.00,,`, 'BAD_AMOUNT', 2, 'USD'],
    ['misplaced thousands separator', `${HEADER}\nDroplets,,x,,,,"$12,34.00",,`, 'BAD_AMOUNT', 2, 'USD'],
    ['sub-micro amount', `${HEADER}\nDroplets,,x,,,,$0.0000001,,`, 'BAD_AMOUNT', 2, 'USD'],
    ['bad date', `${HEADER}\nDroplets,,x,1,2020-07-01,2020-07-02 00:00:00 +0000,$1.00,,`, 'BAD_DATE', 2, 'start'],
    [
      'impossible date',
      `${HEADER}\nDroplets,,x,1,2020-07-01 00:00:00 +0000,2021-02-29 00:00:00 +0000,$1.00,,`,
      'BAD_DATE',
      2,
      'end',
    ],
    ['bad hours', `${HEADER}\nDroplets,,x,many,,,$1.00,,`, 'BAD_HOURS', 2, 'hours'],
    ['empty product', `${HEADER}\n${GOOD_ROW}\n,,x,1,,,$1.00,,`, 'EMPTY_VALUE', 3, 'product'],
    ['too few columns', `${HEADER}\n${GOOD_ROW}\nDroplets,,x,1,,,$1.00,`, 'COLUMN_COUNT', 3, null],
    ['too many columns', `${HEADER}\nDroplets,,x,1,,,$1.00,,iaas,extra`, 'COLUMN_COUNT', 2, null],
    ['unclosed quote', `${HEADER}\n${GOOD_ROW}\nDroplets,,"x,1,,,$1.00,,iaas\n${GOOD_ROW}`, 'CSV_SYNTAX', 3, null],
    ['stray text after a closing quote', `${HEADER}\nDroplets,,"x"y,1,,,$1.00,,iaas`, 'CSV_SYNTAX', 2, null],
  ])('%s', async (_name, csv, code, line, column) => {
    const error = await parseError(csv);
    expect(error.code).toBe(code);
    expect(error.line).toBe(line);
    expect(error.column).toBe(column);
    expect(error.message).toContain(`line ${line}`);
    // The message names the column exactly when the error has one.
    expect(/column "([^"]+)"/.exec(error.message)?.[1] ?? null).toBe(column);
  });

  it('rejects an empty file', async () => {
    const error = await parseError('');
    expect(error.code).toBe('MISSING_HEADER');
  });

  it('counts physical lines correctly after a CRLF inside a quoted field (csv-parse counts it twice)', async () => {
    const csv = crlf(HEADER, 'Droplets,,"two\r\nlines",1,,,$1.00,,iaas', 'Droplets,,x,1,,,$nope,,iaas');
    const error = await parseError(csv);
    expect(error.code).toBe('BAD_AMOUNT');
    expect(error.line).toBe(4);
    const syntax = await parseError(
      crlf(HEADER, 'Droplets,,"two\r\nlines",1,,,$1.00,,iaas', 'Droplets,,"x"y,1,,,$1.00,,iaas'),
    );
    expect(syntax.code).toBe('CSV_SYNTAX');
    expect(syntax.line).toBe(4);
  });

  it('lets an error of the source stream through unchanged', async () => {
    // eslint-disable-next-line @typescript-eslint/require-await -- an async source on purpose: its error must reach the parser as a rejection
    async function* failing() {
      yield `${HEADER}\n${GOOD_ROW}\n`;
      throw new Error('connection reset');
    }
    await expect(parseInvoiceCsvToArray(failing())).rejects.toThrow('connection reset');
  });

  it('stops reading the source when the consumer stops', async () => {
    let produced = 0;
    // eslint-disable-next-line @typescript-eslint/require-await -- an async source on purpose, as a network body is
    async function* endless() {
      yield `${HEADER}\n`;
      for (;;) {
        produced++;
        yield `${GOOD_ROW}\n`;
      }
    }
    const source = Readable.from(endless());
    let seen = 0;
    for await (const _line of parseInvoiceCsv(source)) {
      if (++seen === 10) break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.destroyed).toBe(true);
    expect(produced).toBeLessThan(1_000);
  });
});

describe('parseInvoiceCsv: streaming', () => {
  it('parses 100,000 lines with flat memory (the source is never far ahead of the consumer)', async () => {
    const total = 100_000;
    let produced = 0;
    // eslint-disable-next-line @typescript-eslint/require-await -- an async source on purpose, as a network body is
    async function* generate() {
      yield '\uFEFF' + HEADER + '\r\n';
      for (let i = 0; i < total; i += 100) {
        let chunk = '';
        for (let j = i; j < i + 100; j++) {
          chunk += `Droplets,,"web-${j}, ""x"" (s-1vcpu-1gb)",744,2020-07-01 00:00:00 +0000,2020-08-01 00:00:00 +0000,"$1,000.0${j % 10}",proj,iaas\r\n`;
        }
        produced += 100;
        yield chunk;
      }
    }

    // A collector on demand, so the heap check measures what is retained, not uncollected garbage.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let count = 0;
    let maxLead = 0;
    let cents = 0n;
    for await (const line of parseInvoiceCsv(generate())) {
      count++;
      cents += BigInt(line.amount.replace('.', ''));
      maxLead = Math.max(maxLead, produced - count);
      if (count % 20_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
      if (count === total) expect(line.lineNo).toBe(total);
    }
    expect(count).toBe(total);
    expect(cents).toBe(100_000n * 100_000n + 45n * 10_000n); // 1000.00..1000.09 each 10,000 times
    // Backpressure: the generator may only run a few chunks ahead of the consumer.
    expect(maxLead).toBeLessThan(5_000);
    // Loose heap check: holding the 100,000 parsed lines takes about 100 MB; streaming retains ~nothing.
    expect(peak - baseline).toBeLessThan(20 * 1024 * 1024);
  });
});

describe('value parsers', () => {
  it.each([
    ['$3.11', '3.11'],
    ['$1,234.56', '1234.56'],
    ['-$1.00', '-1.00'],
    ['$-1.00', '-1.00'],
    ['- $ 1.00', '-1.00'],
    ['($2.50)', '-2.50'],
    ['12.34', '12.34'],
    ['$5', '5.00'],
    ['$0.000001', '0.000001'],
    ['$1.2300000', '1.23'],
    ['-$0.00', '0.00'],
    ['+$7.10', '7.10'],
    [' $ 9.99 ', '9.99'],
  ])('amount %s → %s', (raw, expected) => {
    expect(parseUsdAmount(raw)).toBe(expected);
  });

  it.each(['', '   ', '$', 'abc', '$1.2.3', '1,23', '($-1.00)', '-$-1.00', '$1.0000001', '€1.00', '$1e3'])(
    'amount %j is rejected',
    (raw) => {
      expect(() => parseUsdAmount(raw)).toThrow();
    },
  );

  it.each([
    ['2020-07-01 00:00:00 +0000', '2020-07-01T00:00:00.000Z'],
    ['2020-07-01 02:00:00 +0200', '2020-07-01T00:00:00.000Z'],
    ['2020-07-01 00:00:00 -05:30', '2020-07-01T05:30:00.000Z'],
    ['2020-07-01T00:00:00Z', '2020-07-01T00:00:00.000Z'],
    ['2020-07-01T00:00:00.123456Z', '2020-07-01T00:00:00.123Z'],
    ['2024-02-29 23:59:59 +0000', '2024-02-29T23:59:59.000Z'],
  ])('date %s → %s', (raw, iso) => {
    expect(parseTimestamp(raw)?.toISOString()).toBe(iso);
  });

  it.each([
    '2020-07-01',
    '2020-07-01 00:00:00',
    '2020-13-01 00:00:00 +0000',
    '2023-02-29 00:00:00 +0000',
    '2020-07-01 24:00:00 +0000',
    '07/01/2020 00:00:00 +0000',
  ])('date %j is rejected', (raw) => {
    expect(() => parseTimestamp(raw)).toThrow();
  });

  it('parses hours', () => {
    expect(parseHours('')).toBeNull();
    expect(parseHours(' 744 ')).toBe('744');
    expect(parseHours('1,488')).toBe('1488');
    expect(parseHours('100.50')).toBe('100.50');
    expect(parseHours('007')).toBe('7');
    expect(() => parseHours('12h')).toThrow();
  });
});
