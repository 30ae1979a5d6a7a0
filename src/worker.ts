// Worker-only entry: runs jobs against the same database, so jobs scale out to more processes or machines.
import './env-file.js';
import { main } from './main.js';

await main(() => ({ http: false, worker: true }));
