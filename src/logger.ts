import { pino, type Logger } from 'pino';

// Secrets must never reach a log line: these paths are censored wherever they appear in a logged object.
const redact = {
  paths: [
    'token', '*.token', 'password', '*.password', 'secret', '*.secret', 'authorization', '*.authorization',
    'headers.authorization', '*.headers.authorization', 'connection', '*.connection', 'databaseUrl', '*.databaseUrl',
  ],
  censor: '[redacted]',
};

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function createLogger(): Logger {
  // The logger exists before the config is loaded, so it reads its two variables itself; an invalid value falls
  // back to the default here and is reported with every other problem by loadConfig().
  const requested = process.env.LOG_LEVEL?.trim().toLowerCase();
  const level = requested && LOG_LEVELS.includes(requested) ? requested : process.env.NODE_ENV === 'test' ? 'silent' : 'info';
  const pretty = process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : process.env.NODE_ENV !== 'production' && process.stdout.isTTY;
  if (pretty) {
    return pino({ level, redact, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino({ level, redact, base: { service: 'cloud-ops' } });
}

export const logger = createLogger();
export type { Logger };
