/**
 * The run lifecycle, shared by every job (an inventory kind, projects, balance, billing history, one invoice):
 * `withRun` opens the sync_runs row, publishes `started`, runs the body, maps its outcome to a status (a thrown
 * error: `failed`; `run.incomplete(...)`: `incomplete`; otherwise `succeeded`), closes the row, publishes
 * `finished` or `failed`, and logs one line. A failed run is recorded and returned, never thrown; `failedRunError`
 * is the one place that turns it into the error a queued job fails with.
 */
import type { RunTrigger, TaskName } from '../domain/tasks.js';
import { publishEvent, type SyncEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { syncApiCalls, syncItems, syncPages, syncRunDuration, syncRuns, syncRunsInFlight } from '../metrics.js';
import { inSpan, markFailed } from '../tracing.js';
import { cleanText } from './clean-text.js';
import {
  ensureAccount,
  finishRun,
  insertRun,
  selectRuns,
  type Queryable,
  type RunCounts,
  type RunStatus,
} from './run-sql.js';

export type { Queryable, RunCounts, RunStatus };

/** Where runs are recorded and told about. */
export interface RunEnvironment {
  db: Queryable;
  /** cloud_accounts.id of the mirrored account. */
  accountId: string;
  logger: Logger;
  /** Removes secrets from text that goes into a row, an event or a log line. */
  redact?: ((text: string) => string) | undefined;
  /** Also gets every event, in this process (the CLI's progress display). */
  onEvent?: ((event: SyncEvent) => void) | undefined;
  /** The lease id of this process (lease.ts), written into the row: the run is abandoned once its lease is gone. */
  owner?: string | undefined;
}

export interface RunRequest {
  task: TaskName;
  trigger: RunTrigger;
  jobId?: string | null | undefined;
  signal?: AbortSignal | undefined;
}

/** The run a body works in: its counts and details go into the row when it closes. */
export interface ActiveRun {
  readonly id: number;
  readonly task: TaskName;
  /** The database's clock at the start: what staleness compares last_seen_at with. */
  readonly startedAt: Date;
  readonly counts: RunCounts;
  readonly details: Record<string, unknown>;
  readonly signal: AbortSignal | undefined;
  /** Publishes a progress event (best effort, in order, without holding up the body). */
  progress(progress: { done: number; total?: number | null; page?: number; message?: string }): void;
  /** Ends the run as `incomplete` with this reason once the body returns. */
  incomplete(reason: string): void;
}

/** A closed run, as its row says. */
export interface RunResult extends RunCounts {
  runId: number;
  /** The task, or the name the run was asked for by (`invoice:<uuid>` in the CLI's summary). */
  task: string;
  status: RunStatus;
  /** Every listing of the run was complete (staleness moved). */
  complete: boolean;
  durationMs: number;
  /** Why the run failed or is incomplete; never contains the token. */
  error?: string;
  details: Record<string, unknown>;
}

export type RunOutcome<T> = RunResult & { value?: T };

/** Longest error text stored or shown, in characters. */
const MAX_ERROR_TEXT = 2000;

/**
 * A message safe to store and show: redacted, without the characters PostgreSQL refuses (NUL, unpaired
 * surrogates; clean-text.ts), and capped. It never throws, so recording a failure cannot fail on its message.
 */
export function errorText(error: unknown, redact: (text: string) => string = (text) => text): string {
  let text: string;
  try {
    text = redact(error instanceof Error ? error.message : String(error));
  } catch {
    text = 'the error could not be described';
  }
  // Cleaned again after the cut: slicing can split a surrogate pair.
  return cleanText(cleanText(text).slice(0, MAX_ERROR_TEXT));
}

function zeroCounts(): RunCounts {
  return { pages: 0, apiCalls: 0, listed: 0, created: 0, updated: 0, unchanged: 0, markedStale: 0 };
}

/**
 * One span per run (the root of its trace when a job starts it: the run's DigitalOcean requests and SQL statements
 * are its children), and the run's figures into the process's metrics when it closes.
 */
export function withRun<T>(
  env: RunEnvironment,
  request: RunRequest,
  body: (run: ActiveRun) => Promise<T>,
): Promise<RunOutcome<T>> {
  const { task } = request;
  return inSpan(`run ${task}`, { 'cloud_ops.task': task, 'cloud_ops.trigger': request.trigger }, async (span) => {
    syncRunsInFlight.inc({ task });
    try {
      const result = await runLifecycle(env, request, body);
      span.setAttributes({ 'cloud_ops.run_id': result.runId, 'cloud_ops.outcome': result.status });
      if (result.status === 'failed') markFailed(span, 'run failed');
      syncRuns.inc({ task, outcome: result.status });
      syncRunDuration.observe({ task }, result.durationMs / 1000);
      syncApiCalls.inc({ task }, result.apiCalls);
      syncPages.inc({ task }, result.pages);
      syncItems.listed.inc({ task }, result.listed);
      syncItems.created.inc({ task }, result.created);
      syncItems.updated.inc({ task }, result.updated);
      syncItems.markedStale.inc({ task }, result.markedStale);
      return result;
    } finally {
      syncRunsInFlight.dec({ task });
    }
  });
}

async function runLifecycle<T>(
  env: RunEnvironment,
  request: RunRequest,
  body: (run: ActiveRun) => Promise<T>,
): Promise<RunOutcome<T>> {
  const { db, logger: log } = env;
  const { task } = request;
  await ensureAccount(db, env.accountId);
  const opened = await insertRun(db, {
    accountId: env.accountId,
    task,
    trigger: request.trigger,
    jobId: request.jobId ?? null,
    owner: env.owner ?? null,
  });
  const runId = opened.id;

  // Events of a run go out one after the other, in order, on a chain of their own (a NOTIFY per page would
  // otherwise sit between each page's write and the next); the run waits for the chain before it returns.
  let events: Promise<void> = Promise.resolve();
  const emit = (event: Omit<SyncEvent, 'at'>): void => {
    const full: SyncEvent = { ...event, at: new Date().toISOString() };
    env.onEvent?.(full);
    events = events.then(async () => {
      try {
        await publishEvent(db, full);
      } catch (error) {
        log.warn({ task, err: errorText(error) }, 'could not publish a run event');
      }
    });
  };

  let incompleteReason: string | undefined;
  const run: ActiveRun = {
    id: runId,
    task,
    startedAt: opened.startedAt,
    counts: zeroCounts(),
    details: {},
    signal: request.signal,
    progress: (progress) => emit({ type: 'progress', task, runId, ...progress }),
    incomplete: (reason) => {
      incompleteReason = reason;
    },
  };
  emit({ type: 'started', task, runId });

  let status: RunStatus = 'succeeded';
  let error: string | undefined;
  let value: T | undefined;
  try {
    value = await body(run);
    if (incompleteReason !== undefined) {
      status = 'incomplete';
      error = errorText(incompleteReason, env.redact);
    }
  } catch (caught) {
    status = 'failed';
    error = errorText(caught, env.redact);
    log.warn({ task, runId, err: error }, 'run failed');
  }

  const durationMs = await finishRun(db, runId, { status, counts: run.counts, error, details: run.details });
  const counts: Record<string, number> = { ...run.counts, durationMs };
  if (status === 'failed') emit({ type: 'failed', task, runId, counts, message: error ?? 'failed' });
  else
    emit({
      type: 'finished',
      task,
      runId,
      counts,
      message: status === 'succeeded' ? 'succeeded' : `incomplete: ${error ?? ''}`,
    });
  await events;
  log.info({ task, runId, status, ...counts }, 'run finished');
  return {
    runId,
    task,
    status,
    complete: status === 'succeeded',
    durationMs,
    ...run.counts,
    details: run.details,
    ...(error !== undefined && { error }),
    ...(value !== undefined && { value }),
  };
}

/** The error a queued job fails with when its run failed (the run row has the details); null otherwise. */
export function failedRunError(name: string, result: Pick<RunResult, 'status' | 'runId' | 'error'>): Error | null {
  if (result.status !== 'failed') return null;
  return new Error(`${name} failed (run ${result.runId}): ${result.error ?? 'unknown error'}`);
}

/** The runs named, read back from their rows (for the CLI's summary), each under the given name, in order. */
export async function readRunResults(
  db: Queryable,
  runs: ReadonlyArray<{ task: string; runId: number }>,
): Promise<RunResult[]> {
  if (runs.length === 0) return [];
  const byId = new Map(
    (
      await selectRuns(
        db,
        runs.map((r) => r.runId),
      )
    ).map((row) => [row.id, row]),
  );
  return runs.flatMap(({ task, runId }) => {
    const row = byId.get(runId);
    if (!row) return [];
    return [
      {
        runId,
        task,
        status: row.status === 'running' ? 'failed' : row.status,
        complete: row.complete === true,
        durationMs: row.duration_ms ?? 0,
        pages: row.pages,
        apiCalls: row.api_calls,
        listed: row.listed,
        created: row.created,
        updated: row.updated,
        unchanged: row.unchanged,
        markedStale: row.marked_stale,
        details: row.details ?? {},
        ...(row.error ? { error: row.error } : {}),
      },
    ];
  });
}
