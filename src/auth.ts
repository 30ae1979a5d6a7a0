// Who is calling: verifies the identity service's JWTs (verify only, never issue in production) and turns
// them into a Viewer. Shared by the GraphQL HTTP route, the WebSocket handshake and the REST route.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GraphQLError } from 'graphql';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import type { Config, RolesFormat } from './config.js';
import type { Logger } from './logger.js';

export interface Viewer {
  subject: string;
  /** The roles claim contains the admin role (platform_admin by default). */
  admin: boolean;
  /** The tenant the viewer belongs to; a non-admin without one can see nothing. */
  tenantId: string | null;
  /** When the token stops being valid (ms since epoch): long-lived subscriptions end then. */
  expiresAt: number | null;
}

export type AuthErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN';

/** An error a client can act on: UNAUTHENTICATED (send a valid token) or FORBIDDEN (this viewer may not). */
export class AuthError extends GraphQLError {
  constructor(
    message: string,
    readonly code: AuthErrorCode,
  ) {
    super(message, {
      extensions: {
        code,
        http: {
          status: code === 'UNAUTHENTICATED' ? 401 : 403,
          ...(code === 'UNAUTHENTICATED' ? { headers: { 'www-authenticate': 'Bearer' } } : {}),
        },
      },
    });
    this.name = 'AuthError';
  }
}

/** Where a development machine keeps its generated secret, so the server and `npm run token` agree. */
export const LOCAL_SECRET_FILE = path.resolve('.data/jwt-secret');

/**
 * The shared secret: JWT_SECRET, or (outside production) a random local secret generated once and kept in
 * .data/jwt-secret with mode 600. Production never gets here without JWT_SECRET (config refuses to start).
 * A newly generated secret is reported through onGenerated, else logged with `logger`.
 */
export async function resolveJwtSecret(
  config: Config,
  options: { file?: string; logger?: Logger; onGenerated?: (file: string) => void } = {},
): Promise<Uint8Array> {
  const file = options.file ?? LOCAL_SECRET_FILE;
  const onGenerated =
    options.onGenerated ??
    ((path: string) =>
      options.logger?.info(
        { file: path },
        'generated a local JWT secret for development (set JWT_SECRET to use the identity service)',
      ));
  if (config.jwt.secret) return new TextEncoder().encode(config.jwt.secret);
  if (config.nodeEnv === 'production') throw new Error('JWT_SECRET is required in production');
  try {
    return new TextEncoder().encode((await readFile(file, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  try {
    // 'wx': when two processes start at once, the second one reads what the first one wrote.
    await writeFile(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
    await chmod(file, 0o600);
    onGenerated(file);
    return new TextEncoder().encode(secret);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return new TextEncoder().encode((await readFile(file, 'utf8')).trim());
  }
}

export interface Authenticator {
  /** `Authorization` header value (or WebSocket connection param): no token → null; a bad token → AuthError. */
  authenticate(authorization: string | null | undefined): Promise<Viewer | null>;
}

/** Verified tokens an authenticator remembers (a client sends the same token with every request until it expires). */
const VERIFIED_TOKENS_MAX = 2048;

/** `logger` receives one summary line of failed authentications per JWT failure-log interval. */
export function createAuthenticator(jwt: Config['jwt'], secret: Uint8Array, logger?: Logger): Authenticator {
  const verified = new VerifiedTokens(VERIFIED_TOKENS_MAX, jwt.clockToleranceSeconds * 1000);
  const failures = new FailureLog(jwt.failureLogIntervalSeconds, logger);
  const authenticate = async (authorization: string) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
    if (!match?.[1])
      throw new AuthError('Malformed Authorization header: expected "Bearer <token>"', 'UNAUTHENTICATED');
    const token = match[1];
    const known = verified.get(token);
    if (known) return known;
    const viewer = await verifyToken(token, jwt, secret);
    verified.set(token, viewer);
    return viewer;
  };
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === null || authorization.trim() === '') return null;
      try {
        return await authenticate(authorization);
      } catch (error) {
        if (error instanceof AuthError) failures.record(error.message);
        throw error;
      }
    },
  };
}

/**
 * Failed authentications, counted by reason and logged as one line per interval (never one per request, so a
 * flood of bad tokens cannot flood the log). Reasons are our own messages: no token text ever reaches the log.
 */
class FailureLog {
  private counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalSeconds: number,
    private readonly logger: Logger | undefined,
  ) {}

  record(reason: string): void {
    if (!this.logger) return;
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), this.intervalSeconds * 1000).unref();
  }

  private flush(): void {
    this.timer = undefined;
    const reasons = Object.fromEntries(this.counts);
    const failures = [...this.counts.values()].reduce((sum, n) => sum + n, 0);
    this.counts = new Map();
    this.logger?.warn(
      { failures, reasons, intervalSeconds: this.intervalSeconds },
      `${failures} failed authentication(s) in the last ${this.intervalSeconds} s`,
    );
  }
}

