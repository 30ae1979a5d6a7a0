// A response whose body stalls after the headers: every request (JSON objects, paged lists, CSV streams) fails as a
// timeout within a bound derived from DIGITALOCEAN_TIMEOUT_MS, retries included, and the caller's abort (the SIGTERM
// path) interrupts it. Garbage is collected while the body stalls: that is what once let a stalled body outlive the
// timeout (the abort reached fetch only through an object the collector could drop).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDigitalOceanClient, DigitalOceanError, type DigitalOceanClient } from '../src/digitalocean/client.js';
import { startStub, type Stub } from './helpers/http-stub.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TIMEOUT_MS = 300;
const MAX_RETRIES = 1;
// Each attempt may take the timeout; the retry waits a few ms; 5 s is far above that and far below a hang.
const BOUND_MS = 5_000;

let stub: Stub;
let collector: NodeJS.Timeout;

/** Headers, then part of the body, then nothing. `onStalled` runs once the partial body is out. */
function stallAfterHeaders(contentType: string, partial: string, onStalled?: () => void): void {
  stub.setHandler((_req, res) => {
    res.writeHead(200, { 'content-type': contentType });
    res.write(partial, () => onStalled?.());
  });
}

function client(timeoutMs = TIMEOUT_MS): DigitalOceanClient {
  return createDigitalOceanClient({
    token: 'dop_v1_test',
    baseUrl: stub.url,
    timeoutMs,
    maxRetries: MAX_RETRIES,
    backoffBaseMs: 10,
    backoffMaxMs: 20,
  });
}

/** The call's error, or 'hung' if it has not settled within BOUND_MS. */
async function outcome(call: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('hung'), BOUND_MS)));
  try {
    return await Promise.race([
      call.then(
        () => 'succeeded',
        (error: unknown) => error,
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const chunk of stream) void chunk;
}

beforeAll(async () => {
  stub = await startStub();
  collector = setInterval(gc, 20);
});
afterAll(async () => {
  clearInterval(collector);
  await stub.close();
});

describe('a body that stalls after the headers', () => {
  it('fails a JSON object as a timeout after its retries', async () => {
    stallAfterHeaders('application/json', '{"account": {"uuid": "');
    const before = stub.requests.length;
    const error = await outcome(client().getAccount());
    expect(error).toBeInstanceOf(DigitalOceanError);
    expect(error).toMatchObject({ kind: 'timeout', attempts: MAX_RETRIES + 1 });
    expect(stub.requests.length - before).toBe(MAX_RETRIES + 1);
  });

  it('fails a paged listing as a timeout after its retries', async () => {
    stallAfterHeaders('application/json', '{"droplets": [{"id": 1}, ');
    const before = stub.requests.length;
    const error = await outcome(client().listDroplets());
    expect(error).toMatchObject({ kind: 'timeout', attempts: MAX_RETRIES + 1 });
    expect(stub.requests.length - before).toBe(MAX_RETRIES + 1);
  });

  it('fails a CSV stream as a timeout once it stops sending', async () => {
    stallAfterHeaders('text/csv', 'product,group_description,description\nDroplets,');
    const csv = await client().getInvoiceCsv('inv-1');
    const error = await outcome(drain(csv.stream));
    expect(error).toMatchObject({ kind: 'timeout' });
  });

  it("is interrupted by the caller's abort, long before a generous timeout", async () => {
    const controller = new AbortController();
    stallAfterHeaders('application/json', '{"droplets": [', () => controller.abort());
    const error = await outcome(client(600_000).listDroplets({ signal: controller.signal }));
    expect(error).toMatchObject({ kind: 'aborted' });
  });

  it("interrupts a CSV stream on the caller's abort", async () => {
    const controller = new AbortController();
    stallAfterHeaders('text/csv', 'product,group_description\n', () => setTimeout(() => controller.abort(), 50));
    const csv = await client(600_000).getInvoiceCsv('inv-1', { signal: controller.signal });
    const error = await outcome(drain(csv.stream));
    expect(error).toMatchObject({ kind: 'aborted' });
  });
});
