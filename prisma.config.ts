import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';

// Prisma's CLI would download a native schema-engine binary, which these machines cannot reach.
// scripts/prisma-schema-engine.mjs speaks the same protocol on top of @prisma/schema-engine-wasm,
// so `prisma generate` and `prisma migrate dev|deploy|status|diff|reset` work with nothing downloaded.
// An explicitly set PRISMA_SCHEMA_ENGINE_BINARY (e.g. a real binary) still wins.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(
  new URL('./scripts/prisma-schema-engine.mjs', import.meta.url),
);

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    // No default: a migrate command without DATABASE_URL stops ("Connection url is empty") rather than write the
    // tables into whatever server answers on localhost. `npm start` migrates its embedded database itself.
    url: process.env.DATABASE_URL ?? '',
    // Optional: without it, `migrate dev|diff` create a temporary shadow database on the same server.
    ...(process.env.SHADOW_DATABASE_URL ? { shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL } : {}),
  },
});
