// The production build and the image's command line: `npm run build`, then the Dockerfile's CMD run as it would be
// as PID 1 (a direct child, signalled alone), with a job running when SIGTERM arrives. The job must finish, nothing
// may stay locked in graphile-worker's tables, and the process must exit 0.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET, token } from './helpers/api.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { json, startStub, type Stub } from './helpers/http-stub.js';
import { freePort, waitForHealthy } from './helpers/process.js';
import { markSynced } from './helpers/runs.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const BALANCE_DELAY_MS = 2000;

/** The argv of the Dockerfile's CMD (exec form), so this test runs whatever the image runs. */
function imageCommand(): string[] {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!cmd) throw new Error('Dockerfile has no exec-form CMD ["node", ...]');
  return JSON.parse(cmd[1]!) as string[];
}

describe('compiled server (the image command)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let stub: Stub;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    const build = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stub?.close();
    await pool?.end();
    await db?.drop();
  });

  it('drains the running job on SIGTERM and exits 0', async () => {
    const argv = imageCommand();
    expect(argv.slice(0, 1)).toEqual(['node']);
    expect(argv).toContain('dist/server.js');

    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    // A mirror that was synced before, so the start does not queue the startup sync: the only job is ours.
    await markSynced(pool);

    // The DigitalOcean API, answering the balance slowly enough that the job is mid-request when the signal comes.
    let balanceRequested!: () => void;
    const requested = new Promise<void>((resolve) => (balanceRequested = resolve));
    let answeredAt: number | undefined;
    stub = await startStub(async (req, res) => {
      if (req.path !== '/v2/customers/my/balance') return json(res, 404, { id: 'not_found', message: 'not here' });
      balanceRequested();
      await new Promise((resolve) => setTimeout(resolve, BALANCE_DELAY_MS));
      answeredAt = Date.now();
      json(res, 200, {
        month_to_date_balance: '12.34',
        account_balance: '0.00',
        month_to_date_usage: '12.34',
        generated_at: new Date().toISOString(),
      });
    });

    const port = await freePort();
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    Object.assign(env, {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      DIGITALOCEAN_TOKEN: 'test-token',
      DIGITALOCEAN_API_URL: stub.url,
      LOG_FORMAT: 'json',
    });
    // The image's node is the one running this test; every other argument is the CMD's, verbatim.
    const started = spawn(process.execPath, argv.slice(1), { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let output = '';
    started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      started.on('exit', (code) => resolve({ code, at: Date.now() })),
    );

    await waitForHealthy(port);
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token({ admin: true })}` },
      body: JSON.stringify({ query: 'mutation { triggerSync(task: "balance") { jobIds } }' }),
    });
    const body = (await response.json()) as { data?: { triggerSync: { jobIds: string[] } }; errors?: unknown };
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data?.triggerSync.jobIds).toHaveLength(1);

    await requested;
    const running = await pool.query<{ locked: number }>(
      `SELECT count(*)::int AS locked FROM graphile_worker.jobs WHERE locked_at IS NOT NULL`,
    );
    expect(running.rows[0]?.locked).toBe(1);

    started.kill('SIGTERM');
    const { code, at } = await exited;
    expect(code, output).toBe(0);
    expect(answeredAt, 'the API answered before the process exited').toBeDefined();
    expect(at).toBeGreaterThanOrEqual(answeredAt!);
    expect(output).toMatch(/"reason":"SIGTERM".*"msg":"shutting down"/);

    const runs = await pool.query<{ status: string; finished: boolean }>(
      `SELECT status, finished_at IS NOT NULL AS finished FROM sync_runs WHERE task = 'balance'`,
    );
    expect(runs.rows).toEqual([{ status: 'succeeded', finished: true }]);
    const snapshots = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cloud_balance_snapshots`);
    expect(snapshots.rows[0]?.n).toBe(1);
    // A finished job is deleted; a job cut short would stay, locked or queued for a retry.
    const jobs = await pool.query(`SELECT task_identifier, locked_at, attempts, last_error FROM graphile_worker.jobs`);
    expect(jobs.rows).toEqual([]);
  });

  it('runs the compiled worker entry (npm run worker:prod) and stops it with SIGTERM', async () => {
    const worker = spawn(process.execPath, ['--enable-source-maps', 'dist/worker.js'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        DATABASE_URL: db.url,
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = worker;
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    const started = Date.now();
    while (!/looking for jobs/.test(output)) {
      if (worker.exitCode !== null) throw new Error(`worker exited (${worker.exitCode}):\n${output}`);
      if (Date.now() - started > 30_000) throw new Error(`worker not ready after 30 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    worker.kill('SIGTERM');
    expect(await exited, output).toBe(0);
  });
});
