// Runs an entry point (src/server.ts, src/worker.ts, ...) as a real child process, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** The test runner's own variables, which would otherwise leak into a child process. */
const RUNNER_VARIABLES = ['TEST_DATABASE_URL', 'NODE_ENV', 'VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID'];

/**
 * `detached`: the child leads a process group of its own, so a test can signal the group as a terminal's Ctrl-C does.
 * `cwd`: the working directory (default: the repository); inside the repository, so that `tsx` still resolves.
 */
export function spawnEntry(
  entry: string,
  env: Record<string, string | undefined>,
  options: { detached?: boolean; cwd?: string } = {},
): ServiceProcess {
  const cleanEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env })) {
    if (value !== undefined) cleanEnv[key] = value;
  }
  // These would otherwise leak from the test runner's own environment into the service.
  for (const key of ['DATABASE_URL', ...RUNNER_VARIABLES]) {
    if (!(key in env)) delete cleanEnv[key];
  }
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(REPO_ROOT, entry)], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  return {
    child,
    output: () => output,
    exited,
    async waitForOutput(pattern, timeoutMs = 60_000) {
      const started = Date.now();
      while (!pattern.test(output)) {
        if (child.exitCode !== null)
          throw new Error(`process exited (${child.exitCode}) before ${pattern}:\n${output}`);
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${pattern}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `npm run sync -- <args>` as a child process (tsx, like the npm script), run to its exit. */
export function runSyncCli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env })) {
    if (value !== undefined && !RUNNER_VARIABLES.includes(key)) childEnv[key] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(REPO_ROOT, 'src/cli/sync.ts'), ...args], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForHealthy(port: number, timeoutMs = 60_000): Promise<Response> {
  const started = Date.now();
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/health`);
      if (response.status === 200) return response;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`no healthy /api/health on ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export { isAlive as isProcessAlive } from '../../src/db/embedded.js';
