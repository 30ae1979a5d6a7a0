/**
 * Progress of a foreground sync: one line per task (a bar with done/total when the API gave a total, a counter
 * otherwise), redrawn in place on a terminal; plain event lines when the output is not a terminal (CI logs, pipes).
 * Then a summary table. Pure formatting plus a writer, so it can be tested without a terminal.
 */
import type { SyncEvent } from '../events.js';
import type { RunResult as SyncRunResult } from '../jobs/run.js';

interface TaskLine {
  task: string;
  state: 'waiting' | 'running' | 'succeeded' | 'incomplete' | 'failed';
  done: number;
  total: number | null;
  page: number;
  phase?: string;
  startedAt?: number;
  elapsedMs?: number | undefined;
}

export interface DisplayOutput {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
}

const BAR_WIDTH = 24;

export class SyncDisplay {
  private readonly lines = new Map<string, TaskLine>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly tty: boolean;

  constructor(
    tasks: readonly string[],
    private readonly out: DisplayOutput,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = out.isTTY === true;
    for (const task of tasks) this.lines.set(task, { task, state: 'waiting', done: 0, total: null, page: 0 });
  }

  /** Feed every engine event here. */
  onEvent = (event: SyncEvent): void => {
    const line = this.lines.get(event.task);
    if (!line) return;
    if (event.type === 'started') {
      line.state = 'running';
      line.startedAt = this.now();
      if (!this.tty) this.out.write(`${event.task}: started (run ${event.runId ?? '?'})\n`);
    } else if (event.type === 'progress') {
      line.done = event.done ?? line.done;
      line.total = event.total ?? null;
      line.page = event.page ?? line.page;
      if (event.message) line.phase = event.message;
      if (!this.tty) {
        const of = line.total !== null ? `/${line.total}` : '';
        this.out.write(`${event.task}: ${line.phase ? `${line.phase} ` : ''}${line.done}${of} (page ${line.page})\n`);
      }
    } else if (event.type === 'finished' || event.type === 'failed') {
      line.state =
        event.type === 'failed' ? 'failed' : event.message?.startsWith('incomplete') ? 'incomplete' : 'succeeded';
      // A complete listing is all there was: the bar ends full, at what was listed.
      if (line.state === 'succeeded') line.total = line.done;
      line.elapsedMs = line.startedAt !== undefined ? this.now() - line.startedAt : undefined;
      if (!this.tty) {
        this.out.write(
          `${event.task}: ${line.state}${event.type === 'failed' && event.message ? `: ${event.message}` : ''}\n`,
        );
      }
    }
    this.dirty = true;
    if (this.tty) this.schedule();
  };

  /** Starts periodic redraws (terminal only). */
  start(): void {
    if (!this.tty) return;
    this.redraw();
  }

  /** Final redraw; stops the timer. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tty) this.redraw();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty) this.redraw();
    }, 80);
  }

  private redraw(): void {
    this.dirty = false;
    const text = [...this.lines.values()].map((l) => this.format(l));
    // Move up over what was drawn before, then overwrite each line and clear its remainder.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.out.write(`${up}${text.map((t) => `\r${t}\x1b[K`).join('\n')}\n`);
    this.drawn = text.length;
  }

  /** One task's line, e.g. `droplet            [██████░░░░░░]  1200/10000  page 6   running`. */
  format(line: TaskLine): string {
    const name = line.task.padEnd(20);
    let bar: string;
    if (line.total !== null && line.total > 0) {
      const ratio = Math.min(1, line.done / line.total);
      const full = Math.round(ratio * BAR_WIDTH);
      bar = `[${'█'.repeat(full)}${'░'.repeat(BAR_WIDTH - full)}]`;
    } else if (line.state === 'succeeded') {
      bar = `[${'█'.repeat(BAR_WIDTH)}]`;
    } else {
      bar = `[${' '.repeat(BAR_WIDTH)}]`;
    }
    const count = `${line.done}${line.total !== null ? `/${line.total}` : ''}`.padStart(13);
    const page = line.page > 0 ? `page ${line.page}`.padEnd(9) : ''.padEnd(9);
    const state = line.state === 'running' && line.phase ? `running (${line.phase})` : line.state;
    return `${name} ${bar} ${count}  ${page} ${state}`;
  }
}

/** The summary table printed at the end. */
export function summaryTable(results: readonly SyncRunResult[]): string {
  const header = ['task', 'status', 'pages', 'api calls', 'listed', 'created', 'updated', 'unchanged', 'stale', 'time'];
  const rows = results.map((r) => [
    r.task,
    r.status,
    String(r.pages),
    String(r.apiCalls),
    String(r.listed),
    String(r.created),
    String(r.updated),
    String(r.unchanged),
    String(r.markedStale),
    `${(r.durationMs / 1000).toFixed(1)}s`,
  ]);
  const total = (pick: (r: SyncRunResult) => number): string => String(results.reduce((sum, r) => sum + pick(r), 0));
  rows.push([
    'total',
    '',
    total((r) => r.pages),
    total((r) => r.apiCalls),
    total((r) => r.listed),
    total((r) => r.created),
    total((r) => r.updated),
    total((r) => r.unchanged),
    total((r) => r.markedStale),
    '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const fmt = (row: string[]): string =>
    row
      .map((cell, i) => (i <= 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const body = rows.map(fmt);
  body.splice(rows.length - 1, 0, rule);
  const lines = [fmt(header), rule, ...body];
  const problems = results.filter((r) => r.status !== 'succeeded' && r.error);
  for (const r of problems) lines.push(`${r.task}: ${r.status}: ${r.error}`);
  return `${lines.join('\n')}\n`;
}
