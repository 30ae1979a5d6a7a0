/**
 * Fault injection for the DigitalOcean API simulator.
 *
 * A `Faults` object is passed to `startSimulator({ faults })` and can be replaced at runtime with
 * `sim.setFaults(faults)` (which also resets every rule's counters). Every field is optional; an empty
 * object means "behave like a healthy API".
 *
 * Most fields take one rule or an array of rules. Each rule may be narrowed to some paths (`path`) and
 * limited in how often it fires:
 *  - `skip`: let the first N matching requests through untouched, then start firing;
 *  - `count`: fire on N matching requests (after `skip`), then the rule is spent;
 *  - `probability`: fire on each matching request with this chance (0..1), drawn from a PRNG seeded
 *    with the simulator seed, so runs are repeatable;
 *  - none of `count`/`probability`: fire on every matching request.
 *
 * Order of evaluation for one request: `latency` → `notFound` → `rateLimit` → `burst429` → `hourly429`
 * → `serverError` → (the route runs; listing faults `truncateListing`, `endlessNext`, `repeatPage`
 * reshape the page; `corruptCsv` rewrites an invoice CSV) → `dropConnection` while the body is written.
 */

/**
 * Which request paths a rule applies to (the pathname only, without the query string).
 *  - a string is matched against the whole pathname; `*` matches any run of characters
 *    (`'/v2/droplets'` matches only that path, `'/v2/projects/*'` matches every project sub-path);
 *  - a RegExp is tested against the pathname;
 *  - an array matches if any element matches;
 *  - omitted: every path.
 */
export type PathPattern = string | RegExp | ReadonlyArray<string | RegExp>;

/** Common selectors of a rule: where it applies and how often it fires. */
export interface FaultRule {
  /** Paths the rule applies to; omitted = all paths. */
  path?: PathPattern;
  /** Only requests with this query parameter value, e.g. `{ page: '2' }` or `{ resource_type: 'volume' }`. */
  query?: Record<string, string>;
  /** Let this many matching requests pass before the rule starts firing. Default 0. */
  skip?: number;
  /** Fire on this many matching requests (after `skip`), then stop. Omitted = unlimited. */
  count?: number;
  /** Fire with this probability (0..1) on each matching request (after `skip`, within `count`). */
  probability?: number;
}

/** A value or a list of values; lists let several rules of one kind coexist (e.g. per path). */
export type OneOrMany<T> = T | readonly T[];

/** Delay the response. */
export interface LatencyFault extends FaultRule {
  /** Delay in milliseconds before anything is written. */
  ms: number;
  /** Extra random delay, uniform in [0, jitterMs). Default 0. */
  jitterMs?: number;
}

/**
 * 429 from the per-minute "burst" limit: body `{"id":"too_many_requests","message":"API rate limit exceeded."}`,
 * header `retry-after: <retryAfterSeconds>`, `ratelimit-remaining: 0`.
 */
export interface Burst429Fault extends FaultRule {
  /** Value of the `retry-after` header in seconds. Default 1. */
  retryAfterSeconds?: number;
}

/**
 * 429 from the hourly limit: same body, `ratelimit-remaining: 0`, NO `retry-after`; the client must wait
 * until `ratelimit-reset` (epoch seconds), which is set `resetInSeconds` ahead of now.
 */
export interface Hourly429Fault extends FaultRule {
  /** How far ahead `ratelimit-reset` points, in seconds. Default 2. */
  resetInSeconds?: number;
}

/** A 5xx answer with DO's error body (`{"id":"server_error","message":…}`). */
export interface ServerErrorFault extends FaultRule {
  /** HTTP status. Default 500. (502/503/504 send a plain-text body like a proxy would.) */
  status?: number;
}

/** Destroy the TCP socket in the middle of the response. */
export interface DropConnectionFault extends FaultRule {
  /**
   * Bytes of the body written before the socket is destroyed. Default: half of the body.
   * 0 destroys the socket before the status line is written (the client sees a reset / "socket hang up").
   */
  afterBytes?: number;
}

