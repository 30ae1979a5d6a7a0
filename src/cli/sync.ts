/**
 * `npm run sync -- [task ...|all]`: runs syncs now, in the foreground, in this process (no queue), against the same
 * database the server uses (DATABASE_URL, or the embedded PostgreSQL), with live progress and a summary. A task a
 * worker is running right now is waited for (its run lock, jobs/lease.ts), then run here: never two at once.
 *
 * Tasks: the names triggerSync takes (the task registry, domain/tasks.ts): the kinds (droplet, volume, …, app),
 * projects, balance, billing_history, billing_insights, and invoice:<uuid>. `all` (the default) runs every kind, then projects (so that a first sync
 * attributes resources that already exist); billing is run by name. Kinds run three at a time; then projects; then
 * the billing tasks one at a time (billing_history goes on to ingest every invoice it would queue, one at a time).
 * They all share one rate limiter.
 *
 * Exit status: 0 when every run succeeded, 2 when some were incomplete (nothing failed; staleness not updated for
 * them), 1 on a failed run, a missing token, bad arguments or a startup problem.
 */
import { startApp } from '../app.js';
import { ConfigError, loadConfig, loadEnvFile, type Config } from '../config.js';
import { StartupError } from '../db/errors.js';
import {
  ALL_TASKS,
  groupOf,
  INVENTORY_TASKS,
  isRunnableTask,
  parseTaskTarget,
  TASK_NAME_FORMS,
  targetName,
  TASK_NAMES,
  type InventoryTaskName,
  type TaskTarget,
} from '../domain/tasks.js';
import { billingRunTasks, runBillingNow } from '../jobs/billing/now.js';
import { newOwnerId, openLease, withRunLock } from '../jobs/lease.js';
import { readRunResults } from '../jobs/run.js';
import { createJobServices } from '../jobs/services.js';
import { sweepAbandoned } from '../jobs/sweeper.js';
import { runLockKey } from '../jobs/tasks.js';
import { createLogger } from '../logger.js';
import { SyncDisplay, summaryTable } from './sync-display.js';

const USAGE = `usage: npm run sync -- [task ...|${ALL_TASKS}]\n  tasks: ${TASK_NAME_FORMS.join(', ')}\n  ${ALL_TASKS} (the default): every inventory task (${INVENTORY_TASKS.join(', ')})\n`;
const KIND_CONCURRENCY = 3;

function parseTasks(args: string[]): string[] | string {
  const wanted = args.filter((a) => a !== '--');
  if (wanted.some((a) => a === '-h' || a === '--help')) return USAGE;
  const unknown = wanted.filter((a) => !isRunnableTask(a));
  if (unknown.length > 0) return `unknown task${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\n${USAGE}`;
  const named = new Set<string>(
    wanted.length === 0 || wanted.includes(ALL_TASKS) ? [...wanted, ...INVENTORY_TASKS] : wanted,
  );
  const tasks: readonly string[] = TASK_NAMES;
  // Table order (kinds, projects, billing), each once; then tasks with an argument (invoice:<uuid>) as given.
  return [...tasks.filter((t) => named.has(t)), ...[...named].filter((t) => t !== ALL_TASKS && !tasks.includes(t))];
}

async function main(): Promise<number> {
  const tasks = parseTasks(process.argv.slice(2));
  if (typeof tasks === 'string') {
    const help = tasks === USAGE;
    (help ? process.stdout : process.stderr).write(tasks);
    return help ? 0 : 1;
  }

  loadEnvFile();
  let config: Config;
  try {
    // Logs would tear through the progress display: only warnings and errors, unless the environment or the .env
    // asks for another level.
    config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cloud-ops sync: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (!config.digitalocean.token) {
    process.stderr.write(
      'cloud-ops sync: DIGITALOCEAN_TOKEN is not set; there is nothing to sync (set it, or point DIGITALOCEAN_API_URL at a simulator and set any token).\n',
    );
    return 1;
  }

  const logger = createLogger(config.log);
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp(config, { http: false, worker: false }, logger);
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

  const targets = tasks.map((name) => parseTaskTarget(name)!);
  const inventory = targets.flatMap((t) => (groupOf(t.task) === 'inventory' ? [t.task as InventoryTaskName] : []));
  const billingTargets = targets.filter((t) => groupOf(t.task) === 'billing');
  // One line per sync_runs.task: a billing target's runs show as balance, billing_history, invoice.
  const lines = [...new Set([...inventory, ...billingTargets.flatMap(billingRunTasks)])];
  const display = new SyncDisplay(lines, {
    write: (text) => process.stdout.write(text),
    isTTY: process.stdout.isTTY === true,
  });
  // The lease says this process is alive (its runs are closed as abandoned if it dies); the sweep closes runs that
  // dead processes left. Each run takes its task's run lock: a run of the same task in progress anywhere else (a
  // worker's job) is waited for, so the two never list side by side and the exit status is this run's own.
  const lease = await openLease(app.pool, { owner: newOwnerId('cli'), logger }).catch(async (error: unknown) => {
    await app.stop('no lease');
    throw error;
  });
  await sweepAbandoned(app.pool, logger).catch((error: unknown) => logger.warn({ err: String(error) }, 'sweep failed'));
  const { engine, billing } = createJobServices(config, app.pool, logger, {
    onEvent: display.onEvent,
    owner: lease.owner,
  });
  const { accountId } = config.digitalocean;
  const locked = async <T>(target: TaskTarget, body: () => Promise<T>): Promise<T | undefined> => {
    const onWait = (): void =>
      void process.stderr.write(`${targetName(target)}: running in another process; waiting for it to finish\n`);
    const outcome = await withRunLock(
      lease,
      runLockKey(accountId, target),
      { wait: { signal: abort.signal, onWait } },
      body,
    );
    return outcome.ran ? outcome.value : undefined;
  };
  const results: Awaited<ReturnType<typeof engine.run>>[] = [];
  const billingResults: typeof results = [];
  try {
    process.stdout.write(
      `syncing ${tasks.length} task${tasks.length === 1 ? '' : 's'} from ${config.digitalocean.apiUrl} (account ${config.digitalocean.accountId})\n`,
    );
    display.start();
    const run = async (task: InventoryTaskName): Promise<void> => {
      if (abort.signal.aborted) return;
      const result = await locked({ task }, () => engine.run(task, { trigger: 'cli', signal: abort.signal }));
      if (result) results.push(result);
    };
    const kinds = inventory.filter((t) => t !== 'projects');
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(KIND_CONCURRENCY, kinds.length) }, async () => {
        while (next < kinds.length) await run(kinds[next++]!);
      }),
    );
    if (inventory.includes('projects')) await run('projects');
    for (const target of billingTargets) {
      if (abort.signal.aborted) break;
      const runs = await locked(target, () => runBillingNow(billing, target, { trigger: 'cli', signal: abort.signal }));
      billingResults.push(...(await readRunResults(app.pool, runs ?? [])));
    }
  } finally {
    display.stop();
    await lease.close();
    await app.stop('sync finished');
  }

  // Inventory runs in table order, then the billing runs as they ran (a history run, then its invoices).
  const ordered = [...tasks.flatMap((t) => results.filter((r) => r.task === t)), ...billingResults];
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
