// A `.env` in the working directory, for the commands that run the service (the real environment wins). Each entry
// point imports this module first: the logger reads LOG_LEVEL and LOG_FORMAT when it is created, which is when a
// module imports it, before any config is loaded.
import { existsSync } from 'node:fs';

if (existsSync('.env')) process.loadEnvFile('.env');
