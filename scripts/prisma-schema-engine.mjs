#!/usr/bin/env node
// A stand-in for Prisma's native `schema-engine` binary, for machines that cannot download it.
//
// prisma.config.ts points PRISMA_SCHEMA_ENGINE_BINARY here. The Prisma CLI then spawns this script
// exactly as it would spawn the native binary:
//
//   prisma-schema-engine.mjs --version
//   prisma-schema-engine.mjs --datasource <json> cli can-connect-to-database|create-database|drop-database
//   prisma-schema-engine.mjs [--datamodels <file>]... --datasource <json> [--enabled-preview-features a,b]
//       -> JSON-RPC 2.0 over stdin/stdout, one message per line
//
// The work is delegated to @prisma/schema-engine-wasm (the same Rust engine compiled to
// WebAssembly) talking to Postgres through @prisma/adapter-pg. Four traps in adapter-pg 7.10 are
// worked around here (search for TRAP):
//   (a) it rejects Postgres' internal "char" type (OID 18) that the engine's catalog queries return
//       (and the engine wants those columns typed as chars, not text: see patchQueryable);
//   (b) its connectToShadowDb() connects to the MAIN database (pg lets the connection string win
//       over `database`), so the engine would diff against, and apply migrations to, the main db;
//   (c) its executeScript() splits scripts on every `;`, breaking `$$` bodies and string literals;
//   (d) evaluateDataLoss/createMigration can fail with "shadow DB must be provided through an
//       external factory" after pending migrations were applied in the same process.
//
// Nothing this script prints contains a database password: every message goes through redact().

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const adapterPgEntry = require.resolve('@prisma/adapter-pg');
const requireFromAdapter = createRequire(adapterPgEntry);
const { PrismaPg } = require('@prisma/adapter-pg');
const { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } = requireFromAdapter('@prisma/driver-adapter-utils');
const pg = requireFromAdapter('pg');

const ENGINE_DIR = dirname(require.resolve('@prisma/schema-engine-wasm'));
const RPC_ERROR_CODE = 4466; // the native engine's JSON-RPC error code for engine errors
const SHADOW_DB_MISSING = 'shadow DB must be provided through an external factory';
// Prisma-only URL parameters that pg must not see (it would forward unknown ones as config keys).
const PRISMA_URL_PARAMS = [
  'schema',
  'connection_limit',
  'pool_timeout',
  'socket_timeout',
  'pgbouncer',
  'statement_cache_size',
  'sslaccept',
  'connect_timeout',
];

// ---------------------------------------------------------------------------------------------
// Output, with secrets removed

const secrets = new Set();

function rememberSecretsOf(url) {
  try {
    const u = new URL(url);
    if (u.password) {
      secrets.add(u.password);
      secrets.add(decodeURIComponent(u.password));
    }
    const p = u.searchParams.get('password');
    if (p) secrets.add(p);
  } catch {
    // not a URL: nothing to remember
  }
}

function redact(text) {
  let out = String(text);
  // user:password@ in any URL-looking string
  out = out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@/\s]*@/gi, '$1***@');
  out = out.replace(/([?&]password=)[^&\s]*/gi, '$1***');
  for (const s of secrets) {
    if (s.length >= 3) out = out.split(s).join('***');
  }
  return out;
}

function stderrLog(level, message, extra = {}) {
  const line = {
    timestamp: new Date().toISOString(),
    level,
    fields: { message: redact(message), ...extra },
    target: 'schema_engine::logger',
  };
  process.stderr.write(`${redact(JSON.stringify(line))}\n`);
}

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const args = { datamodels: [], datasource: undefined, previewFeatures: [], cli: undefined, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--version':
      case '-V':
        args.version = true;
        break;
      case '--datamodels':
      case '-d':
        args.datamodels.push(argv[++i]);
        break;
      case '--datasource':
        args.datasource = JSON.parse(argv[++i]);
        break;
      case '--enabled-preview-features':
        args.previewFeatures = String(argv[++i] ?? '')
          .split(',')
          .filter(Boolean);
        break;
      case '--extension-types':
        i++; // Postgres extension types: not used by this shim
        break;
      case 'cli':
        args.cli = argv[i + 1];
        i = argv.length;
        break;
      default:
        if (a.startsWith('--datamodels=')) args.datamodels.push(a.slice('--datamodels='.length));
        else if (a.startsWith('--datasource=')) args.datasource = JSON.parse(a.slice('--datasource='.length));
        break;
    }
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// Connection strings

