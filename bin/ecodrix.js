#!/usr/bin/env node
// Shim for the `ecodrix` command. The CLI is TypeScript run natively, which needs
// Node >= 22.18 / 23.6 (type stripping). On such a Node it is imported directly;
// otherwise (e.g. a system Node 20) it re-executes itself with the Node 24 binary
// installed in this package's node_modules (the `node` devDependency).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src', 'cli', 'main.ts');
const [major, minor] = process.versions.node.split('.').map(Number);
const strips = Boolean(process.features && process.features.typescript) || major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);

if (strips) {
  const { runCli } = await import(pathToFileURL(entry).href);
  process.exitCode = await runCli(process.argv.slice(2));
} else {
  const node = path.join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node)) {
    process.stderr.write(`ecodrix needs Node >= 22.18 (this is ${process.version}); run \`npm install\` in ${root} to get the pinned Node 24.\n`);
    process.exit(1);
  }
  const result = spawnSync(node, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.error) {
    process.stderr.write(`ecodrix: cannot run ${node}: ${result.error.message}\n`);
    process.exit(1);
  }
  process.exit(result.status ?? (result.signal ? 1 : 0));
}
