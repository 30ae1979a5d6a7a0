import { pino, type Logger } from 'pino';

// Secrets must never reach a log line: these paths are censored wherever they appear in a logged object.
const redact = {
  paths: [
    'token', '*.token', 'password', '*.password', 'secret', '*.secret', 'authorization', '*.authorization',
    'headers.authorization', '*.headers.authorization', 'connection', '*.connection', 'databaseUrl', '*.databaseUrl',
  ],
  censor: '[redacted]',
};

function createLogger(): Logger {
  const level = process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info');
  const pretty = process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : process.env.NODE_ENV !== 'production' && process.stdout.isTTY;
  if (pretty) {
    return pino({ level, redact, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino({ level, redact, base: { service: 'cloud-ops' } });
}

export const logger = createLogger();
export type { Logger };
