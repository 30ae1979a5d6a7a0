/**
 * Walking DigitalOcean's paginated lists.
 *
 * DO pages are offset-based (`page`, `per_page` ≤ 200) and each body carries `links.pages.next` (an absolute URL on
 * the public host) and usually `meta.total`. We never request the `next` URL itself: only its `page` number is read,
 * and the request for that page goes to the configured base URL with the token. The walk then checks what the server
 * said against itself, because an inventory mirror marks rows stale when they are missing from a listing, and a
 * listing that silently lost items would delete real resources from the mirror.
 *
 * A listing is INCOMPLETE (`complete: false`, `incompleteReason` says why) when:
 * - a page repeats items already received (a server stuck on one page);
 * - `next` keeps coming although `meta.total` items were received, or names a page beyond ceil(total / page size);
 * - `next` names any page other than current + 1, or has no readable page number;
 * - a page is empty but still offers `next`;
 * - the last page (no `next`) arrives before `meta.total` distinct items were received (a truncated listing);
 * - the hard cap of `maxPages` pages is reached while the server still offers `next`;
 * - an unpaginated endpoint (`/v2/databases`) unexpectedly offers `next`.
 * Billing insights page differently (`pagination: 'total_pages'`): no links, but `total_items`, `total_pages` and
 * `current_page` in the body. The next page is current + 1 while `current_page < total_pages`; the same checks apply
 * (a page answered under another `current_page` number, too, makes the listing incomplete), with `total_items` in the
 * role of `meta.total`.
 * Items that reappear on a later page (offset drift when resources are created during the walk) are dropped and
 * counted in `duplicates`; that alone does not make the listing incomplete. (Only for lists whose items have an id;
 * see `ListSpec.idOf`.)
 */
import { DigitalOceanError, type ListingProgress } from './errors.js';
import type { ListSpec, QueryParams } from './endpoints.js';
import type { CallCounter, Transport } from './transport.js';

export type { ListSpec };

export const PER_PAGE = 200;
/** Hard cap on pages per listing: 1,000,000 items at 200 per page, and the whole hourly budget (5,000). */
export const DEFAULT_MAX_PAGES = 5_000;

export interface PageInfo {
  /** 1-based page number of this page. */
  page: number;
  /**
   * True when no further page will be requested after this one. A walk stopped by a guard that trips on a later
   * page (e.g. a repeated page) ends without another `onPage` call: the returned `Listing` is authoritative.
   */
  done: boolean;
  /** `meta.total` as reported by this page, if any. */
  total?: number;
  /** Distinct items delivered so far, this page included. */
  count: number;
}

export interface ListOptions<T> {
  /**
   * Called once per page with that page's (new, distinct) items, and awaited before the next page is requested: a
   * consumer that upserts page by page gets back-pressure for free. If it throws, the walk stops and that error is
   * rethrown unchanged.
   */
  onPage?: (items: T[], info: PageInfo) => void | Promise<void>;
  /** Keep every item in `Listing.items`. Default true; pass false when streaming with `onPage`. */
  collect?: boolean;
  /** Hard cap on pages requested. Default 5,000. */
  maxPages?: number;
  /** Cancels the walk (rejects with a DigitalOceanError of kind `aborted`). */
  signal?: AbortSignal;
  /** Counts the listing's requests into it, also when the walk fails (a caller adding up several listings). */
  counter?: CallCounter;
  /**
   * Requests in flight at once, for endpoints paged by `total_pages` (their page count is known from the first page);
   * pages are still checked and delivered in order. Default 1. Requests ahead of a walk that stops are wasted.
   */
  concurrency?: number;
}

/**
 * The outcome of a listing. Contract:
 * - It RESOLVES with `complete: true` only when the walk ended on a page without `next` and the distinct items
 *   received reach `meta.total` (when the server gave one).
 * - It RESOLVES with `complete: false` and an `incompleteReason` when the server's pagination misbehaved (see the
 *   module comment). Everything received up to then was delivered to `onPage` / `items`. Callers must not mark
 *   resources stale from an incomplete listing.
 * - It REJECTS with a `DigitalOceanError` when a request fails after its retries (or is not retryable). Pages
 *   before the failure were already delivered to `onPage`; `error.listing` tells how far the walk got
 *   (`pages`, `count`, `apiCalls`, `total`). Such a listing is, of course, incomplete too.
 */
export interface Listing<T> {
  items: T[];
  complete: boolean;
  incompleteReason?: string;
  /** Pages received. */
  pages: number;
  /** HTTP requests this listing made, retries included. */
  apiCalls: number;
  /** `meta.total` from the last page that had one. */
  total?: number;
  /** Distinct items delivered. */
  count: number;
  /** Items dropped because an earlier page had already delivered them. */
  duplicates: number;
}

/**
 * The same endpoint (and its fallback), with every item turned into something else as it arrives, identified by
 * `idOf` of the result. The endpoint's own `map` (e.g. credential stripping) still runs first.
 */
