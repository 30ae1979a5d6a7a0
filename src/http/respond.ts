// Writing a JSON answer: what every route that is not Yoga's (health, REST, errors) sends.
import type http from 'node:http';

/** The body as JSON, never cached, with its length (so a keep-alive connection can carry the next request). */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
