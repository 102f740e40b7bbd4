/**
 * Renders `.env.example` from the documented variables, so the example can
 * never drift from the code: `npm run env:example` rewrites it, and a test
 * fails when a variable read by the code is missing from it.
 */
import type { VariableDoc } from './env-reader.ts';

function wrap(text: string, width = 96): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export function renderEnvExample(variables: VariableDoc[]): string {
  const seen = new Set<string>();
  const out = [
    '# ECODrIx configuration. Copy to `.env` (or set in the environment, which wins) and uncomment what you change.',
    '# Nothing is required for `npm start` in development; NODE_ENV=production requires CORE_API_TOKEN and ENCRYPTION_KEY(S).',
    '# Generated from the code by `npm run env:example` (src/config.ts → documentedVariables()); do not edit by hand.',
    '',
  ];
  for (const v of variables) {
    if (seen.has(v.name)) continue;
    seen.add(v.name);
    for (const line of wrap(`${v.name}${v.secret ? ' (secret)' : ''}: ${v.doc}`)) out.push(`# ${line}`);
    out.push(`# ${v.name}=${v.defaultValue ?? ''}`, '');
  }
  return out.join('\n');
}
