// TEMPORARY: removed at integration. `npm run sync` (src/cli/sync.ts) still imports this module for its side effect;
// the other entry points call loadEnvFile() from config.ts themselves.
import { loadEnvFile } from './config.js';

loadEnvFile();
