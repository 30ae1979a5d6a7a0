/**
 * `npm run simulator` → a DigitalOcean API simulator on http://127.0.0.1:4010.
 *
 * Options: --port N (or SIMULATOR_PORT), --host H, --seed N (or SIMULATOR_SEED), --token T (require this bearer
 * token), --droplets N, --snapshots N (scale), --large-invoice N (extra invoice with N lines),
 * --faults '<json>' (a Faults object, e.g. '{"serverError":{"probability":0.05}}'), --months N (closed months),
 * --now <ISO instant> (the account's clock), --quiet.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadLogOptions } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import type { Faults } from './faults.js';
import { startSimulator } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    seed: { type: 'string' },
    token: { type: 'string' },
    droplets: { type: 'string' },
    snapshots: { type: 'string' },
    'large-invoice': { type: 'string' },
    faults: { type: 'string' },
    months: { type: 'string' },
    now: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});

// Its own logger, from LOG_LEVEL and LOG_FORMAT as the service's (a .env is the service's, not read here).
let logger: Logger;
try {
  logger = createLogger(loadLogOptions());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`simulator: ${error.message}\n`);
  process.exit(1);
}

const int = (v: string | undefined, fallback: number): number => {
  const n = v === undefined ? NaN : Number.parseInt(v, 10);
  return Number.isNaN(n) ? fallback : n;
};

const port = int(values.port ?? process.env.SIMULATOR_PORT, 4010);
const scale: { droplets?: number; snapshots?: number; months?: number } = {};
if (values.months) scale.months = int(values.months, 12);
if (values.droplets) scale.droplets = int(values.droplets, 30);
if (values.snapshots) scale.snapshots = int(values.snapshots, 24);

const sim = await startSimulator({
  port,
  host: values.host,
  seed: int(values.seed ?? process.env.SIMULATOR_SEED, 1),
  token: values.token,
  scale,
  largeInvoiceLines: values['large-invoice'] ? int(values['large-invoice'], 0) : undefined,
  faults: values.faults ? (JSON.parse(values.faults) as Faults) : undefined,
  ...(values.now ? { now: values.now } : {}),
  logger,
  log: !values.quiet,
});

const counts = `${sim.account.count('droplet')} droplets, ${sim.account.count('snapshot')} snapshots, ${sim.billing.invoices.length} invoices`;
process.stdout.write(`DigitalOcean API simulator listening on ${sim.url} (seed ${sim.account.seed}; ${counts})\n`);
process.stdout.write(`Run the service against it:\n  DIGITALOCEAN_API_URL=${sim.url} npm start\n`);

const stop = (): void => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
