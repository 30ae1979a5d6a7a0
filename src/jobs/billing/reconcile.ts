// How the two sources of an invoice's lines are reconciled. Pure.
//
// The CSV is the LINE SET whenever DigitalOcean serves it: it is the invoice document itself, it comes in one
// request and it streams (a 100,000-line invoice is parsed and stored without being held in memory). Its lines
// carry no resource ids, though, and the JSON items do (`resource_uuid`, `resource_id`). So, when the invoice's
// JSON items fit a budget (default 10,000 items = 50 pages of 200, a quarter of a minute's API allowance), they
// are fetched FIRST and indexed here, and every CSV line takes the ids of the JSON item it corresponds to:
//
//   exact key  = product, group description, description, amount, project name, start time
//   loose key  = the same without the start time (for CSV/JSON timestamp spellings that disagree)
//
// Each JSON item is used once, in order (FIFO per key). Several lines with the same key are identical in every
// billed field, so whichever of them takes which id, every resource is attributed the same lines and amounts.
// CSV lines without a partner are matched by (kind, name); JSON items without a partner are counted (with their
// amount) in the invoice summary as a cross-check, never inserted: the CSV is authoritative.
//
// Without a CSV (404: not offered, e.g. for a preview), the JSON items ARE the line set (source `json`). Over
// the budget, the JSON items are skipped and lines are matched by name alone (recorded in the summary).
// A JSON item whose values cannot be read (jsonItemToLine throws) is set aside by the ingest: beside a CSV it only
// loses its ids, without a CSV it fails the invoice (dropping it would lose its money).
import type { InvoiceItem } from '../../digitalocean/types.js';
import type { InvoiceCsvLine } from './csv.js';
import { decimalToMicros, microsToDecimal } from '../../domain/decimal.js';
import { parseHours, parseTimestamp, parseUsdAmount, ValueFormatError } from './values.js';

/** One invoice line from either source (the CSV's fields, less its file position), before classification and matching. */
export interface SourceLine extends Omit<InvoiceCsvLine, 'fileLine'> {
  source: 'csv' | 'json';
  resourceUuid: string | null;
  resourceProviderId: string | null;
}

export class InvoiceItemError extends Error {
  override readonly name = 'InvoiceItemError';
  constructor(
    readonly index: number,
    detail: string,
  ) {
    super(`Invoice item ${index}: ${detail}`);
  }
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const scalar = typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean';
  const out = (typeof value === 'string' ? value : scalar ? String(value) : (JSON.stringify(value) ?? '')).trim();
  return out === '' ? null : out;
}

/** A JSON invoice item as a line (`lineNo` is its 1-based position). Throws InvoiceItemError for bad values. */
export function jsonItemToLine(item: InvoiceItem, lineNo: number): SourceLine {
  const product = text(item.product);
  if (product === null) throw new InvoiceItemError(lineNo, 'product is empty');
  try {
    const unit = text(item.duration_unit)?.toLowerCase() ?? null;
    // Only hours go into the hours column; other units (or none) leave it empty.
    const hours = unit === null || unit === 'hours' || unit === 'hour' ? parseHours(text(item.duration) ?? '') : null;
    return {
      lineNo,
      source: 'json',
      product,
      groupDescription: text(item.group_description),
      description: text(item.description) ?? '',
      hours,
      startAt: parseTimestamp(text(item.start_time) ?? ''),
      endAt: parseTimestamp(text(item.end_time) ?? ''),
      amount: parseUsdAmount(text(item.amount) ?? ''),
      projectName: text(item.project_name),
      category: text(item.category),
      resourceUuid: text(item.resource_uuid),
      resourceProviderId: text(item.resource_id),
    };
  } catch (error) {
    if (error instanceof ValueFormatError) throw new InvoiceItemError(lineNo, error.message);
    throw error;
  }
}

type KeyedLine = Pick<
  SourceLine,
  'product' | 'groupDescription' | 'description' | 'amount' | 'projectName' | 'startAt'
>;

const squash = (value: string | null): string => (value ?? '').replace(/\s+/g, ' ').trim();
const SEP = '\u0000';

function looseKey(line: KeyedLine): string {
  return [
    squash(line.product),
    squash(line.groupDescription),
    squash(line.description),
    line.amount,
    squash(line.projectName),
  ].join(SEP);
}

function exactKey(line: KeyedLine, loose: string): string {
  return `${loose}${SEP}${line.startAt ? line.startAt.getTime() : ''}`;
}

interface IndexedItem {
  resourceUuid: string | null;
  resourceProviderId: string | null;
  amount: string;
  used: boolean;
}

export interface ReconciliationStats {
  /** JSON items indexed. */
  jsonItems: number;
  /** CSV lines that found their JSON item. */
  joined: number;
  /** CSV lines without a JSON item. */
  csvOnly: number;
  /** JSON items no CSV line claimed, and their total. */
  jsonOnly: number;
  jsonOnlyAmount: string;
}

/** JSON items indexed by reconciliation key; `enrich` gives a CSV line the ids of its JSON partner. */
export class JsonItemIndex {
  private readonly exact = new Map<string, Queue>();
  private readonly loose = new Map<string, Queue>();
  private readonly items: IndexedItem[] = [];
  private joined = 0;
  private csvOnly = 0;

  constructor(lines: Iterable<SourceLine>) {
    for (const line of lines) {
      const item: IndexedItem = {
        resourceUuid: line.resourceUuid,
        resourceProviderId: line.resourceProviderId,
        amount: line.amount,
        used: false,
      };
      this.items.push(item);
      const loose = looseKey(line);
      push(this.exact, exactKey(line, loose), item);
      push(this.loose, loose, item);
    }
  }

  get size(): number {
    return this.items.length;
  }

  /** The ids of the first unused JSON item with the line's exact key, else its loose key; null when none. */
  claim(line: KeyedLine): Pick<SourceLine, 'resourceUuid' | 'resourceProviderId'> | null {
    const loose = looseKey(line);
    const item = take(this.exact.get(exactKey(line, loose))) ?? take(this.loose.get(loose));
    if (!item) {
      this.csvOnly++;
      return null;
    }
    this.joined++;
    return { resourceUuid: item.resourceUuid, resourceProviderId: item.resourceProviderId };
  }

  stats(): ReconciliationStats {
    let jsonOnly = 0;
    let jsonOnlyMicros = 0n;
    for (const item of this.items) {
      if (item.used) continue;
      jsonOnly++;
      jsonOnlyMicros += decimalToMicros(item.amount);
    }
    return {
      jsonItems: this.items.length,
      joined: this.joined,
      csvOnly: this.csvOnly,
      jsonOnly,
      jsonOnlyAmount: microsToDecimal(jsonOnlyMicros),
    };
  }
}

/** Items of one key in source order; `head` skips the ones already used (an item sits in two queues). */
interface Queue {
  items: IndexedItem[];
  head: number;
}

function push(map: Map<string, Queue>, key: string, item: IndexedItem): void {
  const queue = map.get(key);
  if (queue) queue.items.push(item);
  else map.set(key, { items: [item], head: 0 });
}

/** The first unused item of a queue, marked used. */
function take(queue: Queue | undefined): IndexedItem | null {
  if (!queue) return null;
  while (queue.head < queue.items.length) {
    const item = queue.items[queue.head++]!;
    if (!item.used) {
      item.used = true;
      return item;
    }
  }
  return null;
}
