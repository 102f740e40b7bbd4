/**
 * `npm run bench`: runs every `bench/*.ts` except this file, one after another
 * (each starts its own database), collects the JSON line each prints, and
 * shows a table plus one JSON document with all results. Add a benchmark by
 * adding a file that prints one JSON line with a `bench` name.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts')).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));

function run(file: string): Promise<{ code: number | null; lines: string[]; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, [path.join(here, file)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    child.on('exit', (code) => resolve({ code, lines: stdout.split('\n').filter(Boolean), stderr, ms: Math.round(performance.now() - start) }));
  });
}

const results: Record<string, unknown>[] = [];
let failed = false;
for (const file of files) {
  process.stderr.write(`== ${file}\n`);
  const { code, lines, ms } = await run(file);
  const parsed = lines.flatMap((line) => {
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      return value && typeof value === 'object' && 'bench' in value ? [value] : [];
    } catch {
      return [];
    }
  });
  if (code !== 0 || parsed.length === 0) {
    failed = true;
    results.push({ bench: file.replace(/\.ts$/, ''), error: `exit ${code}, ${parsed.length} result line(s)`, ms });
  } else {
    results.push(...parsed.map((r) => ({ ...r, ms })));
  }
}

function flatten(value: unknown, prefix = ''): Array<[string, string]> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, typeof value === 'string' ? value : JSON.stringify(value)]];
}

for (const result of results) {
  const rows = flatten(result).filter(([k]) => k !== 'bench');
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n${String(result.bench)}\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`);
}
process.stdout.write(`\n${JSON.stringify({ benchmarks: results })}\n`);
process.exitCode = failed ? 1 : 0;
