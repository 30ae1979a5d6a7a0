// Process lifecycle shared by the server and the worker-only entry: choose the database, migrate,
// start what this process runs, and tear it all down in reverse order, within a bound.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveJwtSecret } from './auth.js';
import type pg from 'pg';
import type { Config } from './config.js';
import { assertReachable, createPool, createPrisma, isReachable, type PrismaClient } from './db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { StartupError, explainConnectionError } from './db/errors.js';
import { applyMigrations } from './db/migrate.js';
import { EventListener } from './events.js';
import { observedStateSource } from './domain/observed-state.js';
import { createHealthServer } from './http/health.js';
import { createMetricsServer } from './http/metrics-route.js';
import type { Logger } from './logger.js';
import { enableProcessMetrics, setObservedStateSource, trackPool } from './metrics.js';
import { startTracing } from './tracing.js';
import type { WorkerSupervisor } from './worker-supervisor.js';

export interface App {
  config: Config;
  databaseUrl: string;
  pool: pg.Pool;
  prisma: PrismaClient;
  /** The HTTP port actually bound (PORT=0 picks a free one), when this process serves HTTP. */
  port: number | undefined;
  /** The worker's health port actually bound (WORKER_HEALTH_PORT), in a worker-only process that has one. */
  healthPort: number | undefined;
  /** The port of METRICS_LISTEN actually bound, when set. */
  metricsPort: number | undefined;
  workerRunning(): boolean;
  stop(reason?: string): Promise<void>;
}

export interface AppOptions {
  http: boolean;
  worker: boolean;
}

/**
 * `logger` is the process's logger, created by the entry point from config.log; everything started here logs
 * through it.
 */
