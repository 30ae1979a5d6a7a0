// Worker-only entry: runs jobs against the same database, so jobs scale out to more processes or machines.
import { loadEnvFile } from './config.js';
import { main } from './main.js';

loadEnvFile();
await main(() => ({ http: false, worker: true }));
