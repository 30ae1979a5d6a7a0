/**
 * DigitalOcean API simulator: a deterministic fake of the API v2 endpoints cloud-ops reads, with churn,
 * consistent billing and fault injection. See README.md in this folder.
 *
 *   const sim = await startSimulator({ seed: 1, scale: { droplets: 10_000 } });
 *   // point the client at sim.url, churn with sim.account, break things with sim.setFaults({...})
 *   await sim.close();
 */
export { startSimulator, RequestLog } from './server.js';
export type { Simulator, SimulatorOptions, RequestLogEntry, RequestFilter } from './server.js';
export type * from './faults.js';
export { FaultEngine, matchesPath } from './faults.js';
export { SimAccount, DEFAULT_SCALE, DEFAULT_NOW, KINDS, recordKey, recordUrn } from './state.js';
export type * from './state.js';
export { Billing, formatMoney, csvDate } from './billing.js';
export type {
  BilledKind,
  BillingHistoryEntry,
  Invoice,
  InvoiceLine,
  LineRef,
  LineStatus,
  LineTruth,
  MatchExpectation,
} from './billing.js';
export { DEFAULT_PER_PAGE, MAX_PER_PAGE, NOT_FOUND_BODY } from './routes.js';
