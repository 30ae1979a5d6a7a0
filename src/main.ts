// Shared by the entry points: load the config, create the process's logger from it, start, and handle signals so
// that nothing is left behind. The entry point decides beforehand whether a .env applies (loadEnvFile).
import { ConfigError, loadConfig, type Config } from './config.js';
import { StartupError } from './db/errors.js';
import { startApp, type App, type AppOptions } from './app.js';
import { createLogger, type Logger } from './logger.js';

export async function main(options: (config: Config) => AppOptions): Promise<App | undefined> {
  let app: App | undefined;
  // Created from the config, so it exists once loadConfig() has succeeded; before that, errors go to stderr.
  let logger: Logger | undefined;
  let firstSignalAt: number | undefined;
  const shutdown = (signal: string): void => {
    if (firstSignalAt !== undefined) {
      // Ctrl-C reaches both tsx and this process; only a later, deliberate signal is worth a word.
      if (Date.now() - firstSignalAt > 1000) logger?.warn({ signal }, 'already shutting down');
      return;
    }
    firstSignalAt = Date.now();
    const stop = app ? app.stop(signal) : Promise.resolve();
    void stop.then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  // A crash still tears down in order, so the embedded PostgreSQL never outlives the process.
  const crash = (error: unknown): void => {
    if (logger) logger.fatal({ err: error }, 'unexpected error; shutting down');
    else
      process.stderr.write(
        `cloud-ops: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    const stop = app ? app.stop('crash') : Promise.resolve();
    void stop.finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  // A promise nobody waited for failed (typically a lost database connection): once the service is up, that is
  // logged and the process keeps serving, with readiness saying what is down; an outage must never end the process.
  // During startup it is still fatal, as nothing is serving yet.
  process.on('unhandledRejection', (error) => {
    if (app && logger) logger.error({ err: error }, 'unhandled promise rejection; the process keeps running');
    else crash(error);
  });

  try {
    const config = loadConfig();
    logger = createLogger(config.log);
    app = await startApp(config, options(config), logger);
    return app;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      // One clear line (or the list of config problems), no stack: the message says what to fix.
      process.stderr.write(`cloud-ops: ${error.message}\n`);
    } else if (logger) {
      logger.fatal({ err: error }, 'startup failed');
    } else {
      process.stderr.write(
        `cloud-ops: startup failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  }
}