export function mapListSpec<T, U>(spec: ListSpec<T>, map: (item: T) => U, idOf: (item: U) => string): ListSpec<U> {
  const { map: first, idOf: _idOf, inspectBody: _inspect, fallback, ...endpoint } = spec;
  return {
    ...endpoint,
    map: first ? (raw) => map(first(raw)) : (raw) => map(raw as T),
    idOf,
    ...(fallback && { fallback: mapListSpec(fallback, map, idOf) }),
  };
}

/** Reads the page number out of a `next` link; nothing else of the link is used. */
export function pageNumberOf(link: string): number | undefined {
  let url: URL;
  try {
    url = new URL(link, 'http://placeholder.invalid');
  } catch {
    return undefined;
  }
  const raw = url.searchParams.get('page');
  if (raw === null || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/**
 * Identity of a page of id-less items: its length and five items spread over it (first, quarters, last). Hashing the
 * whole page cost as much as parsing it; a collision can only make a listing look repeated (reported incomplete),
 * never make a broken one look complete.
 */
function pageFingerprint(items: readonly unknown[]): string {
  const n = items.length;
  const picks = [0, Math.floor(n / 4), Math.floor(n / 2), Math.floor((3 * n) / 4), n - 1];
  return `${n}:${JSON.stringify(picks.map((i) => items[i]))}`;
}

function nextLinkOf(body: Record<string, unknown>): string | undefined {
  const links = body.links;
  if (!links || typeof links !== 'object') return undefined;
  const pages = (links as { pages?: unknown }).pages;
  if (!pages || typeof pages !== 'object') return undefined;
  const next = (pages as { next?: unknown }).next;
  return typeof next === 'string' && next !== '' ? next : undefined;
}

function totalOf(body: Record<string, unknown>): number | undefined {
  const meta = body.meta;
  if (!meta || typeof meta !== 'object') return undefined;
  const total = (meta as { total?: unknown }).total;
  return typeof total === 'number' && Number.isFinite(total) && total >= 0 ? total : undefined;
}

function nonNegativeInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * What a page says comes next, in either style: `next` is the page number offered (undefined: none; null: an offer
 * that cannot be read), `total` the item count the server claims, `mismatch` a page that is not the one asked for.
 */
function pagingOf(
  style: 'links' | 'total_pages',
  body: Record<string, unknown>,
  page: number,
): { next: number | null | undefined; total: number | undefined; mismatch?: string } {
  if (style === 'links') {
    const link = nextLinkOf(body);
    return { next: link === undefined ? undefined : (pageNumberOf(link) ?? null), total: totalOf(body) };
  }
  const total = nonNegativeInt(body.total_items);
  const current = nonNegativeInt(body.current_page);
  const totalPages = nonNegativeInt(body.total_pages);
  if (current === undefined || totalPages === undefined) {
    return { next: undefined, total, mismatch: `page ${page} has no current_page / total_pages` };
  }
  if (current !== page && !(current === 0 && totalPages === 0 && page === 1)) {
    return { next: undefined, total, mismatch: `page ${page} was answered as current_page ${current}` };
  }
  return { next: current < totalPages ? page + 1 : undefined, total };
}

/** Walks every page of a list endpoint. See `Listing` for the result/error contract. */
export async function walkList<T>(
  transport: Transport,
  spec: ListSpec<T>,
  options: ListOptions<T> = {},
): Promise<Listing<T>> {
  const counter = options.counter ?? { apiCalls: 0 };
  const collect = options.collect ?? true;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const paginated = spec.paginated ?? true;
  const idOf = spec.idOf;
  const items: T[] = [];
  const seen = new Set<string>();
  const seenPages = new Set<string>();
  let pages = 0;
  let count = 0;
  let duplicates = 0;
  let total: number | undefined;
  let pageSize: number | undefined;
  let page = 1;

  const finish = (reason?: string): Listing<T> => {
    const listing: Listing<T> = {
      items,
      complete: reason === undefined,
      pages,
      apiCalls: counter.apiCalls,
      count,
      duplicates,
    };
    if (reason !== undefined) listing.incompleteReason = reason;
    if (total !== undefined) listing.total = total;
    if (reason === undefined) {
      transport.logger.debug(
        { path: spec.path, pages, count, total, apiCalls: counter.apiCalls },
        'digitalocean: listing complete',
      );
    } else {
      transport.logger.warn(
        { path: spec.path, pages, count, total, apiCalls: counter.apiCalls, reason },
        'digitalocean: listing incomplete',
      );
    }
    return listing;
  };

  /** One page's body, checked to be a listing; a DigitalOceanError says how far the walk had got when it is awaited. */
  const request = async (n: number): Promise<Record<string, unknown>> => {
    const query: QueryParams = paginated ? { ...spec.query, page: n, per_page: PER_PAGE } : { ...spec.query };
    const response = await transport.getJson(spec.path, {
      query,
      counter,
      ...(options.signal && { signal: options.signal }),
    });
    const answer = response.body as Record<string, unknown>;
    const rawItems = answer[spec.key];
    // null is DigitalOcean's "no items"; a missing key or any other value means the body is not a listing.
    if (rawItems === undefined || (rawItems !== null && !Array.isArray(rawItems))) {
      throw new DigitalOceanError({
        kind: 'invalid_response',
        method: 'GET',
        endpoint: spec.path,
        attempts: response.attempts,
        retryable: false,
        status: response.status,
        detail: rawItems === undefined ? `body has no "${spec.key}"` : `"${spec.key}" is not an array`,
      });
    }
    return answer;
  };
  // Pages requested ahead (total_pages style only, where the page count is known from the first page on): they are
  // still checked, and handed to onPage, one by one in order.
  const ahead = new Map<number, Promise<Record<string, unknown>>>();
  const concurrency = spec.pagination === 'total_pages' ? Math.max(1, options.concurrency ?? 1) : 1;
  let knownPages: number | undefined;

  for (;;) {
    let body: Record<string, unknown>;
    try {
      const pending = ahead.get(page) ?? request(page);
      ahead.delete(page);
      if (knownPages !== undefined) {
        for (let n = page + 1; n <= Math.min(knownPages, page + concurrency - 1, maxPages); n++) {
          if (ahead.has(n)) continue;
          const next = request(n);
          next.catch(() => undefined); // awaited (or abandoned) later: never an unhandled rejection
          ahead.set(n, next);
        }
      }
      body = await pending;
    } catch (error) {
      if (error instanceof DigitalOceanError) {
        const progress: ListingProgress = { path: spec.path, pages, apiCalls: counter.apiCalls, count };
        if (total !== undefined) progress.total = total;
        error.listing = progress;
      }
      throw error;
    }
    if (concurrency > 1 && knownPages === undefined) {
      const claimed = body.total_pages;
      if (typeof claimed === 'number' && Number.isSafeInteger(claimed)) knownPages = claimed;
    }
    pages++;
    spec.inspectBody?.(body, page);
    const raw = (body[spec.key] ?? []) as unknown[];
    const pageItems: T[] = spec.map ? raw.map(spec.map) : (raw as T[]);
    const paging = pagingOf(spec.pagination ?? 'links', body, page);
    const pageTotal = paging.total;
    if (pageTotal !== undefined) total = pageTotal;
    if (pageSize === undefined && pageItems.length > 0) pageSize = pageItems.length;

    let fresh: T[];
    if (idOf) {
      fresh = [];
      for (const item of pageItems) {
        const id = idOf(item);
        if (seen.has(id)) continue;
        seen.add(id);
        fresh.push(item);
      }
    } else {
      fresh = pageItems;
      if (pageItems.length > 0) {
        const fingerprint = pageFingerprint(pageItems);
        if (seenPages.has(fingerprint)) fresh = [];
        seenPages.add(fingerprint);
      }
    }
    if (pageItems.length > 0 && fresh.length === 0) {
      return finish(`page ${page} repeated ${pageItems.length} items already received (server repeated a page)`);
    }
    duplicates += pageItems.length - fresh.length;
    count += fresh.length;

    const next = paging.next;
    let stop: string | null | undefined; // undefined: continue; null: normal end; string: incomplete
    let nextPage: number | undefined;
    if (!paginated) {
      stop = next === undefined ? null : `unpaginated endpoint offered a next page; only the first answer was read`;
    } else if (paging.mismatch !== undefined) {
      stop = paging.mismatch;
    } else if (next === undefined) {
      stop =
        total !== undefined && count < total
          ? `listing ended at page ${page} with ${count} of meta.total ${total} items (truncated)`
          : null;
    } else {
      nextPage = next ?? undefined;
      if (nextPage === undefined) stop = `page ${page} offered a next link without a page number`;
      else if (nextPage !== page + 1) stop = `page ${page} offered next page ${nextPage}, expected ${page + 1}`;
      else if (pageItems.length === 0) stop = `page ${page} was empty but offered next page ${nextPage}`;
      else if (total !== undefined && count >= total) {
        stop = `server offered page ${nextPage} after all meta.total ${total} items were received (endless next)`;
      } else if (total !== undefined && pageSize !== undefined && nextPage > Math.ceil(total / pageSize)) {
        stop = `server offered page ${nextPage}, beyond the ${Math.ceil(total / pageSize)} pages meta.total ${total} allows`;
      } else if (pages >= maxPages) stop = `stopped at the hard cap of ${maxPages} pages with more offered`;
    }

    if (collect) for (const item of fresh) items.push(item);
    if (options.onPage) {
      const info: PageInfo = { page, done: stop !== undefined, count };
      if (total !== undefined) info.total = total;
      await options.onPage(fresh, info);
    }
    if (stop !== undefined) return finish(stop ?? undefined);
    page = nextPage as number;
  }
}