/**
 * Tokens that passed verifyToken, by their exact text, so that a client sending the same token with every
 * request pays for the signature check once. What verification decided cannot change with time except `exp`
 * (signature, algorithm, issuer, audience and type are in the text; a passed `nbf`/`iat` stays passed), so a
 * hit is re-checked against `exp` with the same clock tolerance and, once expired, dropped and verified again
 * (which refuses it with the usual message). Failures are never remembered. Bounded: the oldest entry goes first.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, Viewer>();

  constructor(
    private readonly max: number,
    private readonly toleranceMs: number,
  ) {}

  get(token: string): Viewer | undefined {
    const viewer = this.entries.get(token);
    if (viewer === undefined) return undefined;
    if (viewer.expiresAt === null || viewer.expiresAt + this.toleranceMs < Date.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return viewer;
  }

  set(token: string, viewer: Viewer): void {
    // verifyToken requires `exp`; a viewer without one is not remembered (it would never be re-checked).
    if (viewer.expiresAt === null) return;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, Object.freeze(viewer));
  }
}

export async function verifyToken(token: string, jwt: Config['jwt'], secret: Uint8Array): Promise<Viewer> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, secret, {
      algorithms: jwt.algorithms,
      issuer: jwt.issuer,
      ...(jwt.audience ? { audience: jwt.audience } : {}),
      clockTolerance: jwt.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
    }));
  } catch (error) {
    throw new AuthError(`Invalid token: ${describeJoseError(error)}`, 'UNAUTHENTICATED');
  }
  // Guardian puts the token type in the claims; only access tokens open the API (never a refresh token).
  if (payload.typ !== undefined && payload.typ !== 'access') {
    throw new AuthError(
      `Invalid token: token type "${typeof payload.typ === 'string' ? payload.typ : JSON.stringify(payload.typ)}" is not accepted (expected "access")`,
      'UNAUTHENTICATED',
    );
  }
  if (typeof payload.sub !== 'string' || payload.sub === '')
    throw new AuthError('Invalid token: "sub" must be a non-empty string', 'UNAUTHENTICATED');
  const lifetimeProblem = checkLifetime(payload, jwt);
  if (lifetimeProblem) throw new AuthError(`Invalid token: ${lifetimeProblem}`, 'UNAUTHENTICATED');
  const roles = readRoles(payload, jwt.rolesClaim, jwt.rolesFormat);
  const tenant = readClaim(payload, jwt.tenantClaim);
  return {
    subject: payload.sub,
    admin: roles.includes(jwt.adminRole),
    tenantId: typeof tenant === 'string' && tenant !== '' ? tenant : typeof tenant === 'number' ? String(tenant) : null,
    expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null,
  };
}

/**
 * A token lives at most maxLifetimeSeconds (exp - iat, and exp - now: a token without iat cannot claim a long
 * life either), and was not issued in the future (beyond the clock tolerance). jose checks iat only for its type.
 */
function checkLifetime(payload: JWTPayload, jwt: Config['jwt']): string | undefined {
  const now = Math.floor(Date.now() / 1000);
  const exp = payload.exp as number; // required and checked by jwtVerify
  const max = jwt.maxLifetimeSeconds;
  if (payload.iat !== undefined) {
    if (payload.iat > now + jwt.clockToleranceSeconds) return 'token issued in the future';
    if (exp - payload.iat > max) return `token lifetime exceeds the maximum of ${max} s`;
  }
  if (exp - now > max + jwt.clockToleranceSeconds) return `token lifetime exceeds the maximum of ${max} s`;
  return undefined;
}

/**
 * Roles from the configured claim (a dotted path is followed), read only in the configured format: by default
 * a JSON array of strings, so a string claim (or a singular `role` claim) grants nothing unless configured.
 */
function readRoles(payload: JWTPayload, claim: string, format: RolesFormat): string[] {
  const value = readClaim(payload, claim);
  if (Array.isArray(value) && format !== 'delimited') return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string' && format !== 'array') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

function readClaim(payload: JWTPayload, claim: string): unknown {
  if (claim in payload) return payload[claim];
  let value: unknown = payload;
  for (const part of claim.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function describeJoseError(error: unknown): string {
  const { code, claim } = (error ?? {}) as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return 'token not yet valid';
      if (claim === 'iat') return 'token issued in the future';
      if (claim === 'iss') return 'unexpected issuer';
      if (claim === 'aud') return 'unexpected audience';
      return `claim "${claim ?? '?'}" failed validation`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'signing algorithm not allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature verification failed';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed token';
    default:
      return 'token could not be verified';
  }
}

export interface TokenOptions {
  subject: string;
  admin?: boolean | undefined;
  tenantId?: string | undefined;
  /** Lifetime in seconds. */
  ttlSeconds?: number | undefined;
}

/** Signs a token the way the identity service does; for `npm run token`, the demo and tests, never production. */
export async function signToken(jwt: Config['jwt'], secret: Uint8Array, options: TokenOptions): Promise<string> {
  const claims: JWTPayload = { typ: 'access', [jwt.rolesClaim]: options.admin ? [jwt.adminRole] : [] };
  if (options.tenantId) claims[jwt.tenantClaim] = options.tenantId;
  const token = new SignJWT(claims)
    .setProtectedHeader({ alg: jwt.algorithms[0] ?? 'HS512', typ: 'JWT' })
    .setSubject(options.subject)
    .setIssuer(jwt.issuer)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 3600));
  if (jwt.audience) token.setAudience(jwt.audience);
  return token.sign(secret);
}
