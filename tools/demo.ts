// `npm run demo`: the whole service on one machine with nothing else installed. An embedded PostgreSQL
// (.data/demo-postgres, or DATABASE_URL), the DigitalOcean simulator (a seeded account that changes a little
// between syncs), and the server with its worker, syncing everything every DEMO_INTERVAL_SECONDS (20) so that
// progress is there to watch. Prints the GraphiQL URL, an admin token and a subscription to paste.
// A sandbox: it reads no .env, only the real environment.
import path from 'node:path';
import { resolveJwtSecret, signToken } from '../src/auth.js';
import { startApp, type App } from '../src/app.js';
import { ConfigError, loadConfig, loadLogOptions } from '../src/config.js';
import { StartupError } from '../src/db/errors.js';
import { enqueueTask } from '../src/domain/queue.js';
import { createLogger } from '../src/logger.js';
import { startSimulator, type Simulator } from './simulator/index.js';

const INTERVAL_SECONDS = Number(process.env.DEMO_INTERVAL_SECONDS ?? 20);

let app: App | undefined;
let sim: Simulator | undefined;
let timer: NodeJS.Timeout | undefined;

async function main(): Promise<void> {
  if (process.env.NODE_ENV === 'production') throw new Error('the demo signs its own tokens and is not for production');
  // The demo's own banner stays readable: warnings still show; LOG_LEVEL=info brings back every sync's log line.
  const logger = createLogger(loadLogOptions({ LOG_LEVEL: 'warn', ...process.env }));
  sim = await startSimulator({ seed: Number(process.env.SIMULATOR_SEED ?? 1), logger });
  const config = loadConfig({
    PORT: '4005',
    EMBEDDED_PG_DATA_DIR: path.resolve('.data/demo-postgres'),
    EMBEDDED_PG_PORT: '54330',
    ...process.env,
    // The simulator is the account; pacing is the simulator's business here.
    DIGITALOCEAN_TOKEN: 'demo-token',
    DIGITALOCEAN_API_URL: sim.url,
    DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE: '100000',
    RUN_WORKER: 'true',
  });
  app = await startApp(config, { http: true, worker: true }, logger);

  const sync = (): void => {
    churn(sim!);
    enqueueTask(app!.pool, 'all', 'cli').catch((error: unknown) =>
      logger.warn({ err: String(error) }, 'demo: could not queue the syncs'),
    );
  };
  sync();
  timer = setInterval(sync, INTERVAL_SECONDS * 1000);

  const secret = await resolveJwtSecret(config, { logger });
  const admin = await signToken(config.jwt, secret, { subject: 'demo-admin', admin: true, ttlSeconds: 12 * 3600 });
  const url = `http://localhost:${app.port}/graphql`;
  process.stdout.write(`
cloud-ops demo
  GraphiQL         ${url}
  simulator        ${sim.url} (${sim.account.count('droplet')} droplets, ${sim.account.count('project')} projects)
  syncs            every ${INTERVAL_SECONDS} s (all tasks), a droplet created and one deleted before each

Admin token (12 h; 'npm run token -- --tenant <id>' signs a tenant's), for GraphiQL's Headers tab:
  { "Authorization": "Bearer ${admin}" }

Paste into GraphiQL and run, to watch the syncs:
  subscription { syncProgress { type task runId done total counts { listed created updated unchanged markedStale } message at } }

Or from a shell (SSE):
  curl -N ${url} -H 'content-type: application/json' -H 'accept: text/event-stream' \\
    -H 'authorization: Bearer ${admin}' \\
    -d '{"query":"subscription { syncProgress { type task done total } }"}'

Ctrl-C stops everything.
`);
}

/** A small change to the simulated account before each sync, so syncs have something to create and retire. */
function churn(simulator: Simulator): void {
  simulator.account.createDroplet();
  const oldest = simulator.account
    .list('droplet')
    .find((droplet) => !droplet.tags.some((tag) => tag.startsWith('k8s')));
  if (oldest) simulator.account.deleteDroplet(oldest.id);
}

async function stop(signal: string): Promise<void> {
  clearInterval(timer);
  await app?.stop(signal);
  await sim?.close();
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void stop(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch(async (error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError || error instanceof Error)
    process.stderr.write(`demo: ${error.message}\n`);
  else process.stderr.write(`demo: ${String(error)}\n`);
  await stop('startup failed').catch(() => undefined);
  process.exit(1);
});
