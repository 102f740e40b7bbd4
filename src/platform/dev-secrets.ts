/**
 * Development convenience: when CORE_API_TOKEN or the encryption key is not
 * configured (and NODE_ENV is not production), generate them once and keep
 * them in DATA_DIR/dev-secrets.json so restarts keep working.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface DevSecrets {
  coreApiToken: string;
  encryptionKey: string;
  blindIndexKey: string;
}

/** Reads or creates the development secrets file. `created` is true on the first start. */
export function loadDevSecrets(dataDir: string): { secrets: DevSecrets; created: boolean; file: string } {
  const file = path.join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return { secrets: JSON.parse(readFileSync(file, 'utf8')) as DevSecrets, created: false, file };
  mkdirSync(dataDir, { recursive: true });
  const secrets: DevSecrets = {
    coreApiToken: `ecx_admin_${randomBytes(24).toString('base64url')}`,
    encryptionKey: randomBytes(32).toString('hex'),
    blindIndexKey: randomBytes(32).toString('hex'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return { secrets, created: true, file };
}
