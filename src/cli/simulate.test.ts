/** `ecodrix simulate inbound`, spawned as a real process against a running test server. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { childEnvBase, startTestApp, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY, type TestApp } from '../../test/harness.ts';
import { withDatabase } from '../platform/db/pool.ts';
import { tenantDbById } from '../tenants/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let h: TestApp;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = {
    ...childEnvBase(), NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), h.database), CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`, BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY, DATA_DIR: `/tmp/ecodrix-test-data/${h.database}-cli`,
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'ecodrix.js'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  h = await startTestApp({ listen: true });
});
after(() => h.close());

test('simulate inbound delivers a signed webhook that lands in the client\'s inbox', async () => {
  const client = await h.createClient('CLI Clinic');
  const db = await tenantDbById(h.ctx, client.id);
  const r = await run(['simulate', 'inbound', '--client', client.code, '--from', '15550000001', '--text', 'hi from the CLI', '--name', 'Ravi', '--url', h.url!, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.match(result.waMessageId, /^wamid\./);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { rows } = await db.query(`SELECT m.text, c.name FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE m.wa_message_id = $1`, [result.waMessageId]);
    if (rows[0]) {
      assert.deepEqual(rows[0], { text: 'hi from the CLI', name: 'Ravi' });
      break;
    }
    if (Date.now() > deadline) throw new Error('the simulated message never arrived');
    await new Promise((res) => setTimeout(res, 50));
  }
});

test('simulate refuses bad usage (exit 2) and unknown clients (exit 1)', async () => {
  assert.equal((await run(['simulate', 'inbound', '--client', 'x'])).code, 2);
  assert.equal((await run(['simulate', 'outbound'])).code, 2);
  const unknown = await run(['simulate', 'inbound', '--client', 'nobody', '--from', '15550000001', '--text', 'x', '--url', h.url!]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /ClientCode not found/);
});