/** Splits a Prisma connection string into what pg needs and what only Prisma understands. */
function describeUrl(url) {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  for (const p of PRISMA_URL_PARAMS) u.searchParams.delete(p);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
  return {
    pgUrl: u.toString(),
    schema,
    database,
    host: u.hostname || 'localhost',
    port: u.port || '5432',
    user: decodeURIComponent(u.username),
  };
}

/** The same server and credentials, another database. Replaces the path, so pg cannot ignore it. */
function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

function quoteIdent(name) {
  return `"${String(name).replace(/"/g, '""')}"`;
}

function poolConfig(url) {
  const d = describeUrl(url);
  const config = {
    connectionString: d.pgUrl,
    // One session, like the native engine: its advisory lock is re-entrant only within a session,
    // and a migration's SET statements must be seen by the queries that follow.
    max: 1,
  };
  if (d.schema) config.options = `-c search_path=${quoteIdent(d.schema)}`;
  return { config, options: d.schema ? { schema: d.schema } : undefined };
}

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: describeUrl(url).pgUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Connects to the server of `url` for CREATE/DROP DATABASE: its own database, else `postgres`, else `template1`. */
async function withAdminClient(url, fn) {
  const d = describeUrl(url);
  const candidates = [d.database, 'postgres', 'template1'];
  let lastError;
  for (const db of candidates) {
    try {
      return await withClient(withDatabase(url, db), fn);
    } catch (e) {
      lastError = e;
      if (e?.code !== '3D000') throw e; // only "database does not exist" moves on to the next one
    }
  }
  throw lastError;
}

// ---------------------------------------------------------------------------------------------
// Known errors, phrased like the native engine's

class KnownError extends Error {
  constructor(code, message, meta = {}) {
    super(message);
    this.code = code;
    this.meta = meta;
  }
}

function knownConnectionError(error, url) {
  const d = describeUrl(url);
  const location = `${d.host}:${d.port}`;
  const code = error?.code;
  if (code === '3D000') {
    return new KnownError(
      'P1003',
      `Database \`${d.database}\` does not exist on the database server at \`${location}\`.`,
      {
        database_name: d.database,
        database_location: location,
      },
    );
  }
  if (code === '28P01' || code === '28000') {
    return new KnownError(
      'P1000',
      `Authentication failed against database server at \`${d.host}\`, the provided database credentials for \`${d.user}\` are not valid.\n\nPlease make sure to provide valid database credentials for the database server at \`${d.host}\`.`,
      { database_user: d.user, database_host: d.host },
    );
  }
  if (code === '42P04') {
    return new KnownError(
      'P1009',
      `Database \`${d.database}\` already exists on the database server at \`${location}\``,
      {
        database_name: d.database,
        database_location: location,
      },
    );
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(code)) {
    return new KnownError(
      'P1001',
      `Can't reach database server at \`${location}\`\n\nPlease make sure your database server is running at \`${location}\`.`,
      { database_host: d.host, database_port: d.port },
    );
  }
  return new KnownError(undefined, `${error?.message ?? error}`);
}

// ---------------------------------------------------------------------------------------------
// `cli` subcommands (spawned one-off by the Prisma CLI, e.g. before `migrate dev|deploy`)

