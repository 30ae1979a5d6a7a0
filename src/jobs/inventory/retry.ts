// Every inventory statement is atomic on its own, so one that lost a deadlock (the projects walk and a listing
// writing the same rows at the same moment lock them in different orders) is simply sent again.
import type { QueryResult, QueryResultRow } from 'pg';
import type { Logger } from '../../logger.js';
import type { SqlClient } from './sql.js';

const MAX_ATTEMPTS = 4;
/** deadlock_detected, serialization_failure */
const RETRYABLE_CODES = new Set(['40P01', '40001']);

export function retryingDeadlocks(db: SqlClient, log: Logger): SqlClient {
  return {
    async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.query<R>(text, values);
        } catch (error) {
          const code = (error as { code?: unknown } | null)?.code;
          if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE_CODES.has(code)) throw error;
          log.warn({ attempt, code }, 'sync: statement lost a deadlock; sending it again');
          await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 40));
        }
      }
    },
  };
}
