/** `ecodrix scoring recalc`, spawned as a real process against the test app's control database. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnvBase, startTestApp, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY, type TestApp, type TestClient } from '../../../test/harness.ts';
import { withDatabase } from '../../platform/db/pool.ts';
import { tenantDbById } from '../../tenants/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let h: TestApp;
let a: TestClient;
let dataDir: string;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'ecodrix.js'), ...args], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...childEnvBase(), NODE_ENV: 'test', LOG_LEVEL: 'warn',
        DATABASE_URL: withDatabase(testServerUrl(), h.database), CORE_API_TOKEN: TEST_ADMIN_TOKEN,
        ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`, BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY, DATA_DIR: dataDir,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  h = await startTestApp();
  a = await h.createClient('CLI Scoring');
  dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-scoring-cli-'));
  const db = await tenantDbById(h.ctx, a.id);
  await db.query(`WITH c AS (INSERT INTO contacts (name, email) SELECT 'Cli ' || g, 'cli' || g || '@example.com' FROM generate_series(1, 30) g RETURNING id)
                  INSERT INTO leads (contact_id) SELECT id FROM c`);
});
after(async () => {
  await h.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('recalculates one client with progress, then all clients; refuses bad usage', async () => {
  const one = await run(['scoring', 'recalc', '--client', a.code.toUpperCase(), '--batch', '7', '--json']);
  assert.equal(one.code, 0, one.stderr);
  const body = JSON.parse(one.stdout);
  assert.equal(body.clients[0].processed, 30);
  assert.equal(body.clients[0].changed, 30);
  assert.match(one.stderr, /\[#{30}\] 30\/30 100%/);
  const db = await tenantDbById(h.ctx, a.id);
  assert.equal((await db.query('SELECT count(*)::int AS n FROM leads WHERE score = 5')).rows[0].n, 30);

  const all = await run(['scoring', 'recalc', '--all']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, new RegExp(`${a.code}: 30 leads scored, 0 changed`));

  assert.equal((await run(['scoring', 'recalc'])).code, 2);
  assert.equal((await run(['scoring', 'recalc', '--client', 'x', '--all'])).code, 2);
  assert.equal((await run(['scoring', 'recalc', '--client', a.code, '--batch', 'zero'])).code, 2);
  const unknown = await run(['scoring', 'recalc', '--client', 'no-such-client']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /ClientCode not found/);
});
