// Kept for src/demo.ts until it calls domain/queue.ts's enqueueTask itself; delete once it does.
export { enqueueTask as enqueueSync } from '../domain/queue.js';
