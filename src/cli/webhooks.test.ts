/** `ecodrix webhooks list|replay`, spawned as a real process against a test control database. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { createPool, withDatabase } from '../platform/db/pool.ts';
import { childEnvBase, createTestDatabase, testServerUrl, TEST_ADMIN_TOKEN, TEST_ENCRYPTION_KEY, TEST_BLIND_INDEX_KEY } from '../../test/harness.ts';
import { runCli } from '../../test/support/run-cli.ts';

let db: ReturnType<typeof createPool>;
let env: Record<string, string>;
let dataDir: string;

function run(args: string[]) {
  return runCli(args, env);
}

before(async () => {
  const database = await createTestDatabase('cliwh');
  dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-cli-wh-'));
  db = createPool({ connectionString: withDatabase(testServerUrl(), database), max: 2, connectTimeoutMs: 5000 });
  env = {
    ...childEnvBase(), NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), database), CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`, BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY, DATA_DIR: dataDir,
  };
});
after(async () => {
  await db.end();
  rmSync(dataDir, { recursive: true, force: true });
});

it('lists dead-lettered rows and replays one', async () => {
  const { rows: [dead] } = await db.query<{ id: string }>(
    `INSERT INTO whatsapp_inbox (body, state, attempts, last_error) VALUES ('{"entry":', 'dead', 1, 'malformed JSON: boom') RETURNING id::text`);
  await db.query(`INSERT INTO whatsapp_inbox (body, state, attempts) VALUES ('{}', 'done', 1)`);
  const list = await run(['webhooks', 'list', '--state', 'dead', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const page = JSON.parse(list.stdout);
  assert.deepEqual(page.webhooks.map((w: { id: string }) => w.id), [dead.id]);
  assert.equal(page.webhooks[0].lastError, 'malformed JSON: boom');
  const human = await run(['webhooks', 'list']);
  assert.match(human.stdout, /dead\s+attempts 1/);

  const replay = await run(['webhooks', 'replay', dead.id, '--json']);
  assert.equal(replay.code, 0, replay.stderr);
  assert.equal(JSON.parse(replay.stdout).previousState, 'dead');
  const { rows: [row] } = await db.query('SELECT state, attempts FROM whatsapp_inbox WHERE id = $1', [dead.id]);
  assert.deepEqual(row, { state: 'pending', attempts: 0 });

  const again = await run(['webhooks', 'replay', dead.id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /pending/);
  const missing = await run(['webhooks', 'replay', '987654']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found/i);
  const bad = await run(['webhooks', 'list', '--state', 'nope']);
  assert.equal(bad.code, 2);
});
