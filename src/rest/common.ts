// What the seed's REST routes share: bearer authentication with the same errors as GraphQL, query
// parameter parsing, and cursor paging parameters.
import type http from 'node:http';
import { AuthError, type Authenticator, type Viewer } from '../auth.js';
import { sendJson } from '../http.js';

/** A bad query parameter: answered with 400 and the message. */
export class BadRequestError extends Error {}

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
    if (!viewer) throw new AuthError('Authentication required: send "Authorization: Bearer <token>"', 'UNAUTHENTICATED');
    if (options.adminOnly && !viewer.admin) throw new AuthError(options.forbiddenMessage ?? 'Platform admin only', 'FORBIDDEN');
    if (!viewer.admin && viewer.tenantId === null) throw new AuthError('The token names no tenant', 'FORBIDDEN');
    return viewer;
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    const status = error.code === 'UNAUTHENTICATED' ? 401 : 403;
    sendJson(res, status, { error: error.code.toLowerCase(), message: error.message }, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
    return undefined;
  }
}

export function intParam(raw: string | null, fallback: number, min: number, max: number, name: string): number {
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new BadRequestError(`${name} must be an integer between ${min} and ${max}`);
  return value;
}

/** Repeated or comma-separated values of one parameter (`?kind=a&kind=b` or `?kind=a,b`). */
export function listParam(query: URLSearchParams, name: string): string[] | undefined {
  return query.has(name) ? query.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean) : undefined;
}

/** `limit` and `after` (an id cursor) of a paged listing. */
export function pageParams(query: URLSearchParams): { limit: number; after: number } {
  return {
    limit: intParam(query.get('limit'), 1000, 1, 5000, 'limit'),
    after: intParam(query.get('after'), 0, 0, 2_147_483_647, 'after'),
  };
}

export function sendBadRequest(res: http.ServerResponse, message: string): void {
  sendJson(res, 400, { error: 'bad_request', message });
}
