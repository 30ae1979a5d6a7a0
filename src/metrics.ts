// The process's Prometheus metrics, declared once (prom-client, one registry per process), and the scrape.
//
// Two kinds of figure live here:
// - events counted in this process (requests, retries, 429s, runs, GraphQL operations): per-process counters and
//   histograms, summed across replicas by Prometheus;
// - state read from the database at scrape time (seconds since each task's last success, the job queue, the
//   latest invoice's match rate, the request budget left): every replica reports the same truth, not its own
//   memory, so dashboards take max() of them. The entry point registers where that state comes from
//   (setObservedStateSource); the scrape bounds how long it waits for it.
//
// Labels take bounded values only: task, kind, endpoint class, status, outcome, pool. Never a resource name, a
// tenant, an id from a URL, a token or a hash of one.
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

const SECONDS_BUCKETS_RUN = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const SECONDS_BUCKETS_REQUEST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

// ---------------------------------------------------------------------------------------------------------------
// Sync runs (withRun, src/jobs/run.ts)

export const syncRuns = new Counter({
  name: 'cloud_ops_sync_runs_total',
  help: 'Runs closed by this process, by task and outcome (succeeded, incomplete, failed).',
  labelNames: ['task', 'outcome'] as const,
  registers: [registry],
});
export const syncRunDuration = new Histogram({
  name: 'cloud_ops_sync_run_duration_seconds',
  help: 'Duration of closed runs, by task.',
  labelNames: ['task'] as const,
  buckets: SECONDS_BUCKETS_RUN,
  registers: [registry],
});
export const syncRunsInFlight = new Gauge({
  name: 'cloud_ops_sync_runs_in_flight',
  help: 'Runs open in this process, by task.',
  labelNames: ['task'] as const,
  registers: [registry],
});
export const syncApiCalls = new Counter({
  name: 'cloud_ops_sync_api_calls_total',
  help: 'DigitalOcean API calls made by closed runs, by task.',
  labelNames: ['task'] as const,
  registers: [registry],
});
export const syncPages = new Counter({
  name: 'cloud_ops_sync_pages_total',
  help: 'Pages listed by closed runs, by task.',
  labelNames: ['task'] as const,
  registers: [registry],
});
/** One counter per count of a run (RunCounts), so that each can be rated on its own. */
export const syncItems = {
  listed: new Counter({
    name: 'cloud_ops_sync_items_listed_total',
    help: 'Items listed by closed runs (an invoice run: its lines), by task.',
    labelNames: ['task'] as const,
    registers: [registry],
  }),
  created: new Counter({
    name: 'cloud_ops_sync_items_created_total',
    help: 'Rows created by closed runs, by task.',
    labelNames: ['task'] as const,
    registers: [registry],
  }),
  updated: new Counter({
    name: 'cloud_ops_sync_items_updated_total',
    help: 'Rows changed by closed runs, by task.',
    labelNames: ['task'] as const,
    registers: [registry],
  }),
  markedStale: new Counter({
    name: 'cloud_ops_sync_items_marked_stale_total',
    help: 'Rows marked stale by closed runs, by task.',
    labelNames: ['task'] as const,
    registers: [registry],
  }),
};

// ---------------------------------------------------------------------------------------------------------------
// DigitalOcean client (src/digitalocean/transport.ts)

export const doRequests = new Counter({
  name: 'cloud_ops_digitalocean_requests_total',
  help: 'DigitalOcean API attempts, by endpoint class and HTTP status (timeout, network: no answer).',
  labelNames: ['endpoint', 'status'] as const,
  registers: [registry],
});
export const doRetries = new Counter({
  name: 'cloud_ops_digitalocean_retries_total',
  help: 'DigitalOcean API attempts that were retries, by endpoint class.',
  labelNames: ['endpoint'] as const,
  registers: [registry],
});
export const doRateLimited = new Counter({
  name: 'cloud_ops_digitalocean_rate_limited_total',
  help: 'DigitalOcean 429 answers, by endpoint class.',
  labelNames: ['endpoint'] as const,
  registers: [registry],
});
export const doRequestDuration = new Histogram({
  name: 'cloud_ops_digitalocean_request_duration_seconds',
  help: 'DigitalOcean API attempts until headers (a download until its body starts), by endpoint class.',
  labelNames: ['endpoint'] as const,
  buckets: SECONDS_BUCKETS_REQUEST,
  registers: [registry],
});
export const doRateLimitRemaining = new Gauge({
  name: 'cloud_ops_digitalocean_ratelimit_remaining',
  help: 'ratelimit-remaining of the last DigitalOcean answer this process received (the token, all processes).',
  registers: [registry],
});

// ---------------------------------------------------------------------------------------------------------------
// Billing (src/jobs/billing/ingest.ts)

