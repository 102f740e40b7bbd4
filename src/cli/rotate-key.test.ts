/** `ecodrix secrets rotate-key`, spawned as a real process while the keyring changes around it. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { withDatabase } from '../platform/db/pool.ts';
import { childEnvBase, createTestDatabase, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY } from '../../test/harness.ts';
import { runCli } from '../../test/support/run-cli.ts';

const NEW_KEY = randomBytes(32).toString('hex');
let dataDir: string;
let base: Record<string, string>;

function run(args: string[], keys: string) {
  return runCli(args, { ...base, ENCRYPTION_KEYS: keys });
}

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-rotate-'));
  base = {
    ...childEnvBase(), NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), await createTestDatabase('rot')),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN, BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY, DATA_DIR: dataDir,
  };
});
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('rotate-key moves every secret to the new active key; then the old key can go', async () => {
  const oldRing = `test1:${TEST_ENCRYPTION_KEY}`;
  const bothRing = `test2:${NEW_KEY},test1:${TEST_ENCRYPTION_KEY}`;
  const newRing = `test2:${NEW_KEY}`;
  const created = JSON.parse((await run(['clients', 'create', '--name', 'Rotate Clinic', '--email', 'r@example.com', '--json'], oldRing)).stdout);
  assert.equal((await run(['secrets', 'set', '--client', created.clientCode, '--whatsappToken', 'EAA-rotate-secret', '--smtpPass', 'smtp-rotate-pass'], oldRing)).code, 0);

  const check = await run(['secrets', 'rotate-key', '--check', '--json'], bothRing);
  assert.equal(check.code, 1, 'old envelopes are reported before rotation');
  assert.equal(JSON.parse(check.stdout).remaining, 2);

  const rotated = await run(['secrets', 'rotate-key', '--json', '--batch', '1'], bothRing);
  assert.equal(rotated.code, 0, rotated.stderr);
  const report = JSON.parse(rotated.stdout);
  assert.equal(report.activeKeyId, 'test2');
  assert.equal(report.remaining, 0);
  assert.ok(!rotated.stdout.includes('EAA-rotate-secret') && !rotated.stderr.includes('EAA-rotate-secret'), 'no secret printed');

  // With only the new key, everything still decrypts (doctor reads the client's secrets hints; set reads/writes fine).
  const after = await run(['secrets', 'rotate-key', '--check', '--json'], newRing);
  assert.equal(after.code, 0);
  assert.equal((await run(['secrets', 'set', '--client', created.clientCode, '--smtpUser', 'u@example.com'], newRing)).code, 0);
  const usage = await run(['secrets', 'rotate-key', '--batch', 'x'], newRing);
  assert.equal(usage.code, 2);
});
