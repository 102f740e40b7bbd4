/** Spawns the real `ecodrix` CLI (bin/ecodrix.js) for CLI tests and collects its output. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'ecodrix.js');

export interface CliRun { code: number | null; stdout: string; stderr: string }

/** Runs `ecodrix <args>` with exactly `env` (no inherited variables) from the repository root. */
export function runCli(args: string[], env: Record<string, string>, options: { node?: string } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(options.node ?? process.execPath, [bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