/**
 * A listing that stops early: the page `atPage` carries fewer items than `per_page` and no `next`/`last`
 * links although `meta.total` says more exist. A correct client notices the count mismatch.
 */
export interface TruncateListingFault extends FaultRule {
  /** The page that is cut short. Default 1. */
  atPage?: number;
  /** How many items that page keeps. Default half of the page (at least 1 less than a full page). */
  keepItems?: number;
}

/**
 * A `next` that never ends: every page has a `next` link (page + 1) and pages past the real last page
 * repeat the items of earlier pages (page p serves the items of page ((p-1) mod lastPage) + 1).
 * `meta.total` stays truthful, so a client can stop when it has seen more than `total` items or a repeat.
 */
export type EndlessNextFault = FaultRule;

/**
 * A repeated page: the request for page `page + 1` returns the items of page `page` again (links and meta
 * are those of page `page + 1`), so the walk sees duplicates and misses page `page + 1`'s items.
 */
export interface RepeatPageFault extends FaultRule {
  /** The page whose items are served again on the next page. Default 1. */
  page?: number;
}

/**
 * An invoice CSV that is well-formed HTTP but bad data (`…/invoices/{uuid|preview}/csv` only):
 *  - `headerOnly`: the header row and no lines, whatever the invoice holds;
 *  - `nulInHeader`: a NUL byte inside header column `column` (1-based, default 7: "USD");
 *  - `nulInCell`: a NUL byte inside the cell at data line `line` (1-based, default 1), column `column` (default 3:
 *    the description);
 *  - `invalidUtf8InCell`: the bytes 0xFF 0xFE (never valid UTF-8) inside that cell instead.
 */
export interface CorruptCsvFault extends FaultRule {
  mode: 'headerOnly' | 'nulInHeader' | 'nulInCell' | 'invalidUtf8InCell';
  line?: number;
  column?: number;
}

/** Sliding-window rate limiting, as the real API does it (per token is not distinguished). */
export interface RateLimitConfig {
  /**
   * Requests per rolling 60 s. Over the limit: 429 with `retry-after` = seconds until the oldest request of
   * the minute leaves the window. The real burst limit is 250.
   */
  perMinute?: number;
  /**
   * Requests per rolling hour; also the value of `ratelimit-limit` (default header value 5000 even when not
   * enforced). Over the limit: 429 without `retry-after`, `ratelimit-reset` = when the oldest request leaves.
   */
  perHour?: number;
}

/** The whole fault configuration; see the module comment for semantics. */
export interface Faults {
  /** Slow responses. */
  latency?: OneOrMany<LatencyFault>;
  /**
   * Answer 404 `{"id":"not_found",…}` for these paths, e.g. `notFound: '/v2/reserved_ips'` makes a client fall
   * back to `/v2/floating_ips`.
   */
  notFound?: PathPattern;
  /** Real sliding-window limits enforced on every request (counted from the request log). */
  rateLimit?: RateLimitConfig;
  /** 429 with `retry-after` (burst limit). */
  burst429?: OneOrMany<Burst429Fault>;
  /** 429 without `retry-after` (hourly limit; only `ratelimit-reset`). */
  hourly429?: OneOrMany<Hourly429Fault>;
  /** 5xx answers. */
  serverError?: OneOrMany<ServerErrorFault>;
  /** Sockets destroyed mid-response. */
  dropConnection?: OneOrMany<DropConnectionFault>;
  /** Short page without `next` before `meta.total` is reached (paginated list endpoints only). */
  truncateListing?: OneOrMany<TruncateListingFault>;
  /** Every page claims a `next`; items repeat (paginated list endpoints only). */
  endlessNext?: OneOrMany<EndlessNextFault>;
  /** Page `page + 1` repeats page `page` (paginated list endpoints only). */
  repeatPage?: OneOrMany<RepeatPageFault>;
  /** Invoice CSVs with bad data: header only, NUL bytes, invalid UTF-8. */
  corruptCsv?: OneOrMany<CorruptCsvFault>;
}

