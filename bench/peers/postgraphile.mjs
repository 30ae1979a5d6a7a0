// The PostGraphile v5 peer of bench/peers: the Amber preset over the bench database's public schema, served by
// grafserv on node:http in production mode (no GraphiQL, no explain). PostGraphile is loaded from the directory the
// bench installed it into (argv[2]), never from the project's dependencies. Prints `listening <port>` when ready.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [peerDir, connectionString] = process.argv.slice(2);
const require = createRequire(join(peerDir, 'package.json'));
const { postgraphile } = require('postgraphile');
const { PostGraphileAmberPreset } = require('postgraphile/presets/amber');
const { makePgService } = require('postgraphile/adaptors/pg');
const { grafserv } = require('postgraphile/grafserv/node');

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString, schemas: ['public'], poolConfig: { max: 10 } })],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};
const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 60_000;
serv.addTo(server);
await serv.ready();
process.on('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
