/** Rewrites `.env.example` from the documented configuration variables: `npm run env:example`. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentedVariables } from '../src/config.ts';
import { renderEnvExample } from '../src/platform/env-example.ts';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.env.example');
const variables = documentedVariables();
writeFileSync(file, renderEnvExample(variables));
process.stdout.write(`wrote ${file} (${new Set(variables.map((v) => v.name)).size} variables)\n`);
