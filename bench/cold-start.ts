/**
 * Benchmark: cold start. Time from spawning the server to the first 200 from
 * `GET /api/saas/health`:
 *
 * - fresh: `node src/main.ts` in an empty working directory with nothing
 *   configured (development defaults: DATA_DIR ./.data, so initdb of the
 *   embedded PostgreSQL, control migrations, generated dev secrets), as on a
 *   fresh clone after `npm install`;
 * - existing: the same command again on the data directory the fresh run left;
 * - npm start: one fresh start through `npm start` (npm's own start-up included).
 *
 * Baseline in the same run: spawning `node -e ""` until it exits. BENCH_RUNS
 * (default 3) runs of each; medians reported. Each server is stopped with
 * SIGTERM (SIGKILL after 30 s) before the next start. Prints one JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string) => process.stderr.write(`[cold-start] ${line}\n`);
const tmp = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-cold-'));
const running = new Set<ChildProcess>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return Math.round(sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2);
}
const summary = (values: number[]) => ({ median: median(values), min: Math.round(Math.min(...values)), max: Math.round(Math.max(...values)), runs: values.map(Math.round) });

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // npm start: signal the whole group (npm → sh → node).
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, 30_000);
    await exited;
    // npm exits before its children: wait until the whole group (node, PostgreSQL) is gone.
    for (let i = 0; i < 300 && groupAlive(child.pid!); i++) await new Promise((r) => setTimeout(r, 100));
    clearTimeout(timer);
  }
  running.delete(child);
}

/** Spawns `command` in `cwd` and resolves with ms until health answers 200 (the server is stopped afterwards). */
async function startToHealthy(command: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  for (const key of ['DATABASE_URL', 'DATA_DIR', 'NODE_ENV', 'CORE_API_TOKEN', 'ENCRYPTION_KEY', 'ENCRYPTION_KEYS', 'SERVICES']) delete env[key];
  Object.assign(env, extraEnv);
  const t0 = performance.now();
  // Own process group (so npm's children are stopped with it); tracked in `running` and stopped on every exit path.
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited during start: ${stderr.trim().slice(-500)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/saas/health`);
        await res.arrayBuffer();
        if (res.status === 200) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`not healthy after 60 s: ${stderr.trim().slice(-500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await stop(child);
  }
}

function spawnNoop(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve(performance.now() - t0));
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void Promise.all([...running].map(stop)).finally(() => {
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  }));
}

try {
  const main = path.join(root, 'src/main.ts');
  const baseline: number[] = [];
  const fresh: number[] = [];
  const existing: number[] = [];
  await spawnNoop(); // warm the file cache
  const loadBefore = loadavg()[0];
  for (let run = 0; run < RUNS; run++) {
    baseline.push(await spawnNoop());
    const cwd = mkdtempSync(path.join(tmp, 'clone-'));
    fresh.push(await startToHealthy(process.execPath, [main], cwd));
    existing.push(await startToHealthy(process.execPath, [main], cwd));
    log(`run ${run + 1}: node -e "" ${baseline.at(-1)!.toFixed(0)} ms, fresh ${fresh.at(-1)!.toFixed(0)} ms, existing ${existing.at(-1)!.toFixed(0)} ms`);
    rmSync(cwd, { recursive: true, force: true });
  }
  // npm start as the README says (npm puts the pinned Node 24 first on the PATH).
  const npmCwd = mkdtempSync(path.join(tmp, 'npm-'));
  let npmStartFreshMs: number | undefined;
  try {
    // npm runs the script in the package directory: point DATA_DIR at the fresh directory instead of ./.data there.
    npmStartFreshMs = await startToHealthy('npm', ['start', '--prefix', root, '--silent'], npmCwd, { DATA_DIR: path.join(npmCwd, '.data') });
    log(`npm start, fresh: ${npmStartFreshMs.toFixed(0)} ms`);
  } catch (err) {
    log(`npm start not measured: ${(err as Error).message}`);
  }
  process.stdout.write(`${JSON.stringify({
    bench: 'cold-start', runs: RUNS, unit: 'ms',
    freshMs: summary(fresh), existingMs: summary(existing), npmStartFreshMs: npmStartFreshMs && Math.round(npmStartFreshMs),
    baselineNodeMs: summary(baseline), target: '<= 5000',
    loadAverage: { before: Number(loadBefore.toFixed(1)), after: Number(loadavg()[0].toFixed(1)) },
  })}\n`);
} finally {
  await Promise.all([...running].map(stop));
  rmSync(tmp, { recursive: true, force: true });
}