export async function startApp(config: Config, options: AppOptions, logger: Logger): Promise<App> {
  const cleanup: Array<() => Promise<void>> = [];
  const runCleanup = async (): Promise<void> => {
    for (const step of cleanup.reverse())
      await step().catch((error) => logger.warn({ err: String(error) }, 'shutdown step failed'));
  };

  try {
    // First, so that it stops last: what the shutdown itself does is still exported.
    const tracing = await startTracing(config.tracing, logger);
    cleanup.push(() => tracing.stop());

    const openDatabase = async (): Promise<string> => {
      let url: string;
      if (config.databaseUrl) {
        url = config.databaseUrl;
        await assertReachable(url);
      } else {
        const embedded: EmbeddedDatabase = await startEmbeddedPostgres({ ...config.embedded, logger });
        cleanup.push(() => embedded.stop());
        url = embedded.url;
      }
      const { applied } = await applyMigrations(url).catch((error: unknown) => {
        if (error instanceof StartupError) throw error;
        const code = (error as { code?: string } | null)?.code;
        if (code && /^(E[A-Z]+|28|3D)/.test(code)) throw explainConnectionError(url, error);
        throw new StartupError(`Database migration failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      if (applied.length > 0) logger.info({ applied }, 'applied database migrations');
      return url;
    };
    // Loading the HTTP layer and the worker is most of a cold start: it happens while the database starts and
    // migrates (both settle before anything else, so a failed start leaves nothing half-open).
    const [database, httpModule, workerModules] = await Promise.allSettled([
      openDatabase(),
      options.http ? import('./http/server.js') : undefined,
      options.worker ? Promise.all([import('./jobs/runner.js'), import('./worker-supervisor.js')]) : undefined,
    ]);
    for (const settled of [database, httpModule, workerModules])
      if (settled.status === 'rejected') throw settled.reason;
    const databaseUrl = (database as PromiseFulfilledResult<string>).value;

    // The main pool serves Prisma and the API; a process that runs a worker gives it a pool of its own, so neither
    // can starve the other. A worker-only process has only the worker's. See README "Connection budget".
    const workerOnly = options.worker && !options.http;
    const pool = createPool(databaseUrl, {
      logger,
      max: workerOnly ? config.worker.poolSize : config.databasePoolSize,
    });
    cleanup.push(() => pool.end());
    const untrackPool = trackPool(pool, workerOnly ? 'worker' : 'main');
    cleanup.push(() => {
      untrackPool();
      setObservedStateSource(undefined);
      return Promise.resolve();
    });
    const prisma = createPrisma(pool);
    cleanup.push(() => prisma.$disconnect());

    let worker: WorkerSupervisor | undefined;
    if (workerModules.status === 'fulfilled' && workerModules.value) {
      const [{ startWorker }, { superviseWorker }] = workerModules.value;
      let workerPool = pool;
      if (!workerOnly) {
        workerPool = createPool(databaseUrl, {
          logger,
          max: config.worker.poolSize,
          applicationName: 'cloud-ops-worker',
        });
        const created = workerPool;
        cleanup.push(() => created.end());
        const untrack = trackPool(created, 'worker');
        cleanup.push(() => Promise.resolve(untrack()));
      }
      const context = { config, pool: workerPool, prisma, logger };
      const supervisor = await superviseWorker({ start: () => startWorker(context), pool: workerPool, logger });
      worker = supervisor;
      cleanup.push(() =>
        stopWithin(supervisor.stop(), config.shutdownTimeoutMs, () =>
          logger.warn('worker did not finish its running jobs in time'),
        ),
      );
    }
    const workerRunning = (): boolean => worker?.running() ?? false;

    // Metrics: the scrape reads the database's state through the process's first pool.
    const metrics = config.metrics;
    if (metrics.enabled) {
      enableProcessMetrics();
      const { token, maxRequestsPerMinute } = config.digitalocean;
      setObservedStateSource(
        observedStateSource(pool, {
          accountId: config.digitalocean.accountId,
          budget: token ? { token, limit: maxRequestsPerMinute } : undefined,
          fastDroplets: config.sync.fastDroplets,
        }),
      );
    } else {
      logger.info('metrics off: in production /metrics needs METRICS_TOKEN or METRICS_LISTEN');
    }
    let metricsPort: number | undefined;
    if (metrics.enabled && metrics.listen) {
      const server = createMetricsServer(metrics);
      metricsPort = await listen(server, metrics.listen.host, metrics.listen.port);
      cleanup.push(() => closeServer(server));
      logger.info({ url: `http://${metrics.listen.host}:${metricsPort}/metrics` }, 'metrics listening');
    }

    let healthPort: number | undefined;
    if (workerOnly && config.worker.healthPort !== undefined) {
      const server = createHealthServer(
        {
          databaseReachable: () => isReachable(pool),
          worker: { enabled: true, running: workerRunning },
        },
        metrics.enabled && !metrics.listen ? metrics : undefined,
      );
      healthPort = await listen(server, config.host, config.worker.healthPort);
      cleanup.push(
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      );
      logger.info({ url: `http://localhost:${healthPort}/api/health/ready` }, 'worker health listening');
    }

    let port: number | undefined;
    if (httpModule.status === 'fulfilled' && httpModule.value) {
      const { createHttpServer } = httpModule.value;
      const jwtSecret = await resolveJwtSecret(config, { logger });
      // One LISTEN connection per server process, shared by every subscription in it (it reconnects by itself).
      const events = new EventListener(databaseUrl, logger);
      await events.start();
      cleanup.push(() => events.stop());
      const service = createHttpServer({
        config,
        pool,
        prisma,
        events,
        jwtSecret,
        workerRunning,
        logger,
      });
      port = await listen(service.server, config.host, config.port);
      cleanup.push(() => service.close(Math.min(5000, config.shutdownTimeoutMs)));
      logger.info(
        { url: `http://localhost:${port}/graphql` },
        'cloud-ops listening (GraphiQL at /graphql, health at /api/health)',
      );
    }

    let stopping: Promise<void> | undefined;
    return {
      config,
      databaseUrl,
      pool,
      prisma,
      port,
      healthPort,
      metricsPort,
      workerRunning: () => workerRunning() && stopping === undefined,
      stop: (reason = 'stop requested') => {
        stopping ??= (async () => {
          logger.info({ reason }, 'shutting down');
          await runCleanup();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    await runCleanup();
    throw error;
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EADDRINUSE')
        reject(new StartupError(`Port ${port} is already in use: set PORT to a free port or stop the other process.`));
      else if (error.code === 'EACCES')
        reject(new StartupError(`Not allowed to listen on port ${port}: choose a port above 1024 with PORT.`));
      else reject(error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function stopWithin(promise: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => (timer = setTimeout(() => (onTimeout(), resolve()), ms))),
  ]);
  clearTimeout(timer);
}
