// COPY … FROM STDIN over node-postgres, fed from an async iterable, without an extra dependency.
//
// node-postgres exposes the protocol pieces (Connection#sendCopyFromChunk / endCopyFrom / sendCopyFail)
// and routes backend messages to the active "submittable"; this module is such a submittable. Rows are
// pulled from the source only as fast as the socket drains, so a producer that streams (a CSV download
// parsed line by line) stays memory-flat however many rows it yields.
//
// Errors:
// - the source throws → CopyFail is sent (the server aborts the COPY: nothing of it is kept) and the
//   promise rejects with the SOURCE's error, not the server's "COPY from stdin failed" echo;
// - the server rejects a row → the promise rejects with the server's error and the source is closed
//   (`return()`), which for a streamed download destroys the socket.
// Either way the surrounding transaction is in the aborted state: the caller rolls it back.
import type { Writable } from 'node:stream';
import type pg from 'pg';

/** The bits of pg's (untyped) Connection that COPY needs. */
interface CopyConnection {
  stream: Writable;
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** Resolves when the socket drains (or closes), removing both listeners either way. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

class CopyFromStdin {
  private rowCount = 0;
  private settled = false;
  /** Set when the server answered with an error (or the connection died): stop sending. */
  private aborted = false;
  private sourceError: unknown;
  readonly promise: Promise<number>;
  private resolve!: (rows: number) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly text: string,
    private readonly source: AsyncIterable<string | Buffer>,
  ) {
    this.promise = new Promise<number>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  // --- the submittable protocol (called by pg.Client) -------------------------------------------------

  submit(connection: CopyConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    void this.pump(connection);
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  handleError(error: unknown): void {
    this.aborted = true;
    this.settle(this.sourceError ?? error);
  }

  // Not expected for COPY FROM, but pg may call them on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}

  // -----------------------------------------------------------------------------------------------------

  private settle(error?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (error !== undefined) this.reject(error);
    else this.resolve(this.rowCount);
  }

  private async pump(connection: CopyConnection): Promise<void> {
    const iterator = this.source[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        const next = await iterator.next();
        if (this.aborted) break;
        if (next.done) {
          finished = true;
          break;
        }
        const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
        if (chunk.length === 0) continue;
        connection.sendCopyFromChunk(chunk);
        if (connection.stream.writableNeedDrain) {
          await drained(connection.stream);
          if (this.aborted || connection.stream.destroyed) break;
        }
      }
      if (finished && !this.aborted) connection.endCopyFrom();
    } catch (error) {
      finished = true; // a throwing generator is already closed
      this.sourceError = error;
      if (!this.aborted) {
        const reason = error instanceof Error ? error.message : String(error);
        connection.sendCopyFail(reason.slice(0, 500) || 'aborted by the client');
      } else {
        this.settle(error);
      }
    } finally {
      if (!finished) await iterator.return?.(undefined).catch(() => undefined);
    }
  }
}

/**
 * Runs `COPY <table> (<columns>) FROM STDIN` on `client` with the chunks of `source` (text in COPY's text
 * format; chunk boundaries need not align with rows). Resolves with the row count the server reports.
 */
export async function copyFrom(
  client: pg.ClientBase,
  copyStatement: string,
  source: AsyncIterable<string | Buffer>,
): Promise<number> {
  const submittable = new CopyFromStdin(copyStatement, source);
  client.query(submittable as unknown as pg.Submittable);
  return submittable.promise;
}

/** One value in COPY text format: `\N` for null, backslash escapes for the characters COPY treats specially. */
export function copyValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number') return String(value);
  // Fast path: most values need no escaping.
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (char) =>
    char === '\\' ? '\\\\' : char === '\t' ? '\\t' : char === '\n' ? '\\n' : '\\r',
  );
}
