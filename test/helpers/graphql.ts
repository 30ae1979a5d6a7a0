// GraphQL clients for tests: plain POST, SSE subscriptions (Yoga's default) and graphql-ws over WebSocket.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  body: { data?: T | null; errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }> };
}

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  options: { token?: string; variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse<T>['body'] };
}

/** What a subscription delivered: each `next` payload, then whether it completed or errored. */
export interface Subscription<T = unknown> {
  /** Resolves with the next payload (waiting up to timeoutMs). */
  next(timeoutMs?: number): Promise<T>;
  /** Every payload received so far. */
  received: T[];
  /** Resolves when the server ends the stream (complete, error or close), with what ended it. */
  ended: Promise<{ kind: 'complete' | 'error' | 'closed'; detail?: unknown }>;
  close(): Promise<void>;
}

function queue<T>() {
  const received: T[] = [];
  let read = 0;
  const waiters: Array<() => void> = [];
  return {
    received,
    push(item: T) {
      received.push(item);
      for (const wake of waiters.splice(0)) wake();
    },
    // An arrow function, not a method: subscriptions hand it out unbound (`next: q.next`).
    next: async (timeoutMs = 10_000): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      while (read >= received.length) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no subscription payload within ${timeoutMs} ms (received ${received.length})`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
      return received[read++]!;
    },
  };
}

/** A subscription over SSE (POST, Accept: text/event-stream), parsed by hand as a browser's fetch would. */
export async function sseSubscribe<T = unknown>(
  url: string,
  query: string,
  options: { token?: string; variables?: Record<string, unknown> } = {},
): Promise<Subscription<T> & { status: number }> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: JSON.stringify({ query, variables: options.variables }),
    signal: controller.signal,
  });
  const q = queue<T>();
  let endedResolve!: (value: { kind: 'complete' | 'error' | 'closed'; detail?: unknown }) => void;
  const ended = new Promise<{ kind: 'complete' | 'error' | 'closed'; detail?: unknown }>(
    (resolve) => (endedResolve = resolve),
  );
  void (async () => {
    if (!response.body) return endedResolve({ kind: 'closed' });
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (event === 'next' && data) q.push(JSON.parse(data) as T);
          if (event === 'complete') return endedResolve({ kind: 'complete' });
        }
      }
      endedResolve({ kind: 'closed' });
    } catch (error) {
      endedResolve({ kind: 'closed', detail: error });
    }
  })();
  return {
    status: response.status,
    next: q.next,
    received: q.received,
    ended,
    close: () => {
      controller.abort();
      return Promise.resolve();
    },
  };
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

/** A graphql-ws client (connectionParams carry the token), not retrying, so a refused connection shows. */
export function wsClient(
  url: string,
  token?: string,
): Client & { closeEvent: Promise<{ code: number; reason: string }> } {
  let closed!: (event: { code: number; reason: string }) => void;
  const closeEvent = new Promise<{ code: number; reason: string }>((resolve) => (closed = resolve));
  const client = createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    connectionParams: token !== undefined ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => closed(event as { code: number; reason: string }) },
  });
  return Object.assign(client, { closeEvent });
}

/** One operation over graphql-ws, as a Subscription (a query yields one payload, then completes). */
export function wsSubscribe<T = unknown>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Subscription<T> {
  const q = queue<T>();
  let endedResolve!: (value: { kind: 'complete' | 'error' | 'closed'; detail?: unknown }) => void;
  const ended = new Promise<{ kind: 'complete' | 'error' | 'closed'; detail?: unknown }>(
    (resolve) => (endedResolve = resolve),
  );
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => q.push(value as T),
      error: (error) => endedResolve({ kind: 'error', detail: error }),
      complete: () => endedResolve({ kind: 'complete' }),
    },
  );
  return {
    next: q.next,
    received: q.received,
    ended,
    close: () => {
      dispose();
      return Promise.resolve();
    },
  };
}
