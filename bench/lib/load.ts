// Closed-loop HTTP load for the benchmarks: `concurrency` keep-alive connections, each sending its next request as
// soon as the last one is answered, for a given time; latencies of the successful requests, and the last body.
import http from 'node:http';

export interface RequestSpec {
  port: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/**
 * Closed-loop load: `concurrency` keep-alive connections, each sending its next request when the last answered,
 * for `seconds`, or `count` requests in all when given.
 */
export async function load(
  spec: RequestSpec,
  concurrency: number,
  seconds: number,
  count = Infinity,
): Promise<{ requests: number; errors: number; latencies: number[]; seconds: number; lastBody: string }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const started = performance.now();
  const deadline = count === Infinity ? started + seconds * 1000 : Infinity;
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  let lastBody = '';
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const begin = performance.now();
      const req = http.request(
        { host: '127.0.0.1', port: spec.port, method: spec.method, path: spec.path, headers: spec.headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            if (res.statusCode === 200) {
              latencies.push(performance.now() - begin);
              lastBody = Buffer.concat(chunks).toString();
            } else errors += 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(spec.body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && sent < count) {
        sent += 1;
        await one();
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests: latencies.length, errors, latencies, seconds: elapsed, lastBody };
}
