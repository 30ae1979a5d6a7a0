// The OpenTelemetry SDK, loaded only when tracing is on (tracing.ts imports this module with import()): the Node
// tracer provider (sampler and limits from the standard OTEL_* variables), the exporters config.tracing names
// (OTLP over HTTP reads OTEL_EXPORTER_OTLP_* itself), and two instrumentations:
// - pg: a span per statement, its text as written (placeholders, never the values: enhancedDatabaseReporting stays
//   off), and only inside a span of ours (graphile-worker's polling and LISTEN make no traces of their own);
// - Prisma: a span per client operation, under which pg's statement spans nest. Prisma's other spans (serialize,
//   compile, connect, its own per-statement span) are left out: they double the spans of a request, and pg's
//   statement spans already cover every statement, Prisma's and raw SQL alike.
// pg is already loaded when this runs (its importers are static), so its classes are patched directly rather than
// through a require hook that would wait for a load that has happened.
import { context, propagation, trace } from '@opentelemetry/api';
import type { TracingOptions } from './config.js';
import type { Logger } from './logger.js';
import { SERVICE_VERSION } from './version.js';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-node';

export interface SdkExtras {
  /** Also export to this one, span by span (tests: an in-memory exporter). */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** Flushes what is buffered and stops exporting. */
  stop(): Promise<void>;
}

export async function startTracingSdk(
  options: TracingOptions,
  logger: Logger,
  extras: SdkExtras = {},
): Promise<Tracing> {
  const [
    { NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter },
    { detectResources, envDetector, resourceFromAttributes },
  ] = await Promise.all([import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/resources')]);
  const processors: SpanProcessor[] = [];
  for (const name of options.exporters) {
    if (name === 'console') processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
    else {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
    }
  }
  if (extras.exporter) processors.push(new SimpleSpanProcessor(extras.exporter));
  const provider = new NodeTracerProvider({
    // OTEL_RESOURCE_ATTRIBUTES first, then the service's own name and version over it.
    resource: detectResources({ detectors: [envDetector] }).merge(
      resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': SERVICE_VERSION }),
    ),
    spanProcessors: processors,
  });
  provider.register();

  const [{ PgInstrumentation }, { PrismaInstrumentation }, pg] = await Promise.all([
    import('@opentelemetry/instrumentation-pg'),
    import('@prisma/instrumentation'),
    import('pg'),
  ]);
  const pgInstrumentation = new PgInstrumentation({
    enabled: false,
    requireParentSpan: true,
    enhancedDatabaseReporting: false,
    ignoreConnectSpans: true,
  });
  pgInstrumentation.setTracerProvider(provider);
  for (const definition of pgInstrumentation.getModuleDefinitions())
    if (definition.name === 'pg') definition.patch?.(pg.default);
  const prismaInstrumentation = new PrismaInstrumentation({ ignoreSpanTypes: [/^prisma:(?!client:operation$)/] });
  prismaInstrumentation.setTracerProvider(provider);
  prismaInstrumentation.enable();

  logger.info({ exporters: options.exporters, serviceName: options.serviceName }, 'tracing on (OpenTelemetry)');
  return {
    async stop() {
      prismaInstrumentation.disable();
      for (const definition of pgInstrumentation.getModuleDefinitions())
        if (definition.name === 'pg') definition.unpatch?.(pg.default);
      await provider.shutdown().catch((error: unknown) => logger.warn({ err: String(error) }, 'tracing: flush failed'));
      // The globals register() set, so that a later start (a test) begins from a clean slate.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
