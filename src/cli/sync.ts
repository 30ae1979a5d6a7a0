/**
 * `npm run sync -- [task ...|all]`: runs inventory syncs now, in the foreground, in this process (no queue), against
 * the same database the server uses (DATABASE_URL, or the embedded PostgreSQL), with live progress and a summary.
 *
 * Tasks: droplet, volume, snapshot, floating_ip, reserved_ipv6, firewall, load_balancer, dns_zone, managed_db,
 * kubernetes_cluster, app, projects; `all` (the default) runs every kind, then projects (so that a first sync
 * attributes resources that already exist). Kinds run three at a time; they share one rate limiter.
 *
 * Exit status: 0 when every run succeeded, 2 when some were incomplete (nothing failed; staleness not updated for
 * them), 1 on a failed run, a missing token, bad arguments or a startup problem.
 */
import { existsSync } from 'node:fs';

// Logs would tear through the progress display: only warnings and errors, unless the user asked otherwise.
process.env.LOG_LEVEL ??= 'warn';

const { ConfigError, loadConfig } = await import('../config.js');
const { SYNC_TASKS } = await import('../jobs/sync.js');

const USAGE = `usage: npm run sync -- [task ...|all]\n  tasks: ${SYNC_TASKS.join(', ')}\n`;
const KIND_CONCURRENCY = 3;

function parseTasks(args: string[]): string[] | string {
  const wanted = args.filter((a) => a !== '--');
  if (wanted.some((a) => a === '-h' || a === '--help')) return USAGE;
  if (wanted.length === 0 || wanted.includes('all')) return [...SYNC_TASKS];
  const unknown = wanted.filter((a) => !SYNC_TASKS.includes(a));
  if (unknown.length > 0) return `unknown task${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\n${USAGE}`;
  // Table order, projects last, each once.
  return SYNC_TASKS.filter((t) => wanted.includes(t));
}

async function main(): Promise<number> {
  const tasks = parseTasks(process.argv.slice(2));
  if (typeof tasks === 'string') {
    const help = tasks === USAGE;
    (help ? process.stdout : process.stderr).write(tasks);
    return help ? 0 : 1;
  }

  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cloud-ops sync: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (!config.digitalocean.token) {
    process.stderr.write('cloud-ops sync: DIGITALOCEAN_TOKEN is not set; there is nothing to sync (set it, or point DIGITALOCEAN_API_URL at a simulator and set any token).\n');
    return 1;
  }

  const { startApp } = await import('../app.js');
  const { StartupError } = await import('../db/errors.js');
  const { createSyncEngineFromConfig } = await import('../jobs/sync.js');
  const { SyncDisplay, summaryTable } = await import('./sync-display.js');

  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp(config, { http: false, worker: false });
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`cloud-ops sync: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  const abort = new AbortController();
  const onSignal = (): void => {
    if (abort.signal.aborted) return;
    process.stderr.write('\ninterrupted: stopping the running syncs…\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const display = new SyncDisplay(tasks, {
    write: (text) => process.stdout.write(text),
    isTTY: process.stdout.isTTY === true,
  });
  const engine = createSyncEngineFromConfig(config, app.pool, { onEvent: display.onEvent });
  const results: Awaited<ReturnType<typeof engine.run>>[] = [];
  try {
    process.stdout.write(`syncing ${tasks.length} task${tasks.length === 1 ? '' : 's'} from ${config.digitalocean.apiUrl} (account ${config.digitalocean.accountId})\n`);
    display.start();
    const run = async (task: string): Promise<void> => {
      if (abort.signal.aborted) return;
      results.push(await engine.run(task, { trigger: 'cli', signal: abort.signal }));
    };
    const kinds = tasks.filter((t) => t !== 'projects');
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(KIND_CONCURRENCY, kinds.length) }, async () => {
        while (next < kinds.length) await run(kinds[next++] as string);
      }),
    );
    if (tasks.includes('projects')) await run('projects');
  } finally {
    display.stop();
    await app.stop('sync finished');
  }

  const ordered = tasks.flatMap((t) => results.filter((r) => r.task === t));
  process.stdout.write(`\n${summaryTable(ordered)}`);
  if (abort.signal.aborted || ordered.some((r) => r.status === 'failed')) return 1;
  return ordered.some((r) => r.status === 'incomplete') ? 2 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cloud-ops sync: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
