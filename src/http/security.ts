// Security headers on every response of the HTTP server: no MIME sniffing, no referrer, never framed, a
// Content-Security-Policy that allows nothing (the API serves JSON) except on the GraphiQL page, and
// Strict-Transport-Security only when configured (HSTS_MAX_AGE_SECONDS: TLS usually ends at a proxy).
import type http from 'node:http';
import type { Config } from '../config.js';
import { GRAPHQL_PATH } from './graphql.js';

/** Nothing may load, run or frame: what a JSON answer needs. */
const API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The GraphiQL page is one HTML document with its bundle inlined (scripts, styles, data: icons and fonts) and
 * editor workers started from blob: or data: URLs; it talks to this origin only and is never framed either.
 */
const GRAPHIQL_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob: data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

/** Sets the headers on `res` before any route writes (routes that write their own headers keep these). */
export function securityHeaders(
  config: Config,
): (req: http.IncomingMessage, res: http.ServerResponse, path: string) => void {
  const hsts =
    config.http.hstsMaxAgeSeconds === undefined
      ? undefined
      : `max-age=${config.http.hstsMaxAgeSeconds}; includeSubDomains`;
  return (req, res, path) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    const graphiqlPage =
      config.graphql.graphiql &&
      req.method === 'GET' &&
      path === GRAPHQL_PATH &&
      !!req.headers.accept?.includes('text/html');
    res.setHeader('content-security-policy', graphiqlPage ? GRAPHIQL_POLICY : API_POLICY);
    if (hsts) res.setHeader('strict-transport-security', hsts);
  };
}
