// What the REST routes share: bearer authentication with the same errors as GraphQL, query parameter
// parsing, cursor paging parameters, and domain errors answered as 400 (bad input) or 403 (another tenant).
import type http from 'node:http';
import { AuthError, type Authenticator, type Viewer } from '../../auth.js';
import { ForbiddenError, InvalidArgumentError } from '../../domain/errors.js';
import { sendJson } from '../respond.js';

/**
 * The viewer of a GET request, or undefined once an error response (405, 401, 403) has been sent.
 * `adminOnly` routes answer 403 to everyone but platform admins; others need a tenant or admin.
 */
export async function authenticateRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  authenticator: Authenticator,
  options: { adminOnly: boolean; forbiddenMessage?: string },
): Promise<Viewer | undefined> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'method_not_allowed', message: 'Use GET' }, { allow: 'GET, HEAD' });
    return undefined;
  }
  try {
    const viewer = await authenticator.authenticate(req.headers.authorization);
    if (!viewer)
      throw new AuthError('Authentication required: send "Authorization: Bearer <token>"', 'UNAUTHENTICATED');
    if (options.adminOnly && !viewer.admin)
      throw new AuthError(options.forbiddenMessage ?? 'Platform admin only', 'FORBIDDEN');
    if (!viewer.admin && viewer.tenantId === null) throw new AuthError('The token names no tenant', 'FORBIDDEN');
    return viewer;
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    const status = error.code === 'UNAUTHENTICATED' ? 401 : 403;
    sendJson(
      res,
      status,
      { error: error.code.toLowerCase(), message: error.message },
      status === 401 ? { 'www-authenticate': 'Bearer' } : {},
    );
    return undefined;
  }
}

/**
 * What `parse` reads from the query, or undefined once the error response has been sent: 400 for a bad
 * parameter (InvalidArgumentError), 403 for a filter naming another tenant (ForbiddenError).
 */
export function readParams<T>(res: http.ServerResponse, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidArgumentError) sendJson(res, 400, { error: 'bad_request', message: error.message });
    else if (error instanceof ForbiddenError) sendJson(res, 403, { error: 'forbidden', message: error.message });
    else throw error;
    return undefined;
  }
}

function intParam(raw: string | null, fallback: number, min: number, max: number, name: string): number {
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}`, name);
  return value;
}

/** Repeated or comma-separated values of one parameter (`?kind=a&kind=b` or `?kind=a,b`). */
export function listParam(query: URLSearchParams, name: string): string[] | undefined {
  return query.has(name)
    ? query
        .getAll(name)
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter(Boolean)
    : undefined;
}

/** `limit` and `after` (an id cursor) of a paged listing. */
export function pageParams(query: URLSearchParams): { limit: number; after: number } {
  return {
    limit: intParam(query.get('limit'), 1000, 1, 5000, 'limit'),
    after: intParam(query.get('after'), 0, 0, 2_147_483_647, 'after'),
  };
}

/** One page of rows ordered by id, read with one row more than the limit: the page and the next cursor. */
export function pageOf<T extends { id: number }>(rows: T[], limit: number): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return { page, nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null };
}
