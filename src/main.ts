// Shared by the entry points: load config, start, and handle signals so that nothing is left behind.
import { ConfigError, loadConfig } from './config.js';
import { StartupError } from './db/errors.js';
import { startApp, type App, type AppOptions } from './app.js';
import { logger } from './logger.js';

export async function main(options: (config: ReturnType<typeof loadConfig>) => AppOptions): Promise<App | undefined> {
  let app: App | undefined;
  let firstSignalAt: number | undefined;
  const shutdown = (signal: string): void => {
    if (firstSignalAt !== undefined) {
      // Ctrl-C reaches both tsx and this process; only a later, deliberate signal is worth a word.
      if (Date.now() - firstSignalAt > 1000) logger.warn({ signal }, 'already shutting down');
      return;
    }
    firstSignalAt = Date.now();
    const stop = app ? app.stop(signal) : Promise.resolve();
    void stop.then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  // A crash still tears down in order, so the embedded PostgreSQL never outlives the process.
  const crash = (error: unknown): void => {
    logger.fatal({ err: error }, 'unexpected error; shutting down');
    const stop = app ? app.stop('crash') : Promise.resolve();
    void stop.finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  try {
    const config = loadConfig();
    app = await startApp(config, options(config));
    return app;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      // One clear line (or the list of config problems), no stack: the message says what to fix.
      process.stderr.write(`cloud-ops: ${error.message}\n`);
    } else {
      logger.fatal({ err: error }, 'startup failed');
    }
    process.exit(1);
  }
}
