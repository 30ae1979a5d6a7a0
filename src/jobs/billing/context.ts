// What the billing jobs need: a pool, the DigitalOcean billing endpoints, the account they mirror.
import type pg from 'pg';
import type { DigitalOceanClient } from '../../digitalocean/client.js';
import { ENDPOINT_UNAVAILABLE } from '../../digitalocean/endpoints.js';
import { DigitalOceanError } from '../../digitalocean/errors.js';
import type { SyncEvent } from '../../events.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import type { RunEnvironment } from '../run.js';

/** The part of the DigitalOcean client that billing reads (a full client fits; tests may pass a stand-in). */
export type BillingApi = Pick<
  DigitalOceanClient,
  | 'getBalance'
  | 'listBillingHistory'
  | 'listInvoices'
  | 'listInvoiceItems'
  | 'getInvoiceSummary'
  | 'getInvoiceCsv'
  | 'getAccount'
  | 'listBillingInsights'
>;

export interface BillingContext {
  pool: pg.Pool;
  /** Undefined when no DigitalOcean token is configured: every run then fails, saying so. */
  api: BillingApi | undefined;
  /** cloud_accounts.id */
  accountId: string;
  logger?: Logger;
  /** Removes secrets from text that goes into a row or a log line (the client's errors carry none already). */
  redact?: (text: string) => string;
  /** Also gets every event of every run, in this process (the CLI's progress display). */
  onEvent?: (event: SyncEvent) => void;
  /** The lease id of this process, written into each run's row (../lease.ts). */
  owner?: string;
  /** The billing-insights account (`do:team:…` / `do:teamgroup:…`); undefined: the team of `/v2/account`. */
  billingAccountUrn?: string | undefined;
  /** Invoices with more JSON items than this are matched by name only (see reconcile.ts). Default 10,000. */
  maxJsonItems?: number;
}

export const DEFAULT_MAX_JSON_ITEMS = 10_000;

/** Where a billing job's runs are recorded. */
export function runEnvironment(context: BillingContext): RunEnvironment {
  const { pool, accountId, redact, onEvent, owner } = context;
  return { db: pool, accountId, logger: loggerOf(context), redact, onEvent, owner };
}

export function loggerOf(context: BillingContext): Logger {
  return context.logger ?? silentLogger;
}

export class NoTokenError extends Error {
  override readonly name = 'NoTokenError';
  constructor() {
    super('DIGITALOCEAN_TOKEN is not set: billing cannot be synced');
  }
}

export function requireApi(context: BillingContext): BillingApi {
  if (!context.api) throw new NoTokenError();
  return context.api;
}

/** A 404 (or 405/410/501) from DigitalOcean: the thing is not offered here. */
export function isNotOffered(error: unknown): boolean {
  return error instanceof DigitalOceanError && error.kind === 'http' && ENDPOINT_UNAVAILABLE.has(error.status ?? 0);
}
