// HTTP entry: GraphQL + health, and the job worker too unless RUN_WORKER=false.
import { loadEnvFile } from './config.js';
import { main } from './main.js';

loadEnvFile();
await main((config) => ({ http: true, worker: config.worker.enabled }));
