// Every environment variable the service reads is parsed and validated here, in one place.
// Startup fails with the whole list of problems at once, so an operator fixes them in one go.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LOG_LEVELS, type LoggerOptions } from './logger.js';

export type NodeEnv = 'development' | 'production' | 'test';
export type JwtAlgorithm = 'HS512' | 'HS384' | 'HS256';
/** How the roles claim is read: a JSON array of strings, a space- or comma-separated string, or either. */
export type RolesFormat = 'array' | 'delimited' | 'any';

export interface Config {
  nodeEnv: NodeEnv;
  log: LoggerOptions;
  host: string;
  port: number;
  /** Absent: an embedded PostgreSQL is started in embedded.dataDir. */
  databaseUrl: string | undefined;
  embedded: { dataDir: string; port: number };
  /** Connections of the process's main pool (Prisma, the API, `npm run sync`). */
  databasePoolSize: number;
  worker: {
    enabled: boolean;
    concurrency: number;
    /** Connections of the worker's own pool (graphile-worker and the jobs' SQL). */
    poolSize: number;
    /** `npm run worker` serves its health here; undefined: no listener. */
    healthPort: number | undefined;
  };
  shutdownTimeoutMs: number;
  digitalocean: {
    token: string | undefined;
    apiUrl: string;
    accountId: string;
    timeoutMs: number;
    maxRequestsPerMinute: number;
    /** The billing-insights account: `do:team:<uuid>` or `do:teamgroup:<uuid>`; undefined: the token's team. */
    billingAccountUrn: string | undefined;
  };
  sync: {
    fastDroplets: boolean;
    fallbackProjectId: string | undefined;
    fallbackTenantId: string | undefined;
  };
  jwt: {
    secret: string | undefined;
    issuer: string;
    audience: string | undefined;
    algorithms: JwtAlgorithm[];
    rolesClaim: string;
    tenantClaim: string;
    adminRole: string;
    clockToleranceSeconds: number;
    /** The longest lifetime a token may have (exp - iat) or have left (exp - now). */
    maxLifetimeSeconds: number;
    rolesFormat: RolesFormat;
    /** Failed authentications are logged as one summary line per this interval. */
    failureLogIntervalSeconds: number;
  };
  graphql: {
    introspection: boolean;
    graphiql: boolean;
    maxDepth: number;
    maxAliases: number;
    maxTokens: number;
    maxCost: number;
    maxBodyBytes: number;
    /** A WebSocket that has not sent a valid connection_init within this time is closed. */
    wsInitTimeoutMs: number;
    /** Live subscriptions (SSE and WebSocket) one viewer (token subject) may hold in one process. */
    maxSubscriptionsPerViewer: number;
  };
  /** The in-memory cache of GraphQL query answers per viewer scope (src/http/response-cache.ts). */
  responseCache: {
    enabled: boolean;
    /** How long an answer may be served without a change event having cleared it. */
    ttlMs: number;
    /** Answers kept per process (least recently used go first). */
    maxEntries: number;
  };
  http: {
    /** Origins allowed cross-origin requests to /graphql: a list, or 'any' (any origin, never with credentials). */
    corsOrigins: readonly string[] | 'any';
    /** Strict-Transport-Security max-age; undefined: no header (TLS ends elsewhere or not at all). */
    hstsMaxAgeSeconds: number | undefined;
  };
  metrics: MetricsOptions;
  tracing: TracingOptions;
}

/** GET /metrics (README "Monitoring"). */
export interface MetricsOptions {
  /** Off only in production without a token or a listener of its own (a scrape must not be open to the internet). */
  enabled: boolean;
  /** METRICS_TOKEN: a scrape must send `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** METRICS_LISTEN: /metrics is served on this address instead of the service's port. */
  listen: { host: string; port: number } | undefined;
}

export type TraceExporterName = 'otlp' | 'console';

