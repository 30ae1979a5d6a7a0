// `npm run token -- [--admin] [--tenant X] [--sub NAME] [--ttl 1h]`: prints a token signed with this machine's
// secret (JWT_SECRET, or the generated .data/jwt-secret), for exploring the API in GraphiQL. Never in production:
// there, tokens come from the identity service.
import { parseArgs } from 'node:util';
import { resolveJwtSecret, signToken } from '../src/auth.js';
import { ConfigError, loadConfig, loadEnvFile } from '../src/config.js';

const USAGE = 'usage: npm run token -- [--admin] [--tenant <id>] [--sub <subject>] [--ttl <30m|12h|7d|seconds>]';

/** The lifetime asked for, at most what the server accepts (JWT_MAX_LIFETIME_SECONDS): a longer token is refused. */
function parseTtl(value: string, maxSeconds: number): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!match) throw new Error(`--ttl must look like 900, 30m, 12h or 7d (got "${value}")`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds < 1 || seconds > maxSeconds) {
    throw new Error(`--ttl must be between 1 second and ${maxSeconds} seconds (JWT_MAX_LIFETIME_SECONDS)`);
  }
  return seconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      admin: { type: 'boolean', default: false },
      tenant: { type: 'string' },
      sub: { type: 'string' },
      ttl: { type: 'string', default: '12h' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  loadEnvFile();
  const config = loadConfig();
  if (config.nodeEnv === 'production')
    throw new Error('refusing to sign tokens in production: tokens come from the identity service');
  // stdout carries the token alone (so `$(npm run -s token)` works); the note about a new secret goes to stderr.
  const secret = await resolveJwtSecret(config, {
    onGenerated: (file) => process.stderr.write(`token: generated a local secret in ${file}\n`),
  });
  const token = await signToken(config.jwt, secret, {
    subject: values.sub ?? (values.admin ? 'local-admin' : `local-user${values.tenant ? `@${values.tenant}` : ''}`),
    admin: values.admin,
    tenantId: values.tenant,
    ttlSeconds: parseTtl(values.ttl, config.jwt.maxLifetimeSeconds),
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`token: ${message}\n${USAGE}\n`);
  process.exit(1);
});
