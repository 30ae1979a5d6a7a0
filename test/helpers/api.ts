// The HTTP service in this process (no child process): so a test can count the SQL statements a request runs,
// sign tokens with the secret the server uses, and publish events into the server's LISTEN connection.
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';
import { silentLogger } from '../../src/logger.js';
import type pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { createPool, createPrisma, type PrismaClient } from '../../src/db/client.js';
import { EventListener } from '../../src/events.js';
import { createHttpServer, type HttpService } from '../../src/http/server.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_JWT_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const secretKey = new TextEncoder().encode(TEST_JWT_SECRET);

export interface Api {
  url: string;
  config: Config;
  db: TestDatabase;
  pool: pg.Pool;
  prisma: PrismaClient;
  events: EventListener;
  service: HttpService;
  /** Every SQL statement sent through the pool since the last reset. */
  statements: string[];
  resetStatements(): void;
  close(): Promise<void>;
}

export async function startApi(env: Record<string, string> = {}): Promise<Api> {
  const db = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    RUN_WORKER: 'false',
    ...env,
  });
  const pool = createPool(db.url);
  const statements: string[] = [];
  // Counts at the lowest level: every query of every pooled connection (Prisma's adapter and raw SQL alike).
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const first = args[0];
      statements.push(typeof first === 'string' ? first : ((first as { text?: string })?.text ?? '?'));
      return query(...args);
    };
  });
  const prisma = createPrisma(pool);
  const events = new EventListener(db.url);
  await events.start();
  const service = createHttpServer({
    config,
    pool,
    prisma,
    events,
    jwtSecret: secretKey,
    workerRunning: () => false,
    logger: silentLogger,
  });
  await new Promise<void>((resolve) => service.server.listen(0, '127.0.0.1', resolve));
  const { port } = service.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    config,
    db,
    pool,
    prisma,
    events,
    service,
    statements,
    resetStatements: () => void statements.splice(0),
    async close() {
      await service.close(100);
      await events.stop();
      await prisma.$disconnect();
      await pool.end();
      await db.drop();
    },
  };
}

export interface TokenSpec {
  sub?: string;
  admin?: boolean;
  tenant?: string;
  /** Seconds from now; negative: already expired. */
  expiresIn?: number;
  notBefore?: number;
  /** Seconds from now (default 0); exp stays relative to now. */
  issuedAt?: number;
  issuer?: string;
  audience?: string;
  alg?: 'HS512' | 'HS384' | 'HS256';
  secret?: string;
  typ?: string;
  claims?: JWTPayload;
}

/** A token as the identity service would sign it (HS512, issuer arcadia), adjustable for the bad cases. */
export async function token(spec: TokenSpec = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    typ: spec.typ ?? 'access',
    roles: spec.admin ? ['platform_admin'] : ['user'],
    ...spec.claims,
  };
  if (spec.tenant) claims.tenant_id = spec.tenant;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: spec.alg ?? 'HS512', typ: 'JWT' })
    .setSubject(spec.sub ?? 'user-1')
    .setIssuer(spec.issuer ?? 'arcadia')
    .setIssuedAt(now + (spec.issuedAt ?? 0))
    .setExpirationTime(now + (spec.expiresIn ?? 600));
  if (spec.notBefore !== undefined) jwt.setNotBefore(now + spec.notBefore);
  if (spec.audience) jwt.setAudience(spec.audience);
  return jwt.sign(new TextEncoder().encode(spec.secret ?? TEST_JWT_SECRET));
}

/** An unsigned token (alg none), which must never be accepted. */
export function unsignedToken(payload: JWTPayload): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`;
}
