// The service's structured logger (pino). An entry point creates one from its config and passes it down to
// everything that logs; this module reads no environment, so the order in which modules load never matters.
import { pino, type Bindings, type ChildLoggerOptions, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level: string;
  format: LogFormat;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

// Secrets must never reach a log line: these paths are censored wherever they appear in a logged object.
const redact = {
  paths: [
    'token', '*.token', 'password', '*.password', 'secret', '*.secret', 'authorization', '*.authorization',
    'headers.authorization', '*.headers.authorization', 'connection', '*.connection', 'databaseUrl', '*.databaseUrl',
  ],
  censor: '[redacted]',
};

export function createLogger(options: LoggerOptions): Logger {
  const { level, format } = options;
  if (format === 'pretty') {
    return pino({ level, redact, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino({ level, redact, base: { service: 'cloud-ops' } });
}

/** For code that takes an optional logger (tests, benches, the simulator) and logs nothing without one. */
export const silentLogger: Logger = pino({ level: 'silent' });

// TEMPORARY: removed at integration. The process-wide `logger` below serves the modules that do not take a Logger
// yet. It forwards to the logger an entry point installs with useAsDefaultLogger(), so there is still one logger
// per process; until one is installed (tests, `npm run sync`) it is created on first use from LOG_LEVEL, LOG_FORMAT
// and NODE_ENV, as loadConfig() would, leniently: loadConfig() reports invalid values. Its children (some are made
// while modules load, before the entry point has read the .env) forward in the same way.
let installedLogger: Logger | undefined;
let fallbackLogger: Logger | undefined;

// TEMPORARY: removed at integration.
export function useAsDefaultLogger(logger: Logger): void {
  installedLogger = logger;
}

// TEMPORARY: removed at integration.
function defaultLogger(): Logger {
  if (installedLogger) return installedLogger;
  if (!fallbackLogger) {
    const requested = process.env.LOG_LEVEL?.trim().toLowerCase();
    const level = requested && LOG_LEVELS.includes(requested) ? requested : process.env.NODE_ENV === 'test' ? 'silent' : 'info';
    const pretty = process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : process.env.NODE_ENV !== 'production' && process.stdout.isTTY;
    fallbackLogger = createLogger({ level, format: pretty ? 'pretty' : 'json' });
  }
  return fallbackLogger;
}

// TEMPORARY: removed at integration.
function forwardingLogger(current: () => Logger): Logger {
  return new Proxy({} as Logger, {
    get(_target, property) {
      if (property === 'child') {
        return (bindings: Bindings, options?: ChildLoggerOptions) => {
          let parent: Logger | undefined;
          let child: Logger | undefined;
          return forwardingLogger(() => {
            const latest = current();
            if (latest !== parent || !child) [parent, child] = [latest, latest.child(bindings, options)];
            return child;
          });
        };
      }
      const target = current();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// TEMPORARY: removed at integration.
export const logger: Logger = forwardingLogger(defaultLogger);
