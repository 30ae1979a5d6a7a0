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
pg.Client.prototype.query = function countedQuery(...args) {
  statements += 1;
  return query.apply(this, args);
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
    rss: process.memoryUsage.rss(),
  });
  if (message.resetRss) rssMax = 0;
});