/** OpenTelemetry tracing, from the standard OTEL_* variables; the SDK reads the rest of them itself. */
export interface TracingOptions {
  /** Off unless an exporter is named (OTEL_TRACES_EXPORTER) or an OTLP endpoint is set, and OTEL_SDK_DISABLED is not true. */
  enabled: boolean;
  exporters: TraceExporterName[];
  serviceName: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Adds a `.env` in the working directory to process.env, for the commands that run the service. A variable already
 * set in the real environment wins. Called by an entry point before loadConfig().
 */
export function loadEnvFile(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

/**
 * Reads the environment; collects every problem instead of stopping at the first. `stdoutIsTTY` picks the default
 * log format (pretty for a person at a terminal, JSON for a log collector).
 */
export function loadConfig(env: Env = process.env, options: { stdoutIsTTY?: boolean } = {}): Config {
  const stdoutIsTTY = options.stdoutIsTTY ?? process.stdout.isTTY === true;
  const problems: string[] = [];
  const read = (name: string): string | undefined => readVariable(env, name);

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const httpUrl = (name: string, fallback: string): string => {
    const raw = read(name) ?? fallback;
    try {
      const url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an http(s) URL (got "${raw}")`);
      return fallback;
    }
  };

  const log = readLogOptions(env, stdoutIsTTY, problems);

  const billingUrn = (name: string): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    if (/^do:(team|teamgroup):[A-Za-z0-9-]{1,100}$/.test(raw)) return raw;
    problems.push(`${name} must be do:team:<uuid> or do:teamgroup:<uuid> (got "${raw.slice(0, 60)}")`);
    return undefined;
  };
  const nodeEnvRaw = read('NODE_ENV') ?? 'development';
  let nodeEnv: NodeEnv = 'development';
  if (nodeEnvRaw === 'development' || nodeEnvRaw === 'production' || nodeEnvRaw === 'test') nodeEnv = nodeEnvRaw;
  else problems.push(`NODE_ENV must be development, production or test (got "${nodeEnvRaw}")`);

  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined) {
    const problem = checkPostgresUrl(databaseUrl);
    if (problem) problems.push(`DATABASE_URL ${problem}`);
  }

  const algorithmsRaw = (read('JWT_ALGORITHMS') ?? 'HS512')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const algorithms: JwtAlgorithm[] = [];
  for (const alg of algorithmsRaw) {
    if (alg === 'HS512' || alg === 'HS384' || alg === 'HS256') algorithms.push(alg);
    else problems.push(`JWT_ALGORITHMS may contain only HS512, HS384, HS256 (got "${alg}")`);
  }
  if (algorithmsRaw.length === 0) problems.push('JWT_ALGORITHMS must name at least one algorithm');

  const jwtSecret = read('JWT_SECRET');
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    problems.push('JWT_SECRET must be at least 32 bytes long');
  }
  if (jwtSecret === undefined && nodeEnv === 'production') {
    problems.push('JWT_SECRET is required in production (the shared secret of the identity service)');
  }

  // Pool sizes and the worker's health port: see README "Connection budget". A job holds up to two connections at
  // once (its statements and its event chain), graphile-worker one for LISTEN and one for its own queries.
  const databasePoolSize = int('DATABASE_POOL_SIZE', 10, 1, 1000);
  const workerConcurrency = int('WORKER_CONCURRENCY', 4, 1, 64);
  const workerPoolSize = int('WORKER_POOL_SIZE', workerConcurrency * 2 + 2, 2, 1000);
  const workerHealthPort =
    read('WORKER_HEALTH_PORT') === undefined ? undefined : int('WORKER_HEALTH_PORT', 0, 0, 65535);
  const introspection = bool('GRAPHQL_INTROSPECTION', nodeEnv !== 'production');
  // RESPONSE_CACHE=false (or off) or a TTL of 0 turns the response cache off.
  const responseCacheTtlMs = int('RESPONSE_CACHE_TTL_MS', 60_000, 0, 86_400_000);
  const responseCache = {
    enabled: bool('RESPONSE_CACHE', true) && responseCacheTtlMs > 0,
    ttlMs: responseCacheTtlMs,
    maxEntries: int('RESPONSE_CACHE_MAX_ENTRIES', 1000, 1, 1_000_000),
  };
  const graphiql = bool('GRAPHIQL', introspection && nodeEnv !== 'production');
  if (graphiql && !introspection)
    problems.push('GRAPHIQL=true needs GRAPHQL_INTROSPECTION=true (GraphiQL reads the schema by introspection)');

  const metrics = readMetricsOptions(env, nodeEnv, problems);

  const config: Config = {
    nodeEnv,
    log,
    host: read('HOST') ?? '0.0.0.0',
    port: int('PORT', 4005, 0, 65535),
    databaseUrl,
    embedded: {
      dataDir: path.resolve(read('EMBEDDED_PG_DATA_DIR') ?? '.data/postgres'),
      port: int('EMBEDDED_PG_PORT', 54329, 1024, 65535),
    },
    databasePoolSize,
    worker: {
      enabled: bool('RUN_WORKER', true),
      concurrency: workerConcurrency,
      poolSize: workerPoolSize,
      healthPort: workerHealthPort,
    },
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 15000, 100, 600000),
    digitalocean: {
      token: undefined,
      apiUrl: httpUrl('DIGITALOCEAN_API_URL', 'https://api.digitalocean.com'),
      accountId: read('DIGITALOCEAN_ACCOUNT_ID') ?? 'default',
      timeoutMs: int('DIGITALOCEAN_TIMEOUT_MS', 30000, 100, 600000),
      maxRequestsPerMinute: int('DIGITALOCEAN_MAX_REQUESTS_PER_MINUTE', 200, 1, 100000),
      billingAccountUrn: billingUrn('DIGITALOCEAN_BILLING_ACCOUNT_URN'),
    },
    sync: {
      fastDroplets: bool('SYNC_FAST_DROPLETS', false),
      fallbackProjectId: read('SYNC_FALLBACK_PROJECT_ID'),
      fallbackTenantId: read('SYNC_FALLBACK_TENANT_ID'),
    },
    jwt: {
      secret: jwtSecret,
      issuer: read('JWT_ISSUER') ?? 'arcadia',
      audience: read('JWT_AUDIENCE'),
      algorithms: algorithms.length > 0 ? algorithms : ['HS512'],
      rolesClaim: read('JWT_ROLES_CLAIM') ?? 'roles',
      tenantClaim: read('JWT_TENANT_CLAIM') ?? 'tenant_id',
      adminRole: read('JWT_ADMIN_ROLE') ?? 'platform_admin',
      clockToleranceSeconds: int('JWT_CLOCK_TOLERANCE_SECONDS', 30, 0, 600),
      maxLifetimeSeconds: int('JWT_MAX_LIFETIME_SECONDS', 86400, 60, 31_536_000),
      rolesFormat: rolesFormat(read('JWT_ROLES_FORMAT'), problems),
      failureLogIntervalSeconds: int('AUTH_FAILURE_LOG_INTERVAL_SECONDS', 60, 1, 3600),
    },
    graphql: {
      // Closed in production unless enabled: the schema and its explorer are for developers.
      introspection,
      graphiql,
      maxDepth: int('GRAPHQL_MAX_DEPTH', 10, 2, 100),
      maxAliases: int('GRAPHQL_MAX_ALIASES', 15, 1, 1000),
      maxTokens: int('GRAPHQL_MAX_TOKENS', 2000, 50, 100000),
      maxCost: int('GRAPHQL_MAX_COST', 5000, 10, 1000000),
      maxBodyBytes: int('GRAPHQL_MAX_BODY_BYTES', 100_000, 1000, 10_000_000),
      wsInitTimeoutMs: int('GRAPHQL_WS_INIT_TIMEOUT_MS', 5000, 100, 60_000),
      maxSubscriptionsPerViewer: int('GRAPHQL_MAX_SUBSCRIPTIONS_PER_VIEWER', 20, 1, 10_000),
    },
    responseCache,
    http: {
      // Production allows no cross-origin caller unless listed; development keeps any origin (local tools).
      corsOrigins: corsOrigins(read('CORS_ORIGINS'), nodeEnv === 'production' ? [] : 'any', problems),
      hstsMaxAgeSeconds:
        read('HSTS_MAX_AGE_SECONDS') === undefined ? undefined : int('HSTS_MAX_AGE_SECONDS', 0, 0, 63_072_000),
    },
    metrics,
    tracing: readTracingOptions(env, problems),
  };

  // A simulator on this machine (npm run simulator) needs no credentials: `DIGITALOCEAN_API_URL=http://127.0.0.1:4010
  // npm start` alone is a complete demonstration. A real API URL still needs a real token.
  config.digitalocean.token =
    read('DIGITALOCEAN_TOKEN') ?? (isLoopbackUrl(config.digitalocean.apiUrl) ? LOCAL_SIMULATOR_TOKEN : undefined);

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function rolesFormat(raw: string | undefined, problems: string[]): RolesFormat {
  if (raw === undefined) return 'array';
  if (raw === 'array' || raw === 'delimited' || raw === 'any') return raw;
  problems.push(`JWT_ROLES_FORMAT must be array, delimited or any (got "${raw}")`);
  return 'array';
}

/** CORS_ORIGINS: `*` (any origin) or comma-separated origins such as https://console.example.com. */
function corsOrigins(
  raw: string | undefined,
  fallback: readonly string[] | 'any',
  problems: string[],
): readonly string[] | 'any' {
  if (raw === undefined) return fallback;
  if (raw === '*') return 'any';
  const origins: string[] = [];
  for (const value of raw
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)) {
    let origin: string | undefined;
    try {
      const url = new URL(value);
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value.replace(/\/$/, ''))
        origin = url.origin;
    } catch {
      // reported below
    }
    if (origin) origins.push(origin);
    else
      problems.push(
        `CORS_ORIGINS must be * or comma-separated origins such as https://app.example.com (got "${value}")`,
      );
  }
  return origins;
}

/**
 * METRICS_TOKEN and METRICS_LISTEN. Outside production /metrics is open on the service's port (a developer's
 * Prometheus); in production it needs a token or an address of its own, and is off without either.
 */
function readMetricsOptions(env: Env, nodeEnv: NodeEnv, problems: string[]): MetricsOptions {
  const token = readVariable(env, 'METRICS_TOKEN');
  if (token !== undefined && Buffer.byteLength(token) < 16)
    problems.push('METRICS_TOKEN must be at least 16 bytes long');
  const listenRaw = readVariable(env, 'METRICS_LISTEN');
  let listen: MetricsOptions['listen'];
  if (listenRaw !== undefined) {
    const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(listenRaw);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port > 65535)
      problems.push(`METRICS_LISTEN must be [host:]port, e.g. 127.0.0.1:9464 (got "${listenRaw}")`);
    else listen = { host: (match[1] ?? '0.0.0.0').replace(/^\[|\]$/g, ''), port };
  }
  const enabled = nodeEnv !== 'production' || token !== undefined || listen !== undefined;
  return { enabled, token, listen };
}

const TRACE_EXPORTERS: readonly string[] = ['otlp', 'console', 'none'];

function readTracingOptions(env: Env, problems: string[]): TracingOptions {
  const serviceName = readVariable(env, 'OTEL_SERVICE_NAME') ?? 'cloud-ops';
  const disabled = readVariable(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  const named = readVariable(env, 'OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of named ?? [])
    if (!TRACE_EXPORTERS.includes(name))
      problems.push(`OTEL_TRACES_EXPORTER may name otlp, console or none (got "${name}")`);
  const endpoint =
    readVariable(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? readVariable(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const exporters = (named ?? (endpoint !== undefined ? ['otlp'] : [])).filter(
    (name): name is TraceExporterName => name === 'otlp' || name === 'console',
  );
  return { enabled: !disabled && exporters.length > 0, exporters: disabled ? [] : exporters, serviceName };
}

/** LOG_LEVEL and LOG_FORMAT alone, for a tool that logs but needs none of the service's other settings. */
export function loadLogOptions(env: Env = process.env, options: { stdoutIsTTY?: boolean } = {}): LoggerOptions {
  const problems: string[] = [];
  const log = readLogOptions(env, options.stdoutIsTTY ?? process.stdout.isTTY === true, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return log;
}

function readVariable(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function readLogOptions(env: Env, stdoutIsTTY: boolean, problems: string[]): LoggerOptions {
  const nodeEnv = readVariable(env, 'NODE_ENV');
  // Tests log nothing unless asked; a person at a terminal gets readable lines, everything else JSON.
  const log: LoggerOptions = {
    level: nodeEnv === 'test' ? 'silent' : 'info',
    format: nodeEnv !== 'production' && stdoutIsTTY ? 'pretty' : 'json',
  };
  const level = readVariable(env, 'LOG_LEVEL')?.toLowerCase();
  if (level !== undefined) {
    if (LOG_LEVELS.includes(level)) log.level = level;
    else problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`);
  }
  const format = readVariable(env, 'LOG_FORMAT');
  if (format === 'pretty' || format === 'json') log.format = format;
  else if (format !== undefined) problems.push(`LOG_FORMAT must be pretty or json (got "${format}")`);
  return log;
}

/** The token sent to a loopback API URL when DIGITALOCEAN_TOKEN is unset (the simulator accepts any token). */
export const LOCAL_SIMULATOR_TOKEN = 'local-simulator';

function isLoopbackUrl(value: string): boolean {
  const host = new URL(value).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Returns what is wrong with a Postgres URL, without ever echoing its password. */
export function checkPostgresUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid URL (expected postgresql://user:password@host:port/database)';
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    return `must start with postgresql:// (got "${url.protocol}//")`;
  }
  if (!url.hostname && !url.searchParams.get('host')) return 'has no host';
  if (url.pathname.replace(/^\//, '') === '') return 'names no database (add /<database> after the host)';
  return undefined;
}

/** host:port/database of a Postgres URL, safe to print: never the password. */
export function describePostgresUrl(value: string): string {
  try {
    const url = new URL(value);
    const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
    return `${user}${url.hostname || url.searchParams.get('host') || 'localhost'}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
