import { describe, expect, it } from 'vitest';
import { ConfigError, describePostgresUrl, loadConfig, loadLogOptions } from '../src/config.js';

describe('loadConfig', () => {
  it('gives working defaults for a fresh machine', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4005);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.embedded.dataDir).toMatch(/\.data\/postgres$/);
    expect(config.worker.enabled).toBe(true);
    expect(config.digitalocean.apiUrl).toBe('https://api.digitalocean.com');
    expect(config.jwt).toMatchObject({
      issuer: 'arcadia',
      algorithms: ['HS512'],
      rolesClaim: 'roles',
      adminRole: 'platform_admin',
    });
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://root:hunter2@db/x',
        DIGITALOCEAN_API_URL: 'ftp://x',
        RUN_WORKER: 'perhaps',
        JWT_ALGORITHMS: 'HS512,none',
        JWT_SECRET: 'short',
        NODE_ENV: 'staging',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(7);
    for (const name of [
      'NODE_ENV',
      'PORT',
      'DATABASE_URL',
      'DIGITALOCEAN_API_URL',
      'RUN_WORKER',
      'JWT_ALGORITHMS',
      'JWT_SECRET',
    ]) {
      expect(problems.some((problem) => problem.startsWith(name))).toBe(true);
    }
    // The message never echoes a password from a URL.
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('requires a JWT secret in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwt.secret).toHaveLength(32);
  });

  it('describes a database URL without its password', () => {
    expect(describePostgresUrl('postgresql://app:s3cr3t@db.internal:6543/cloudops')).toBe(
      'app@db.internal:6543/cloudops',
    );
  });
});

describe('log settings', () => {
  it('are validated with the rest', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'loud', LOG_FORMAT: 'xml' })).toThrow(
      /LOG_LEVEL must be one of.*\n.*LOG_FORMAT must be pretty or json/,
    );
    expect(() => loadLogOptions({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL must be one of/);
  });

  it('default to silent in tests, pretty at a terminal outside production, JSON otherwise', () => {
    expect(loadConfig({ NODE_ENV: 'test' }, { stdoutIsTTY: true }).log).toEqual({ level: 'silent', format: 'pretty' });
    expect(loadConfig({}, { stdoutIsTTY: true }).log).toEqual({ level: 'info', format: 'pretty' });
    expect(loadConfig({}, { stdoutIsTTY: false }).log).toEqual({ level: 'info', format: 'json' });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }, { stdoutIsTTY: true }).log.format).toBe(
      'json',
    );
  });

  it('take LOG_LEVEL and LOG_FORMAT when set', () => {
    expect(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'DEBUG', LOG_FORMAT: 'json' }, { stdoutIsTTY: true }).log).toEqual(
      { level: 'debug', format: 'json' },
    );
    expect(loadLogOptions({ LOG_LEVEL: 'warn', LOG_FORMAT: 'pretty' }, { stdoutIsTTY: false })).toEqual({
      level: 'warn',
      format: 'pretty',
    });
  });
});

describe('DigitalOcean token', () => {
  it('is optional against a simulator on this machine, and required for any other API URL', () => {
    expect(loadConfig({ DIGITALOCEAN_API_URL: 'http://127.0.0.1:4010' }).digitalocean.token).toBe('local-simulator');
    expect(loadConfig({ DIGITALOCEAN_API_URL: 'http://localhost:4010' }).digitalocean.token).toBe('local-simulator');
    expect(loadConfig({}).digitalocean.token).toBeUndefined();
    expect(loadConfig({ DIGITALOCEAN_API_URL: 'https://api.example.com' }).digitalocean.token).toBeUndefined();
    expect(
      loadConfig({ DIGITALOCEAN_API_URL: 'http://127.0.0.1:4010', DIGITALOCEAN_TOKEN: 'dop_v1_x' }).digitalocean.token,
    ).toBe('dop_v1_x');
  });
});

describe('pool sizes and the worker health port', () => {
  it('default to 10 for the main pool, twice the concurrency plus two for the worker, and no health port', () => {
    const config = loadConfig({});
    expect(config.databasePoolSize).toBe(10);
    expect(config.worker).toMatchObject({ concurrency: 4, poolSize: 10, healthPort: undefined });
    expect(loadConfig({ WORKER_CONCURRENCY: '8' }).worker.poolSize).toBe(18);
  });

  it('take DATABASE_POOL_SIZE, WORKER_POOL_SIZE and WORKER_HEALTH_PORT, and report bad values together', () => {
    const config = loadConfig({ DATABASE_POOL_SIZE: '3', WORKER_POOL_SIZE: '5', WORKER_HEALTH_PORT: '4006' });
    expect(config.databasePoolSize).toBe(3);
    expect(config.worker).toMatchObject({ poolSize: 5, healthPort: 4006 });
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '0', WORKER_POOL_SIZE: '1', WORKER_HEALTH_PORT: 'x' })).toThrow(
      expect.objectContaining({
        problems: [
          expect.stringContaining('DATABASE_POOL_SIZE'),
          expect.stringContaining('WORKER_POOL_SIZE'),
          expect.stringContaining('WORKER_HEALTH_PORT'),
        ],
      }),
    );
  });
});

describe('production defaults', () => {
  const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) };

  it('closes introspection, GraphiQL and CORS in production unless enabled; keeps development open', () => {
    const prod = loadConfig(production);
    expect([prod.graphql.introspection, prod.graphql.graphiql, prod.http.corsOrigins]).toEqual([false, false, []]);
    const dev = loadConfig({});
    expect([dev.graphql.introspection, dev.graphql.graphiql, dev.http.corsOrigins]).toEqual([true, true, 'any']);
    const enabled = loadConfig({ ...production, GRAPHQL_INTROSPECTION: 'true', GRAPHIQL: 'true', CORS_ORIGINS: '*' });
    expect([enabled.graphql.introspection, enabled.graphql.graphiql, enabled.http.corsOrigins]).toEqual([
      true,
      true,
      'any',
    ]);
    expect(() => loadConfig({ GRAPHQL_INTROSPECTION: 'false', GRAPHIQL: 'true' })).toThrow(/GRAPHIQL=true needs/);
  });

  it('reads CORS_ORIGINS, HSTS_MAX_AGE_SECONDS, token bounds and the roles format, reporting every problem', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://a.example.com, http://localhost:3000',
      HSTS_MAX_AGE_SECONDS: '31536000',
      JWT_MAX_LIFETIME_SECONDS: '3600',
      JWT_ROLES_FORMAT: 'delimited',
    });
    expect(config.http).toEqual({
      corsOrigins: ['https://a.example.com', 'http://localhost:3000'],
      hstsMaxAgeSeconds: 31536000,
    });
    expect([config.jwt.maxLifetimeSeconds, config.jwt.rolesFormat]).toEqual([3600, 'delimited']);
    expect(loadConfig({}).http.hstsMaxAgeSeconds).toBeUndefined();
    expect(loadConfig({}).jwt).toMatchObject({ maxLifetimeSeconds: 86400, rolesFormat: 'array' });
    expect(() =>
      loadConfig({ CORS_ORIGINS: 'https://a.example.com/path', JWT_ROLES_FORMAT: 'csv', HSTS_MAX_AGE_SECONDS: '-1' }),
    ).toThrow(
      /^(?=[\s\S]*CORS_ORIGINS must be)(?=[\s\S]*JWT_ROLES_FORMAT must be)(?=[\s\S]*HSTS_MAX_AGE_SECONDS must be)/,
    );
  });
});
