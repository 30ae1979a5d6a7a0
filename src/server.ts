// HTTP entry: GraphQL + health, and the job worker too unless RUN_WORKER=false.
import './env-file.js';
import { main } from './main.js';

await main((config) => ({ http: true, worker: config.worker.enabled }));
