/**
 * The one error type the DigitalOcean client throws.
 *
 * It is built from plain values only (status, DO's error id/message, request id, path, attempt count), never from
 * ky's HTTPError, the Request or the options: those carry the `Authorization` header, and anything reachable from a
 * thrown object ends up in logs, Sentry breadcrumbs or a `sync_runs.error` column sooner or later. There is no
 * `cause` for the same reason (undici's errors point at sockets and requests); a network failure keeps only its
 * `code` string (ECONNRESET, UND_ERR_SOCKET, ...).
 */

/** What went wrong, decided from the status code or the transport failure, never from message text. */
export type DigitalOceanErrorKind =
  /** The API answered with a non-2xx status (see `status`). */
  | 'http'
  /** No complete answer within `timeoutMs` (headers and body, or a stalled stream). */
  | 'timeout'
  /** The connection failed, was reset or dropped mid-body. */
  | 'network'
  /** A 2xx answer whose body is not the JSON shape the endpoint promises. */
  | 'invalid_response'
  /** The caller's AbortSignal fired. */
  | 'aborted';

/** Partial progress of a paginated walk that ended in an error (no items: they were already handed to `onPage`). */
export interface ListingProgress {
  /** API path of the listing, e.g. `/v2/droplets`. */
  path: string;
  /** Pages received and processed before the failure. */
  pages: number;
  /** HTTP requests made by this listing, including retries and the failed ones. */
  apiCalls: number;
  /** Items delivered before the failure. */
  count: number;
  /** `meta.total` as last reported, if any. */
  total?: number;
}

export interface DigitalOceanErrorInit {
  kind: DigitalOceanErrorKind;
  method: string;
  endpoint: string;
  attempts: number;
  retryable: boolean;
  status?: number;
  id?: string;
  apiMessage?: string;
  requestId?: string;
  code?: string;
  detail?: string;
}

export class DigitalOceanError extends Error {
  override readonly name = 'DigitalOceanError';
  readonly kind: DigitalOceanErrorKind;
  /** HTTP status for kind `http` (and for `invalid_response`, the 2xx status that carried the bad body). */
  readonly status?: number;
  /** DO's error id from the body (`not_found`, `unauthorized`, `too_many_requests`, ...). */
  readonly id?: string;
  /** DO's error message from the body. */
  readonly apiMessage?: string;
  /** `x-request-id` header (or `request_id` in the body). */
  readonly requestId?: string;
  readonly method: string;
  /** Path and query of the failed request, e.g. `/v2/droplets?page=3&per_page=200`. Never a host, never a token. */
  readonly endpoint: string;
  /** HTTP attempts made for this request (1 = no retry). */
  readonly attempts: number;
  /** Whether the failure was of a retryable kind (5xx, 429, timeout, network): true means the retries ran out. */
  readonly retryable: boolean;
  /** Transport error code for kind `network` (ECONNRESET, UND_ERR_SOCKET, ECONNREFUSED, ...). */
  readonly code?: string;
  /** Set when the error ended a paginated walk: what had been received before it. */
  listing?: ListingProgress;

  constructor(init: DigitalOceanErrorInit) {
    super(describe(init));
    this.kind = init.kind;
    this.method = init.method;
    this.endpoint = init.endpoint;
    this.attempts = init.attempts;
    this.retryable = init.retryable;
    if (init.status !== undefined) this.status = init.status;
    if (init.id !== undefined) this.id = init.id;
    if (init.apiMessage !== undefined) this.apiMessage = init.apiMessage;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.code !== undefined) this.code = init.code;
  }
}

function describe(init: DigitalOceanErrorInit): string {
  const what =
    init.kind === 'http'
      ? `HTTP ${init.status ?? '?'}${init.id ? ` ${init.id}` : ''}${init.apiMessage ? `: ${init.apiMessage}` : ''}`
      : init.kind === 'timeout'
        ? 'timed out'
        : init.kind === 'network'
          ? `connection failed${init.code ? ` (${init.code})` : ''}`
          : init.kind === 'aborted'
            ? 'aborted by caller'
            : `invalid response${init.status ? ` (HTTP ${init.status})` : ''}`;
  const extra = [
    init.detail,
    init.requestId ? `request id ${init.requestId}` : undefined,
    `${init.attempts} attempt${init.attempts === 1 ? '' : 's'}`,
  ].filter(Boolean);
  return `DigitalOcean ${init.method} ${init.endpoint} ${what} (${extra.join(', ')})`;
}

/**
 * Returns a function that removes `secret` (and anything shaped like a bearer credential) from a string. Applied to
 * every server-provided string that goes into an error or a log line: a misbehaving proxy can echo request headers.
 */
export function makeRedactor(secret: string): (text: string) => string {
  return (text: string) => {
    let out = secret.length > 0 ? text.split(secret).join('[redacted]') : text;
    out = out.replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]');
    return out;
  };
}
