// Spans, through the OpenTelemetry API alone: without a registered SDK every call is a no-op that allocates
// nothing worth measuring. startTracing loads the SDK, the exporters and the instrumentations with import() only
// when config.tracing says tracing is on (tracing-sdk.ts), so a process with tracing off never loads them.
//
// What spans carry, and what they never carry: a GraphQL operation's type and name (never its variables or
// document), a DigitalOcean request's method, endpoint class and path without the query (never a header: the
// token is one), SQL statements as written with their placeholders (never the values), a run's task and trigger.
import { context, trace, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { TracingOptions } from './config.js';
import type { Logger } from './logger.js';
import type { Tracing } from './tracing-sdk.js';
import { SERVICE_VERSION } from './version.js';

export type { Span, Tracing };

const TRACER_NAME = 'cloud-ops';

function tracer(): Tracer {
  // Asked on each use, not once at import: the SDK may register its provider after this module loaded.
  return trace.getTracer(TRACER_NAME, SERVICE_VERSION);
}

/**
 * Runs `body` in a new active span (a child of the active one), ending it when `body` settles. A thrown error marks
 * the span as failed with the error's class only: messages can hold text from outside (server answers).
 */
export function inSpan<T>(name: string, attributes: Attributes, body: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await body(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A span that the caller ends, and a function that runs code with it active (for hooks that start and end apart). */
export function startSpan(name: string, attributes: Attributes): { span: Span; run: <T>(fn: () => T) => T } {
  const span = tracer().startSpan(name, { attributes });
  const active = trace.setSpan(context.active(), span);
  return { span, run: (fn) => context.with(active, fn) };
}

export function markFailed(span: Span, reason: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
}

const OFF: Tracing = { stop: () => Promise.resolve() };

/** Starts the SDK when config.tracing is on; otherwise loads nothing and returns a no-op. */
export async function startTracing(options: TracingOptions, logger: Logger): Promise<Tracing> {
  if (!options.enabled) return OFF;
  const { startTracingSdk } = await import('./tracing-sdk.js');
  return startTracingSdk(options, logger);
}