async function runCliCommand(command, datasource) {
  const url = datasource?.url;
  stderrLog('INFO', 'Starting schema engine CLI (wasm shim)', { git_hash: engineHash() });
  try {
    if (!url) throw new KnownError('P1012', 'The datasource has no url.');
    rememberSecretsOf(url);
    const d = describeUrl(url);
    switch (command) {
      case 'can-connect-to-database':
        await withClient(url, async (c) => {
          await c.query('SELECT 1');
        }).catch((e) => {
          throw knownConnectionError(e, url);
        });
        break;
      case 'create-database':
        await withAdminClient(withDatabase(url, 'postgres'), async (c) => {
          await c.query(`CREATE DATABASE ${quoteIdent(d.database)}`);
        }).catch((e) => {
          throw knownConnectionError(e, url);
        });
        process.stdout.write(`Database '${d.database}' was successfully created.\n`);
        break;
      case 'drop-database':
        await withAdminClient(withDatabase(url, 'postgres'), async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(d.database)} WITH (FORCE)`);
        }).catch((e) => {
          throw knownConnectionError(e, url);
        });
        process.stdout.write(`The database '${d.database}' was successfully dropped.\n`);
        break;
      default:
        throw new Error(`Unknown cli subcommand: ${command}`);
    }
    return 0;
  } catch (e) {
    const known = e instanceof KnownError ? e : new KnownError(undefined, e?.message ?? String(e));
    stderrLog('ERROR', known.message, { is_panic: false, error_code: known.code, ...known.meta });
    return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// The WebAssembly engine

let wasmModule;

// The engine's Rust panic hook stores the panic message here before trapping (the Prisma CLI
// defines the same global for its own wasm modules); toRpcError reports it.
const panicRegistry = {
  message: '',
  get() {
    return this.message;
  },
  set_message(message) {
    this.message = `RuntimeError: ${message}`;
  },
};
globalThis.PRISMA_WASM_PANIC_REGISTRY = panicRegistry;

async function loadEngineModule() {
  if (wasmModule) return wasmModule;
  // schema_engine.js imports the .wasm as an ES module, which Node 20 cannot do; instantiate by hand.
  const bg = await import(pathToFileURL(join(ENGINE_DIR, 'schema_engine_bg.js')).href);
  const bytes = await readFile(join(ENGINE_DIR, 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  wasmModule = bg;
  return bg;
}

function engineHash() {
  try {
    const pkg = JSON.parse(readFileSync(join(ENGINE_DIR, 'package.json'), 'utf8'));
    return String(pkg.version).split(/[-.]/).pop();
  } catch {
    return 'unknown';
  }
}

// TRAP (a): adapter-pg maps result columns by type OID and throws on OID 18, Postgres' internal
// one-byte "char" (pg_class.relkind, pg_constraint.contype, ...), which the engine's catalog
// queries select. pg returns its values as strings. Reporting the column as text (OID 25) gets past
// the adapter, but the engine reads these columns as chars and panics on a text value as soon as a
// row is returned ("Getting constraint_type ... as char failed"; seen on PostgreSQL 18, whose
// NOT NULL constraints are pg_constraint rows). So the column is let through as text and then
// typed as the adapter protocol's Character column, which the engine reads as a char.
const CHAR_OID = 18;
const TEXT_OID = 25;
const CHAR_COLUMNS = Symbol('charColumns');

function patchQueryable(queryable) {
  const performIO = queryable.performIO;
  queryable.performIO = async function patchedPerformIO(query) {
    const result = await performIO.call(this, query);
    const charColumns = [];
    (result?.fields ?? []).forEach((field, index) => {
      if (field.dataTypeID === CHAR_OID) {
        field.dataTypeID = TEXT_OID;
        charColumns.push(index);
      }
    });
    // queryRaw returns this very rows array: it carries the char columns' positions to it.
    if (charColumns.length > 0 && Array.isArray(result.rows)) result.rows[CHAR_COLUMNS] = charColumns;
    return result;
  };
  const queryRaw = queryable.queryRaw;
  queryable.queryRaw = async function patchedQueryRaw(query) {
    const resultSet = await queryRaw.call(this, query);
    const charColumns = resultSet?.rows?.[CHAR_COLUMNS];
    if (charColumns) {
      delete resultSet.rows[CHAR_COLUMNS];
      for (const index of charColumns) resultSet.columnTypes[index] = ColumnTypeEnum.Character;
    }
    return resultSet;
  };
  return queryable;
}

function patchAdapter(adapter) {
  patchQueryable(adapter);
  const startTransaction = adapter.startTransaction;
  adapter.startTransaction = async function patchedStartTransaction(...args) {
    return patchQueryable(await startTransaction.apply(this, args));
  };
  // TRAP (c): adapter-pg's executeScript() runs script.split(';') statement by statement, which
  // cuts `$$ ... $$` function bodies and string literals like ';' in half. Send the script as ONE
  // simple-protocol query instead, as the native engine does (Postgres then runs it as one
  // implicit transaction, so a failing migration leaves nothing half-applied).
  adapter.executeScript = async function executeWholeScript(script) {
    try {
      await this.underlyingDriver().query(script);
    } catch (error) {
      this.onError(error);
    }
  };
  return adapter;
}

/** Drops every schema in a database and recreates `public`: what the native engine does to a configured shadow db. */
async function emptyDatabase(client) {
  const { rows } = await client.query(
    `SELECT nspname FROM pg_namespace
      WHERE nspname NOT IN ('information_schema', 'pg_toast') AND nspname NOT LIKE 'pg\\_%'`,
  );
  for (const { nspname } of rows) await client.query(`DROP SCHEMA ${quoteIdent(nspname)} CASCADE`);
  await client.query('CREATE SCHEMA IF NOT EXISTS "public"');
}

class ShimAdapterFactory {
  provider = 'postgres';
  adapterName = '@prisma/adapter-pg';

  /** @param {string} mainUrl @param {string | undefined} shadowUrl */
  constructor(mainUrl, shadowUrl) {
    this.mainUrl = mainUrl;
    this.shadowUrl = shadowUrl;
    /** temporary shadow databases not dropped yet: name -> release() */
    this.temporaryShadows = new Map();
  }

  async connect() {
    const { config, options } = poolConfig(this.mainUrl);
    return patchAdapter(await new PrismaPg(config, options).connect());
  }

  // TRAP (b): PrismaPg.connectToShadowDb() builds `{ ...config, database }`, but pg lets the
  // connection string win over `database`, so the "shadow" pool is the MAIN database. Here the
  // shadow database is real: the configured shadowDatabaseUrl (emptied first, as the native engine
  // does), or a temporary database on the main server that is dropped again afterwards.
  async connectToShadowDb() {
    if (this.shadowUrl) {
      const main = describeUrl(this.mainUrl);
      const shadow = describeUrl(this.shadowUrl);
      if (main.host === shadow.host && main.port === shadow.port && main.database === shadow.database) {
        throw new KnownError(
          'P3014',
          'The shadow database you configured appears to be the same as the main database. Please specify another shadow database.',
        );
      }
      await withClient(this.shadowUrl, emptyDatabase);
      const { config, options } = poolConfig(this.shadowUrl);
      return patchAdapter(await new PrismaPg(config, options).connect());
    }

    const name = `prisma_migrate_shadow_db_${randomUUID()}`;
    await withAdminClient(this.mainUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
    const shadowUrl = withDatabase(this.mainUrl, name);
    const { config, options } = poolConfig(shadowUrl);
    const adapter = patchAdapter(await new PrismaPg(config, options).connect());
    const disposeAdapter = adapter.dispose.bind(adapter);
    let released;
    const release = () => {
      released ??= (async () => {
        await disposeAdapter().catch(() => {});
        await withAdminClient(this.mainUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
        this.temporaryShadows.delete(name);
      })();
      return released;
    };
    adapter.dispose = release;
    this.temporaryShadows.set(name, release);
    return adapter;
  }

  /** Drops temporary shadow databases the engine has not disposed of (called after every request). */
  async dropTemporaryShadows() {
    for (const release of [...this.temporaryShadows.values()]) {
      await release().catch((e) => stderrLog('WARN', `Could not drop a temporary shadow database: ${e?.message ?? e}`));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC server

function toRpcError(error, factory) {
  let e = error;
  // Errors thrown by our own JS code inside the adapter are kept in the registry, the engine only
  // sees an id. Unwrap if we can.
  const idMatch = /External error id#(\d+)/.exec(String(e?.message ?? ''));
  const id = idMatch ? Number(idMatch[1]) : undefined;
  if (id !== undefined && factory?.errorRegistry?.consumeError) {
    const registered = factory.errorRegistry.consumeError(id);
    if (registered?.error) e = registered.error;
  }
  const isPanic = e instanceof WebAssembly.RuntimeError || e?.name === 'RuntimeError';
  let message = redact(isPanic && panicRegistry.message ? panicRegistry.message : (e?.message ?? String(e)));
  if (isPanic) panicRegistry.message = '';
  let code = typeof e?.code === 'string' && /^P\d{4}$/.test(e.code) ? e.code : undefined;
  // A migration script that fails on the main database: the wasm engine reports a bare "external
  // connector error" with a trace; word it like the native engine's P3018.
  const failed = /apply_migration::apply_script\s+with migration_name="([^"]+)"/.exec(message);
  if (!code && failed) {
    const dbError = /Error querying the database: ([^\n]*)/.exec(message)?.[1] ?? message.split('\n')[0];
    code = 'P3018';
    message =
      'A migration failed to apply. New migrations cannot be applied before the error is recovered from. ' +
      'Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\n' +
      `Migration name: ${failed[1]}\n\nDatabase error:\n${dbError}\n`;
  }
  const data = { is_panic: isPanic, message, meta: e?.meta ?? null };
  if (code) data.error_code = code;
  if (isPanic) data.error = { message };
  return { code: RPC_ERROR_CODE, message: 'An error happened. Check the data field for details.', data };
}

async function serveRpc(args) {
  const url = args.datasource?.url;
  if (!url) {
    stderrLog('ERROR', 'The datasource has no url (set datasource.url in prisma.config.ts).', { is_panic: false });
    return 1;
  }
  rememberSecretsOf(url);
  if (args.datasource?.shadowDatabaseUrl) rememberSecretsOf(args.datasource.shadowDatabaseUrl);

  const bg = await loadEngineModule();
  const datamodels = [];
  for (const file of args.datamodels) datamodels.push([file, await readFile(file, 'utf8')]);

  const engineLog = (line) => {
    // The engine logs tracing JSON lines; forward them to stderr, where the CLI collects messages.
    for (const l of String(line).split('\n')) if (l.trim()) process.stderr.write(`${redact(l)}\n`);
  };

  // One engine per main database url. Normally that is only the configured url; `migrate diff`
  // between migrations and schema files does not need the main database, so when it does not
  // exist (yet) the engine for that diff is pointed at the server's `postgres` database instead.
  const engines = new Map();
  const getEngine = async (mainUrl = url) => {
    let entry = engines.get(mainUrl);
    if (!entry) {
      const shimFactory = new ShimAdapterFactory(mainUrl, args.datasource?.shadowDatabaseUrl || undefined);
      const factory = bindMigrationAwareSqlAdapterFactory(shimFactory);
      entry = { shimFactory, factory, engine: undefined };
      engines.set(mainUrl, entry);
    }
    entry.engine ??= await bg.SchemaEngine.new(
      { datamodels: datamodels.length > 0 ? datamodels : undefined },
      engineLog,
      entry.factory,
    );
    return entry;
  };
  const needsLiveDatabase = (target) => target?.tag === 'schemaDatasource' || target?.tag === 'url';
  const diffEngineUrl = async (params) => {
    if (needsLiveDatabase(params?.from) || needsLiveDatabase(params?.to)) return url;
    try {
      await withClient(url, (c) => c.query('SELECT 1'));
      return url;
    } catch (e) {
      if (e?.code !== '3D000') return url;
      return withDatabase(url, 'postgres');
    }
  };
  const dropTemporaryShadows = async () => {
    for (const { shimFactory } of engines.values()) await shimFactory.dropTemporaryShadows();
  };

  // Requests this script sends to the CLI (only `print`), waiting for the CLI's answer.
  let nextOwnId = 1_000_000_000;
  const pendingOwn = new Map();
  const requestCli = (method, params) =>
    new Promise((resolve) => {
      const id = nextOwnId++;
      pendingOwn.set(id, resolve);
      send({ jsonrpc: '2.0', id, method, params });
    });

  const callEngine = async (method, params, current) => {
    const entry = await getEngine(method === 'diff' ? await diffEngineUrl(params) : url);
    current.factory = entry.factory;
    const e = entry.engine;
    // Keep `e[method](...)` as a call on the object: detached wasm-bindgen methods lose `this`.
    switch (method) {
      case 'getDatabaseVersion':
        return e.version(params ?? null);
      case 'diff': {
        const result = await e.diff(params);
        if (result?.stdout) await requestCli('print', { content: result.stdout });
        return { exitCode: result.exitCode, stdout: null };
      }
      case 'evaluateDataLoss':
      case 'createMigration':
        try {
          return await e[method](params);
        } catch (error) {
          // TRAP (d): after applyMigrations ran in this process, the wasm engine may have lost its
          // shadow database factory. devDiagnostic sets it up again; then the call succeeds.
          if (!String(error?.message ?? '').includes(SHADOW_DB_MISSING)) throw error;
          stderrLog('INFO', `${method}: shadow database factory lost; rerunning devDiagnostic, then retrying`);
          await e.devDiagnostic({ migrationsList: params.migrationsList, filters: params.filters });
          return await e[method](params);
        }
      case 'createDatabase': {
        const target = params?.datasource?.tag === 'ConnectionString' ? params.datasource.url : url;
        const d = describeUrl(target);
        await withAdminClient(withDatabase(target, 'postgres'), (c) =>
          c.query(`CREATE DATABASE ${quoteIdent(d.database)}`),
        ).catch((err) => {
          throw knownConnectionError(err, target);
        });
        return { databaseName: d.database };
      }
      case 'dbExecute': {
        // Run the script as one query (see TRAP (c)) on the url given, or on the main database.
        const target = params?.datasourceType?.tag === 'url' ? params.datasourceType.url : url;
        rememberSecretsOf(target);
        await withClient(target, (c) => c.query(params.script));
        return null;
      }
      case 'debugPanic':
        return e.debugPanic();
      default:
        if (typeof e[method] !== 'function' || method === 'free' || method === 'constructor') {
          const err = new Error(`Method not found: ${method}`);
          err.rpcCode = -32601;
          throw err;
        }
        return e[method](params);
    }
  };

  let queue = Promise.resolve();
  let currentRequest;
  // A Rust panic can surface as an exception thrown from a wasm callback rather than as a rejected
  // promise. Answer the request being served with a panic error (as the native engine does), then
  // exit with the native engine's panic exit code: the wasm instance is unusable after a trap.
  process.on('uncaughtException', (error) => {
    const rpcError = toRpcError(error, currentRequest?.factory);
    rpcError.data.is_panic = true;
    rpcError.data.error ??= { message: rpcError.data.message };
    stderrLog('ERROR', rpcError.data.message, { is_panic: true });
    if (currentRequest) send({ jsonrpc: '2.0', id: currentRequest.id, error: rpcError });
    dropTemporaryShadows().finally(() => process.exit(101));
  });

  const handleRequest = async (msg) => {
    const current = { factory: undefined, id: msg.id };
    currentRequest = current;
    try {
      const result = await callEngine(msg.method, msg.params, current);
      await dropTemporaryShadows();
      send({ jsonrpc: '2.0', id: msg.id, result: result === undefined ? null : result });
    } catch (error) {
      await dropTemporaryShadows();
      if (error?.rpcCode) {
        send({ jsonrpc: '2.0', id: msg.id, error: { code: error.rpcCode, message: error.message } });
      } else {
        const rpcError = toRpcError(error, current.factory);
        stderrLog('ERROR', rpcError.data.message, {
          is_panic: rpcError.data.is_panic,
          error_code: rpcError.data.error_code,
        });
        send({ jsonrpc: '2.0', id: msg.id, error: rpcError });
      }
    }
  };

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    if (msg.method === undefined && msg.id !== undefined && pendingOwn.has(msg.id)) {
      const resolve = pendingOwn.get(msg.id);
      pendingOwn.delete(msg.id);
      resolve(msg.result);
      return;
    }
    if (typeof msg.method !== 'string') return;
    // One request at a time, in order: the engine is not re-entrant.
    queue = queue.then(() => handleRequest(msg));
  });

  const shutdown = async () => {
    await queue.catch(() => {});
    await dropTemporaryShadows();
    for (const entry of engines.values()) {
      try {
        entry.engine?.free();
      } catch {
        // already freed
      }
    }
  };

  // The CLI ends stdin and, on Linux, sends SIGTERM right away: finish cleanly either way.
  let exiting = false;
  const exitAfterCleanup = (code) => {
    if (exiting) return;
    exiting = true;
    shutdown().finally(() => process.exit(code));
  };
  rl.on('close', () => exitAfterCleanup(0));
  process.on('SIGTERM', () => exitAfterCleanup(0));
  process.on('SIGINT', () => exitAfterCleanup(130));
  return undefined; // keep running until stdin closes
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) {
    process.stdout.write(`schema-engine-cli ${engineHash()}\n`);
    return 0;
  }
  if (args.cli) return runCliCommand(args.cli, args.datasource);
  return serveRpc(args);
}

process.on('unhandledRejection', (e) => {
  stderrLog('ERROR', `Unhandled rejection: ${e?.stack ?? e}`, { is_panic: true });
  process.exit(101);
});

main().then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (e) => {
    stderrLog('ERROR', e?.stack ?? String(e), { is_panic: true });
    process.exit(101);
  },
);
