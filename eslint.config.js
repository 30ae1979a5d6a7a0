// Typed linting for the whole repository, with the layering of src/ enforced: each layer may import only the
// layers below it, and production code never imports the developer tools, benches or tests.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ENTRIES = [
  './src/server.ts',
  './src/worker.ts',
  './src/main.ts',
  './src/app.ts',
  './src/worker-supervisor.ts',
  './src/cli',
];
const SHARED = [
  './src/db',
  './src/config.ts',
  './src/logger.ts',
  './src/events.ts',
  './src/auth.ts',
  './src/version.ts',
  './src/metrics.ts',
  './src/tracing.ts',
  './src/tracing-sdk.ts',
];
const OUTSIDE_SRC = ['./tools', './bench', './test', './scripts'];

/** `target` may import none of `from`. */
const layer = (target, from, message) => ({ target, from, message });

const LAYERS = [
  layer('./src', OUTSIDE_SRC, 'production code never imports developer tools, benches, tests or scripts'),
  layer(
    './src/http',
    [...ENTRIES, './src/jobs'],
    'http/ serves the read path: it knows nothing of the entries or jobs/',
  ),
  layer(
    './src/schema',
    [...ENTRIES, './src/http', './src/jobs'],
    'schema/ (the read path) sits under http/ and beside jobs/: use domain/',
  ),
  layer(
    './src/jobs',
    [...ENTRIES, './src/http', './src/schema'],
    'jobs/ (the write path) sits beside schema/: use domain/',
  ),
  layer(
    './src/domain',
    [...ENTRIES, './src/http', './src/schema', './src/jobs', './src/digitalocean'],
    'domain/ is below the read and write paths',
  ),
  layer(
    './src/digitalocean',
    [...ENTRIES, './src/http', './src/schema', './src/jobs', './src/domain'],
    'digitalocean/ is the outside world: it knows nothing of the service',
  ),
  ...SHARED.map((shared) =>
    layer(
      shared,
      [...ENTRIES, './src/http', './src/schema', './src/jobs', './src/domain', './src/digitalocean'],
      'shared modules are the bottom layer',
    ),
  ),
];

export default tseslint.config(
  { ignores: ['node_modules/', 'src/generated/', '.data/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  importX.flatConfigs.typescript,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver()] },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: LAYERS }],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