export const invoiceIngests = new Counter({
  name: 'cloud_ops_billing_invoice_ingests_total',
  help: 'Invoice ingests closed by this process, by outcome (ingested, failed, superseded).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
export const invoiceLines = new Counter({
  name: 'cloud_ops_billing_invoice_lines_total',
  help: 'Invoice lines written by successful ingests.',
  registers: [registry],
});
export const invoiceIngestDuration = new Histogram({
  name: 'cloud_ops_billing_invoice_ingest_duration_seconds',
  help: 'Duration of invoice ingests, by outcome.',
  labelNames: ['outcome'] as const,
  buckets: SECONDS_BUCKETS_RUN,
  registers: [registry],
});

// ---------------------------------------------------------------------------------------------------------------
// GraphQL (src/http/graphql-observability.ts, src/schema/event-hub.ts)

export const graphqlRequests = new Counter({
  name: 'cloud_ops_graphql_requests_total',
  help: 'GraphQL operations, by operation type (query, mutation, subscription, unknown) and outcome (ok, error).',
  labelNames: ['operation_type', 'outcome'] as const,
  registers: [registry],
});
export const graphqlDuration = new Histogram({
  name: 'cloud_ops_graphql_request_duration_seconds',
  help: 'GraphQL operations from parse to result (a subscription: until it is set up), by operation type.',
  labelNames: ['operation_type'] as const,
  buckets: SECONDS_BUCKETS_REQUEST,
  registers: [registry],
});
export const subscriptionEvents = new Counter({
  name: 'cloud_ops_graphql_subscription_events_total',
  help: 'Events handed to subscriptions: delivered, coalesced (replaced by a newer progress event) or dropped (queue full).',
  labelNames: ['result'] as const,
  registers: [registry],
});
/**
 * For the response cache (src/http/response-cache.ts): one increment per cacheable request, hit or miss.
 * @public
 */
export const responseCacheRequests = new Counter({
  name: 'cloud_ops_graphql_response_cache_requests_total',
  help: 'GraphQL queries over HTTP by response cache result (hit, miss, bypass: the cache was not consulted).',
  labelNames: ['result'] as const,
  registers: [registry],
});

const subscriptionSources = new Set<() => number>();
new Gauge({
  name: 'cloud_ops_graphql_subscriptions_active',
  help: 'Live subscriptions (SSE and WebSocket) in this process.',
  registers: [registry],
  collect() {
    let total = 0;
    for (const source of subscriptionSources) total += source();
    this.set(total);
  },
});

/** Counts a source of live subscriptions (an EventHub's size) until the returned function is called. */
export function trackSubscriptions(size: () => number): () => void {
  subscriptionSources.add(size);
  return () => void subscriptionSources.delete(size);
}

// ---------------------------------------------------------------------------------------------------------------
// Database pools

const pools = new Map<pg.Pool, string>();
new Gauge({
  name: 'cloud_ops_db_pool_connections',
  help: 'Connections of a pool (main, worker), by state (in_use, idle).',
  labelNames: ['pool', 'state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [pool, name] of pools) {
      this.set({ pool: name, state: 'idle' }, pool.idleCount);
      this.set({ pool: name, state: 'in_use' }, pool.totalCount - pool.idleCount);
    }
  },
});
new Gauge({
  name: 'cloud_ops_db_pool_waiting_clients',
  help: 'Queries and connects waiting for a connection of a pool.',
  labelNames: ['pool'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [pool, name] of pools) this.set({ pool: name }, pool.waitingCount);
  },
});

/** Reports a pool's connections under `name` (main, worker) until the returned function is called. */
export function trackPool(pool: pg.Pool, name: 'main' | 'worker'): () => void {
  pools.set(pool, name);
  return () => void pools.delete(pool);
}

// ---------------------------------------------------------------------------------------------------------------
// State read from the database at scrape time

/** What a scrape reads from the database (src/domain/observed-state.ts builds it). */
export interface ObservedState {
  /** Per task: unix seconds of the last succeeded run's end; absent: never succeeded. */
  lastSuccess: ReadonlyArray<{ task: string; at: number }>;
  /** Per task: seconds between two scheduled runs (the longest gap of its schedule). */
  schedulePeriods: ReadonlyArray<{ task: string; seconds: number }>;
  /** Jobs waiting to run (run_at reached, not locked, attempts left), per task, and the oldest one's age. */
  jobs: ReadonlyArray<{ task: string; waiting: number; oldestAgeSeconds: number; running: number }>;
  /** Invoices by ingest status. */
  invoices: ReadonlyArray<{ status: string; count: number }>;
  /** Match rate (0..1) of the latest ingested final invoice; undefined: none. */
  latestInvoiceMatchRatio: number | undefined;
  /** Grants left in the shared request budget's window; undefined: no token. */
  budgetRemaining: number | undefined;
  /** The database's clock, unix seconds: ages are measured against it. */
  now: number;
}

let observedSource: (() => Promise<ObservedState>) | undefined;
/** The scrape waits this long for the database state, then reports without it (and says so). */
let observedTimeoutMs = 2000;
let pending: Promise<ObservedState | undefined> | undefined;

