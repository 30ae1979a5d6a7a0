// Imported first by src/demo.ts, before anything creates the logger: the demo's own banner stays readable
// (warnings still show; LOG_LEVEL=info brings back every sync's log line).
process.env.LOG_LEVEL ??= 'warn';