/** Names of the counted rule families, used in the request log's `fault` field. */
export type FaultName =
  | 'latency'
  | 'notFound'
  | 'rateLimitMinute'
  | 'rateLimitHour'
  | 'burst429'
  | 'hourly429'
  | 'serverError'
  | 'dropConnection'
  | 'truncateListing'
  | 'endlessNext'
  | 'repeatPage'
  | 'corruptCsv';

/** What the request looks like to the fault engine. */
export interface FaultRequest {
  path: string;
  query: URLSearchParams;
}

/** Mutable per-rule counters. */
interface RuleState<R extends FaultRule> {
  rule: R;
  seen: number;
  fired: number;
}

function toList<T>(value: OneOrMany<T> | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** True when `path` matches the pattern (omitted pattern = everything). */
export function matchesPath(pattern: PathPattern | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === 'string') return pattern.includes('*') ? globToRegExp(pattern).test(path) : pattern === path;
  if (pattern instanceof RegExp) return pattern.test(path);
  return pattern.some((p) => matchesPath(p, path));
}

/**
 * Holds the active faults and their counters; decides, per request, which rule fires.
 * `random` must be a seeded PRNG returning [0, 1).
 */
export class FaultEngine {
  private faults: Faults = {};
  private rules = new Map<keyof Faults, RuleState<FaultRule>[]>();

  constructor(
    private readonly random: () => number,
    faults: Faults = {},
  ) {
    this.set(faults);
  }

  /** Replace the whole configuration; counters start again from zero. */
  set(faults: Faults): void {
    this.faults = { ...faults };
    this.rules.clear();
    const families = [
      'latency',
      'burst429',
      'hourly429',
      'serverError',
      'dropConnection',
      'truncateListing',
      'endlessNext',
      'repeatPage',
      'corruptCsv',
    ] as const;
    for (const name of families) {
      const list = toList(faults[name]);
      this.rules.set(
        name,
        list.map((rule) => ({ rule, seen: 0, fired: 0 })),
      );
    }
  }

  /** The configuration as last set. */
  get current(): Faults {
    return this.faults;
  }

  get rateLimit(): RateLimitConfig | undefined {
    return this.faults.rateLimit;
  }

  isNotFound(req: FaultRequest): boolean {
    return this.faults.notFound !== undefined && matchesPath(this.faults.notFound, req.path);
  }

  /**
   * The first rule of a family that fires for this request, or undefined. Counters of every matching rule
   * advance (a rule "sees" the request even when another rule of the family fired first).
   */
  take<K extends Exclude<keyof Faults, 'notFound' | 'rateLimit'>>(family: K, req: FaultRequest): RuleOf<K> | undefined {
    const states = this.rules.get(family) ?? [];
    let chosen: FaultRule | undefined;
    for (const state of states) {
      const { rule } = state;
      if (!matchesPath(rule.path, req.path)) continue;
      if (rule.query && !Object.entries(rule.query).every(([k, v]) => req.query.get(k) === v)) continue;
      state.seen += 1;
      if (chosen) continue;
      if (state.seen <= (rule.skip ?? 0)) continue;
      if (rule.count !== undefined && state.fired >= rule.count) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      state.fired += 1;
      chosen = rule;
    }
    return chosen as RuleOf<K> | undefined;
  }

  /** How many times each rule of a family has fired, in configuration order (for tests). */
  fired(family: Exclude<keyof Faults, 'notFound' | 'rateLimit'>): number[] {
    return (this.rules.get(family) ?? []).map((s) => s.fired);
  }
}

/** The rule type of a fault family. */
export type RuleOf<K extends keyof Faults> = NonNullable<Faults[K]> extends OneOrMany<infer R> ? R : never;
