// Cold start of the server to a healthy /api/health: the compiled build (`node --enable-source-maps dist/server.js`,
// as the image runs it) against the sources through tsx (`tsx src/server.ts`, as `npm start` runs it), in rounds
// that alternate the two so that load on the shared machine hits both alike. Each start brings up the embedded
// PostgreSQL of a temporary data directory that a first, unmeasured start initialised, so initdb is not counted.
// Prints the median and spread of each, the peak RSS of the node processes (VmHWM, read once healthy), and the
// same for a floor (bare node answering /api/health) with the load average, since the machines are shared.
// The target is a compiled median under 1 s; exit status 1 when it is missed.
//
//   npx tsx bench/cold-start.ts        (BENCH_ROUNDS=7; `npm run build` first, so dist/ matches the sources)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const TARGET_MS = 1000;
const REPO_ROOT = path.resolve(import.meta.dirname, '..');

interface Variant {
  name: string;
  argv: string[];
}

// The floor: node itself answering 200 on /api/health, so a slow shared machine shows as a slow floor too.
const FLOOR_SERVER = [
  `process.on('SIGTERM', () => process.exit(0));`,
  `require('node:http').createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');`,
].join(' ');

const VARIANTS: Variant[] = [
  { name: 'compiled (node dist/server.js)', argv: [process.execPath, '--enable-source-maps', 'dist/server.js'] },
  { name: 'tsx (tsx src/server.ts)', argv: [path.join(REPO_ROOT, 'node_modules/.bin/tsx'), 'src/server.ts'] },
  { name: 'floor (bare node http)', argv: [process.execPath, '-e', FLOOR_SERVER] },
];

interface Sample {
  ms: number;
  rssMb: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The pid and every descendant running node (tsx runs the server in a child), not the PostgreSQL it starts. */
function nodeProcessTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // /proc/<pid>/stat: "pid (comm) state ppid ...", and comm may hold spaces or parentheses.
    const stat = safeRead(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(Number(entry));
  }
  const tree: number[] = [];
  const visit = (pid: number): void => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) if (safeRead(`/proc/${child}/comm`).trim() === 'node') visit(child);
  };
  visit(root);
  return tree;
}

function peakRssMb(pid: number): number {
  let kb = 0;
  for (const p of nodeProcessTree(pid)) kb += Number(/VmHWM:\s+(\d+)/.exec(safeRead(`/proc/${p}/status`))?.[1] ?? 0);
  return kb / 1024;
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/api/health`)).status === 200;
  } catch {
    return false;
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
  );
}

/** One start: spawn, poll /api/health every 5 ms, read RSS, then SIGTERM and wait for a clean exit. */
async function start(variant: Variant, env: NodeJS.ProcessEnv): Promise<Sample> {
  const port = await freePort();
  const began = performance.now();
  const child = spawn(variant.argv[0]!, variant.argv.slice(1), {
    cwd: REPO_ROOT,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = exitOf(child);
  let ms: number | undefined;
  while (ms === undefined) {
    if (child.exitCode !== null)
      throw new Error(`${variant.name} exited (${child.exitCode}) before it was healthy:\n${stderr}`);
    if (await healthy(port)) ms = performance.now() - began;
    else await new Promise((resolve) => setTimeout(resolve, 5));
    if (performance.now() - began > 60_000) throw new Error(`${variant.name}: not healthy after 60 s`);
  }
  const rssMb = peakRssMb(child.pid!);
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`${variant.name} exited ${code} on SIGTERM:\n${stderr}`);
  return { ms, rssMb };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  console.log(`building dist/ (npm run build), load ${os.loadavg()[0]!.toFixed(1)} ...`);
  const build = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cloudops-cold-start-'));
  // Run as root, the embedded PostgreSQL runs as the postgres user, which must be able to enter the directory.
  chmodSync(dataDir, 0o755);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    EMBEDDED_PG_DATA_DIR: path.join(dataDir, 'postgres'),
    EMBEDDED_PG_PORT: String(await freePort()),
    JWT_SECRET: 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
    LOG_FORMAT: 'json',
  };
  try {
    console.log(`initialising the embedded PostgreSQL in ${dataDir} (not measured) ...`);
    await start(VARIANTS[0]!, env);

    const samples = new Map<string, Sample[]>(VARIANTS.map((v) => [v.name, []]));
    for (let round = 1; round <= ROUNDS; round += 1) {
      // Alternate which variant goes first, so neither always follows the other's shutdown.
      const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
      const line: string[] = [];
      for (const variant of order) {
        const sample = await start(variant, env);
        samples.get(variant.name)!.push(sample);
        line.push(`${variant.name.split(' ')[0]} ${sample.ms.toFixed(0)} ms`);
      }
      console.log(`round ${round}/${ROUNDS}: ${line.join(', ')}`);
    }

    const load = os
      .loadavg()
      .map((n) => n.toFixed(1))
      .join(' ');
    console.log(
      `\ncold start to a healthy /api/health, embedded PostgreSQL initialised, ${ROUNDS} rounds (${os.cpus().length} cores, load ${load}):`,
    );
    for (const variant of VARIANTS) {
      const list = samples.get(variant.name)!;
      const ms = list.map((s) => s.ms);
      const rss = list.map((s) => s.rssMb);
      console.log(
        `  ${variant.name.padEnd(32)} median ${median(ms).toFixed(0).padStart(5)} ms  (min ${Math.min(...ms).toFixed(0)}, max ${Math.max(...ms).toFixed(0)})` +
          `   peak RSS median ${median(rss).toFixed(0)} MB (min ${Math.min(...rss).toFixed(0)}, max ${Math.max(...rss).toFixed(0)})`,
      );
    }
    const [compiled, tsx, floor] = VARIANTS.map((v) => median(samples.get(v.name)!.map((s) => s.ms))) as [
      number,
      number,
      number,
    ];
    console.log(
      `  compiled saves ${(tsx - compiled).toFixed(0)} ms against tsx (${(tsx / compiled).toFixed(2)}x); compiled is ${(compiled / floor).toFixed(1)}x the floor`,
    );
    const met = compiled < TARGET_MS;
    console.log(
      `${met ? 'PASS' : 'FAIL'} compiled median ${compiled.toFixed(0)} ms ${met ? '<' : '>='} target ${TARGET_MS} ms`,
    );
    if (!met) process.exitCode = 1;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
