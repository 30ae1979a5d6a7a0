// Preloaded (node --import) into every server bench/peers starts: counts the SQL statements sent through pg (the
// copy of pg that BENCH_PG_FROM resolves, so PostGraphile's own copy is the one counted in its process), samples
// the resident set every 100 ms, and answers the parent's `stats` message with the counters and the process's CPU
// time. It also supplies Promise.withResolvers, the one Node 22 API PostGraphile v5 needs on Node 20.
import { createRequire } from 'node:module';

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
}

const require = createRequire(process.env.BENCH_PG_FROM ?? import.meta.url);
const pg = require('pg');
let statements = 0;
const query = pg.Client.prototype.query;
// BENCH_SQL_LOG=1: every statement's text and time on stderr (to see what a peer sends; not while measuring).
const log = process.env.BENCH_SQL_LOG === '1';
pg.Client.prototype.query = function countedQuery(...args) {
  statements += 1;
  if (!log) return query.apply(this, args);
  const started = performance.now();
  const text = typeof args[0] === 'string' ? args[0] : args[0]?.text;
  const done = () => console.error(`[sql ${(performance.now() - started).toFixed(2)} ms] ${text}`);
  const last = args.length - 1;
  // pg.Pool queries its clients with a callback, everyone else awaits the promise.
  if (typeof args[last] === 'function') {
    const callback = args[last];
    args[last] = (...results) => (done(), callback(...results));
    return query.apply(this, args);
  }
  const result = query.apply(this, args);
  result?.then?.(done, done);
  return result;
};

let rssMax = 0;
const sample = () => (rssMax = Math.max(rssMax, process.memoryUsage.rss()));
setInterval(sample, 100).unref();

process.on('message', (message) => {
  if (message?.bench !== 'stats') return;
  sample();
  const cpu = process.cpuUsage();
  process.send({
    bench: 'stats',
    statements,
    cpuMicros: cpu.user + cpu.system,
    rssMax,
    ...process.memoryUsage(),
  });
  if (message.resetRss) rssMax = 0;
});
