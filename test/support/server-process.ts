/**
 * Runs the real server as a child process (`node src/main.ts`), for crash,
 * restart and multi-instance tests: start, wait for health, SIGTERM or SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node src/main.ts` with `env` on `port` and waits until /api/saas/health answers 200. */
export async function startServerProcess(env: Record<string, string>, options: { port?: number; args?: string[]; timeoutMs?: number } = {}): Promise<ServerProcess> {
  const port = options.port ?? await freePort();
  const child = spawn(process.execPath, [path.join(root, 'src', 'main.ts'), ...(options.args ?? [])], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-20_000); });
  child.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-20_000); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let done = false;
  void exited.then(() => { done = true; });
  while (true) {
    if (done) throw new Error(`server exited during start:\n${log}`);
    try {
      const res = await fetch(`${url}/api/saas/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become healthy:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    child,
    output: () => log,
    exited,
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}
