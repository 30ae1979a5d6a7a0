// Traces, captured with an in-memory exporter: one sync is one trace (the run, its DigitalOcean requests and its SQL
// statements under it), a GraphQL operation is one trace (its Prisma operations and statements under it), and no
// attribute carries the token or a variable. And a process with tracing off loads no part of the SDK.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import type { Tracing } from '../src/tracing.js';
import { startTracingSdk } from '../src/tracing-sdk.js';
import { startApi, token } from './helpers/api.js';
import { createTestDatabase } from './helpers/database.js';
import { gql } from './helpers/graphql.js';
import { seedInventory } from './helpers/inventory-fixture.js';
import { spawnEntry } from './helpers/process.js';
import { startSyncHarness, TEST_TOKEN, type SyncHarness } from './helpers/sync.js';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;

beforeAll(async () => {
  tracing = await startTracingSdk({ enabled: true, exporters: [], serviceName: 'cloud-ops-test' }, silentLogger, {
    exporter,
  });
});
afterAll(async () => {
  await tracing?.stop();
});

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const attributeText = (spans: ReadableSpan[]): string =>
  spans.map((span) => `${span.name} ${JSON.stringify(span.attributes)}`).join('\n');

/** Whether `span` descends from `ancestor` within `spans`. */
function descends(span: ReadableSpan, ancestor: ReadableSpan, spans: ReadableSpan[]): boolean {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  for (let parent = parentOf(span); parent !== undefined; parent = byId.get(parent) && parentOf(byId.get(parent)!)) {
    if (parent === ancestor.spanContext().spanId) return true;
  }
  return false;
}

describe('a sync run', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ seed: 3, scale: { droplets: 450 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is one trace: the run at the root, its DigitalOcean requests and SQL statements beneath it', async () => {
    exporter.reset();
    const result = await h.engine.run('droplet', { trigger: 'manual' });
    expect(result.status).toBe('succeeded');
    const spans = exporter.getFinishedSpans();
    const roots = spans.filter((span) => parentOf(span) === undefined);
    expect(roots.map((span) => span.name)).toEqual(['run droplet']);
    const root = roots[0]!;
    expect(root.attributes).toMatchObject({ 'cloud_ops.task': 'droplet', 'cloud_ops.outcome': 'succeeded' });
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(root.resource.attributes['service.name']).toBe('cloud-ops-test');

    const requests = spans.filter((span) => span.name.startsWith('digitalocean '));
    // 450 droplets in pages of 200, and the GPU listing.
    expect(requests.length).toBe(result.apiCalls);
    expect(requests.length).toBeGreaterThanOrEqual(4);
    for (const request of requests) {
      expect(parentOf(request)).toBe(root.spanContext().spanId);
      expect(request.attributes['url.path']).toBe('/v2/droplets');
      expect(request.attributes['http.response.status_code']).toBe(200);
    }
    const statements = spans.filter((span) => span.attributes['db.system.name'] === 'postgresql');
    expect(statements.length).toBeGreaterThan(3);
    for (const statement of statements) expect(descends(statement, root, spans)).toBe(true);
    // Statements as written, with placeholders; their values are not recorded.
    expect(statements.some((s) => /\$1/.test(String(s.attributes['db.query.text'])))).toBe(true);
    for (const statement of statements) expect(Object.keys(statement.attributes)).not.toContain('db.query.parameter');
    expect(attributeText(spans)).not.toContain(TEST_TOKEN);
  });

  it('a failed run is a failed root span', async () => {
    h.sim.setFaults({ serverError: { path: '/v2/volumes', status: 500 } });
    exporter.reset();
    try {
      expect((await h.engine.run('volume', { trigger: 'manual' })).status).toBe('failed');
    } finally {
      h.sim.setFaults({});
    }
    const root = exporter.getFinishedSpans().find((span) => parentOf(span) === undefined)!;
    expect(root.name).toBe('run volume');
    expect(root.status.code).toBe(2); // ERROR
    const request = exporter.getFinishedSpans().find((span) => span.name === 'digitalocean GET volumes')!;
    expect(request.attributes['cloud_ops.attempts']).toBe(4);
    expect(request.status.code).toBe(2);
  });
});

describe('a GraphQL operation', () => {
  it('is one trace: the operation at the root, Prisma and SQL beneath it, without its variables', async () => {
    const api = await startApi();
    try {
      await seedInventory(api.pool, 5);
      const admin = await token({ admin: true });
      const needle = 'needle-6b2c0e91';
      exporter.reset();
      const response = await gql(
        api.url,
        `query Inventory($search: String) { resources(first: 5, filter: { search: $search }) { totalCount edges { node { id name } } } }`,
        { token: admin, variables: { search: needle } },
      );
      expect(response.body.errors).toBeUndefined();
      const spans = exporter.getFinishedSpans();
      const roots = spans.filter((span) => parentOf(span) === undefined);
      expect(roots.map((span) => span.name)).toEqual(['graphql.query Inventory']);
      const root = roots[0]!;
      expect(root.attributes).toEqual({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'Inventory' });
      const prisma = spans.filter((span) => span.name.startsWith('prisma:'));
      expect(prisma.length).toBeGreaterThan(0);
      const statements = spans.filter((span) => span.attributes['db.system.name'] === 'postgresql');
      expect(statements.length).toBeGreaterThanOrEqual(2);
      for (const span of [...prisma, ...statements]) expect(descends(span, root, spans)).toBe(true);
      // Prisma's operations (its internal steps are left out), each statement under one of them.
      expect(new Set(prisma.map((span) => span.name))).toEqual(new Set(['prisma:client:operation']));
      const operationIds = new Set(prisma.map((span) => span.spanContext().spanId));
      for (const statement of statements) expect(operationIds.has(parentOf(statement)!)).toBe(true);
      expect(attributeText(spans)).not.toContain(needle);
      expect(attributeText(spans)).not.toContain(admin);
    } finally {
      await api.close();
    }
  });
});

describe('a process with tracing off', () => {
  it('loads no part of the OpenTelemetry SDK; with tracing on, it does', async () => {
    const db = await createTestDatabase();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cloud-ops-imports-'));
    const hook = path.resolve(import.meta.dirname, 'helpers/record-imports.mjs');
    const run = async (name: string, env: Record<string, string>): Promise<string[]> => {
      const file = path.join(dir, `${name}.txt`);
      const service = spawnEntry('src/server.ts', {
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        RUN_WORKER: 'false',
        RECORD_IMPORTS_FILE: file,
        NODE_OPTIONS: `--import=${hook}`,
        ...env,
      });
      try {
        await service.waitForOutput(/cloud-ops listening/);
      } finally {
        await service.stop('SIGTERM');
      }
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(
          (url) =>
            url.includes('/node_modules/@opentelemetry/') || url.includes('/node_modules/@prisma/instrumentation/'),
        )
        .map((url) => url.replace(/^.*\/node_modules\//, ''));
    };
    try {
      const off = await run('off', {});
      // The API alone (prom-client and our spans use it; without an SDK it does nothing).
      expect(off.filter((url) => !url.startsWith('@opentelemetry/api/'))).toEqual([]);
      const on = await run('on', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
      expect(on.some((url) => url.startsWith('@opentelemetry/sdk-trace-node/'))).toBe(true);
      expect(on.some((url) => url.startsWith('@opentelemetry/exporter-trace-otlp-http/'))).toBe(true);
    } finally {
      await db.drop();
    }
  });
});
