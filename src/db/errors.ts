import { describePostgresUrl } from '../config.js';

/** A startup failure that is fully explained by its one-line message: printed without a stack. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Turns a pg connection failure into one line that says what to fix, never echoing the password. */
export function explainConnectionError(databaseUrl: string, error: unknown): StartupError {
  const where = describePostgresUrl(databaseUrl);
  const code = (error as { code?: string } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return new StartupError(
        `Cannot reach PostgreSQL at ${where}: connection refused. Start the server or fix DATABASE_URL (unset it to use the embedded database).`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`Cannot resolve the PostgreSQL host in DATABASE_URL (${where}). Fix the host name.`);
    case 'ETIMEDOUT':
      return new StartupError(
        `Timed out connecting to PostgreSQL at ${where}. Check the host, port and firewall in DATABASE_URL.`,
      );
    case '28P01':
    case '28000':
      return new StartupError(
        `PostgreSQL at ${where} rejected the credentials. Fix the user or password in DATABASE_URL.`,
      );
    case '3D000':
      return new StartupError(
        `The database in DATABASE_URL (${where}) does not exist. Create it (createdb) or fix the database name.`,
      );
    default: {
      const message = error instanceof Error ? error.message : String(error);
      // pg messages can quote the connection string; strip anything that looks like user:password@.
      const safe = message.replace(/\/\/[^@\s/]*@/g, '//***@');
      return new StartupError(`Cannot connect to PostgreSQL at ${where}: ${safe}`);
    }
  }
}
