// What the jobs of one process share, built from its configuration: ONE DigitalOcean transport (one rate limiter
// and one set of counters for the token), the inventory engine and the billing context on top of it.
import type pg from 'pg';
import type { Config } from '../config.js';
import { createPgRequestBudget } from '../db/rate-budget.js';
import { digitalOceanClientOn } from '../digitalocean/client.js';
import { createTransport, type Transport } from '../digitalocean/transport.js';
import type { SyncEvent } from '../events.js';
import type { Logger } from '../logger.js';
import type { BillingContext } from './billing/context.js';
import { createSyncEngine, type SyncEngine } from './inventory/engine.js';

export interface JobServices {
  /** Undefined without a token: every run then fails, saying so. */
  transport: Transport | undefined;
  engine: SyncEngine;
  billing: BillingContext;
}

/** The DigitalOcean transport from configuration, or undefined without a token; its budget is shared on `pool`. */
export function createTransportFromConfig(config: Config, logger: Logger, pool: pg.Pool): Transport | undefined {
  const { token, apiUrl, timeoutMs, maxRequestsPerMinute } = config.digitalocean;
  if (!token) return undefined;
  return createTransport({
    token,
    baseUrl: apiUrl,
    timeoutMs,
    maxRequestsPerMinute,
    budget: createPgRequestBudget({ pool, token, limit: maxRequestsPerMinute, logger }),
    logger: logger.child({ component: 'digitalocean' }),
  });
}

export function createJobServices(
  config: Config,
  pool: pg.Pool,
  logger: Logger,
  options: { onEvent?: (event: SyncEvent) => void; owner?: string } = {},
): JobServices {
  const transport = createTransportFromConfig(config, logger, pool);
  const { accountId } = config.digitalocean;
  const engine = createSyncEngine({
    db: pool,
    accountId,
    transport,
    fallback: { projectId: config.sync.fallbackProjectId, tenantId: config.sync.fallbackTenantId },
    logger: logger.child({ component: 'sync' }),
    ...(options.onEvent && { onEvent: options.onEvent }),
    ...(options.owner !== undefined && { owner: options.owner }),
  });
  const billing: BillingContext = {
    pool,
    api: transport && digitalOceanClientOn(transport),
    accountId,
    billingAccountUrn: config.digitalocean.billingAccountUrn,
    logger: logger.child({ component: 'billing' }),
    ...(options.onEvent && { onEvent: options.onEvent }),
    ...(options.owner !== undefined && { owner: options.owner }),
  };
  return { transport, engine, billing };
}
