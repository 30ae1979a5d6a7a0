import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql ships CommonJS (main) and ESM (module) builds without an exports map: Node (and so every library
  // under node_modules) loads the CommonJS one, Vite would give our sources the ESM one, and two copies of
  // GraphQLError break instanceof checks (Yoga would mask our own errors). One copy, as in production.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files run in parallel, each in its own database.
    maxWorkers: 2,
    env: { NODE_ENV: 'test' },
  },
});
