// The service's structured logger (pino). An entry point creates one from its config and passes it down to
// everything that logs; this module reads no environment, so the order in which modules load never matters.
import { pino, type Logger } from 'pino';

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
    'token',
    '*.token',
    'password',
    '*.password',
    'secret',
    '*.secret',
    'authorization',
    '*.authorization',
    'headers.authorization',
    '*.headers.authorization',
    'connection',
    '*.connection',
    'databaseUrl',
    '*.databaseUrl',
  ],
  censor: '[redacted]',
};

export function createLogger(options: LoggerOptions): Logger {
  const { level, format } = options;
  if (format === 'pretty') {
    return pino({
      level,
      redact,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ level, redact, base: { service: 'cloud-ops' } });
}

/** For code that takes an optional logger (tests, benches, the simulator) and logs nothing without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