/** Where scrapes read the database state from (the entry point sets it once it has a pool); undefined: none. */
export function setObservedStateSource(
  source: (() => Promise<ObservedState>) | undefined,
  options: { timeoutMs?: number } = {},
): void {
  observedSource = source;
  observedTimeoutMs = options.timeoutMs ?? 2000;
}

/** One read per scrape, however many gauges ask for it. */
function observedState(): Promise<ObservedState | undefined> {
  if (!observedSource) return Promise.resolve(undefined);
  const source = observedSource;
  pending ??= (async () => {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const state = await Promise.race([
        source(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), observedTimeoutMs);
        }),
      ]);
      observedUp.set(1);
      return state;
    } catch {
      observedUp.set(0);
      return undefined;
    } finally {
      clearTimeout(timer);
      observedDuration.set((performance.now() - started) / 1000);
    }
  })().finally(() => {
    // The next scrape reads again.
    setImmediate(() => (pending = undefined));
  });
  return pending;
}

// Both are set by the read itself; their collect waits for it, so a scrape reports its own read.
const observedUp = new Gauge({
  name: 'cloud_ops_metrics_database_up',
  help: '1 when this scrape read the database state (sync freshness, queue, billing, budget), 0 when it could not in time.',
  registers: [registry],
  async collect() {
    await observedState();
  },
});
const observedDuration = new Gauge({
  name: 'cloud_ops_metrics_database_duration_seconds',
  help: 'How long this scrape took to read the database state.',
  registers: [registry],
  async collect() {
    await observedState();
  },
});

/** A gauge whose values come from the database state at scrape time. */
function observedGauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  fill: (gauge: Gauge<L>, state: ObservedState) => void,
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const state = await observedState();
      this.reset();
      if (state) fill(this, state);
    },
  });
}

observedGauge(
  'cloud_ops_sync_last_success_timestamp_seconds',
  'End of the last succeeded run of each task (from sync_runs; every process reports the same).',
  ['task'],
  (gauge, state) => {
    for (const { task, at } of state.lastSuccess) gauge.set({ task }, at);
  },
);
observedGauge(
  'cloud_ops_sync_seconds_since_last_success',
  'Seconds since the last succeeded run of each task ended (from sync_runs; every process reports the same).',
  ['task'],
  (gauge, state) => {
    for (const { task, at } of state.lastSuccess) gauge.set({ task }, Math.max(0, state.now - at));
  },
);
observedGauge(
  'cloud_ops_sync_schedule_period_seconds',
  'Longest gap between two scheduled runs of each task (from the task registry): what freshness alerts compare with.',
  ['task'],
  (gauge, state) => {
    for (const { task, seconds } of state.schedulePeriods) gauge.set({ task }, seconds);
  },
);
observedGauge(
  'cloud_ops_jobs_waiting',
  'Jobs due and waiting for a worker, by task (from graphile_worker.jobs).',
  ['task'],
  (gauge, state) => {
    for (const { task, waiting } of state.jobs) gauge.set({ task }, waiting);
  },
);
observedGauge(
  'cloud_ops_jobs_running',
  'Jobs locked by a worker, by task (from graphile_worker.jobs).',
  ['task'],
  (gauge, state) => {
    for (const { task, running } of state.jobs) gauge.set({ task }, running);
  },
);
observedGauge(
  'cloud_ops_jobs_oldest_waiting_age_seconds',
  'Age of the oldest due job still waiting, by task (0 when none waits).',
  ['task'],
  (gauge, state) => {
    for (const { task, oldestAgeSeconds } of state.jobs) gauge.set({ task }, oldestAgeSeconds);
  },
);
observedGauge(
  'cloud_ops_billing_invoices',
  'Invoices by ingest status (pending, ingesting, ingested, failed).',
  ['status'],
  (gauge, state) => {
    for (const { status, count } of state.invoices) gauge.set({ status }, count);
  },
);
observedGauge(
  'cloud_ops_billing_latest_invoice_match_ratio',
  'Matched lines / all lines of the latest ingested final invoice (0..1).',
  [],
  (gauge, state) => {
    if (state.latestInvoiceMatchRatio !== undefined) gauge.set(state.latestInvoiceMatchRatio);
  },
);
observedGauge(
  'cloud_ops_digitalocean_request_budget_remaining',
  'Requests left in the shared DigitalOcean request budget of the current window (all processes).',
  [],
  (gauge, state) => {
    if (state.budgetRemaining !== undefined) gauge.set(state.budgetRemaining);
  },
);

// ---------------------------------------------------------------------------------------------------------------
// The scrape

let defaultMetrics = false;

/** The default Node metrics (CPU, memory, event loop lag, GC), once per process: a serving process asks for them. */
export function enableProcessMetrics(): void {
  if (defaultMetrics) return;
  defaultMetrics = true;
  collectDefaultMetrics({ register: registry });
}

export const METRICS_CONTENT_TYPE = registry.contentType;

/** The scrape, in the Prometheus text format. */
export function renderMetrics(): Promise<string> {
  return registry.metrics();
}
