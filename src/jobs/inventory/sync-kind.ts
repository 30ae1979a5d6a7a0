/**
 * One kind's run: every listing of the kind (kinds.ts) through the client, page by page; each page normalized as
 * it arrives and written with ONE statement, which also counts created / updated / unchanged; a progress event
 * after each page. Only when every listing was complete, one statement marks the rows not seen as missed (stale at
 * the third consecutive miss); an incomplete listing ends the run `incomplete` and a failed one `failed`, and
 * neither moves any staleness.
 *
 * Pipelining: while page N is being written, page N+1 is already being fetched (one page in flight at most, so
 * memory stays bounded and an error stops the walk at the next page). `pipeline: false` turns it off.
 */
import type { CallCounter, DigitalOceanClient, ListSpec, PageInfo, SourcedListing } from '../../digitalocean/client.js';
import { DigitalOceanError } from '../../digitalocean/errors.js';
import type { Logger } from '../../logger.js';
import { errorText, type ActiveRun } from '../run.js';
import type { KindSpec } from './kinds.js';
import type { NormalizedResource } from './normalize.js';
import { markStaleResources, upsertResources, type SqlClient } from './sql.js';

/** What a kind's or the projects' run works with. */
export interface InventoryScope {
  db: SqlClient;
  accountId: string;
  client: DigitalOceanClient;
  log: Logger;
  run: ActiveRun;
  redact: (text: string) => string;
}

/** What one listing walk reported, for the run's details. */
interface ListingReport {
  path: string;
  query?: Record<string, string>;
  complete: boolean;
  incompleteReason?: string;
  pages: number;
  apiCalls: number;
  count: number;
  total?: number;
  duplicates: number;
  error?: string;
}

function queryOf(listing: ListSpec<NormalizedResource>): Record<string, string> | undefined {
  if (!listing.query) return undefined;
  return Object.fromEntries(
    Object.entries(listing.query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
  );
}

function reportOf(
  scope: InventoryScope,
  listing: ListSpec<NormalizedResource>,
  counter: CallCounter,
  outcome: { result: SourcedListing<NormalizedResource> } | { error: unknown },
): ListingReport {
  const query = queryOf(listing);
  if ('result' in outcome) {
    const { result } = outcome;
    return {
      path: result.path,
      ...(query && { query }),
      complete: result.complete,
      ...(result.incompleteReason && { incompleteReason: result.incompleteReason }),
      pages: result.pages,
      apiCalls: counter.apiCalls,
      count: result.count,
      ...(result.total !== undefined && { total: result.total }),
      duplicates: result.duplicates,
    };
  }
  const progress = outcome.error instanceof DigitalOceanError ? outcome.error.listing : undefined;
  return {
    path: progress?.path ?? listing.path,
    ...(query && { query }),
    complete: false,
    pages: progress?.pages ?? 0,
    apiCalls: counter.apiCalls,
    count: progress?.count ?? 0,
    ...(progress?.total !== undefined && { total: progress.total }),
    duplicates: 0,
    error: errorText(outcome.error, scope.redact),
  };
}

export async function syncKind(scope: InventoryScope, spec: KindSpec, options: { pipeline: boolean }): Promise<void> {
  const { db, accountId, run } = scope;
  const { counts } = run;
  const seen = new Set<string>();
  const reports: ListingReport[] = [];
  run.details.listings = reports;
  let skipped = 0;
  /** Items of earlier listings of this run, for progress totals. */
  let doneBefore = 0;

  /** One page: the rows not seen yet in this run, written (in the background when pipelining), then progress. */
  const writePage = async (items: NormalizedResource[], info: PageInfo): Promise<void> => {
    counts.pages += 1;
    const rows: NormalizedResource[] = [];
    for (const item of items) {
      if (item.providerId === '') {
        skipped += 1;
        continue;
      }
      if (seen.has(item.providerId)) continue; // listed by an earlier listing of the same kind
      seen.add(item.providerId);
      rows.push(item);
      if (item.cleanedValues) run.details.cleanedValues = Number(run.details.cleanedValues ?? 0) + item.cleanedValues;
    }
    const total = info.total !== undefined ? doneBefore + info.total : info.done ? doneBefore + info.count : null;
    if (rows.length > 0) {
      const written = await upsertResources(db, accountId, spec.kind, rows);
      counts.created += written.created;
      counts.updated += written.updated;
      counts.unchanged += written.unchanged;
      counts.listed += rows.length;
    }
    run.progress({ done: counts.listed, total, page: counts.pages });
  };

  const walk = async (
    listing: ListSpec<NormalizedResource>,
    counter: CallCounter,
  ): Promise<SourcedListing<NormalizedResource>> => {
    let pending: Promise<void> = Promise.resolve();
    let failure: { error: unknown } | undefined;
    const settle = async (): Promise<void> => {
      await pending;
      if (failure) throw failure.error;
    };
    const onPage = async (items: NormalizedResource[], info: PageInfo): Promise<void> => {
      await settle();
      if (!options.pipeline) return writePage(items, info);
      pending = writePage(items, info).catch((error: unknown) => {
        failure = { error };
      });
    };
    try {
      const result = await scope.client.list(listing, {
        collect: false,
        onPage,
        counter,
        ...(run.signal && { signal: run.signal }),
      });
      await settle();
      return result;
    } catch (error) {
      await settle().catch(() => undefined); // the first error is the one that counts
      throw error;
    }
  };

  for (const listing of spec.listings) {
    const counter: CallCounter = { apiCalls: 0 };
    try {
      reports.push(reportOf(scope, listing, counter, { result: await walk(listing, counter) }));
      doneBefore = counts.listed;
    } catch (error) {
      reports.push(reportOf(scope, listing, counter, { error }));
      throw error;
    } finally {
      counts.apiCalls += counter.apiCalls;
      if (skipped > 0) run.details.skippedWithoutId = skipped;
    }
  }

  const incomplete = reports.filter((r) => !r.complete);
  if (incomplete.length > 0) {
    const reasons = incomplete.map(
      (r) => `${r.path}${r.query ? `?${new URLSearchParams(r.query)}` : ''}: ${r.incompleteReason ?? 'incomplete'}`,
    );
    run.incomplete(`incomplete listing, staleness not updated: ${reasons.join('; ')}`);
    return;
  }
  const stale = await markStaleResources(db, accountId, [spec.kind], run.startedAt);
  counts.markedStale += stale.markedStale;
  run.details.missed = stale.missed;
}
