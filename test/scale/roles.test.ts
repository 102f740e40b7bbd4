/**
 * Separate roles: a `--services=api` process runs no schedule work (no cron pass, no forwarding of
 * due occurrences); once a process with the cron role joins, the schedules are registered and
 * passes run. Real processes against one control database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, withDatabase } from '../../src/platform/db/pool.ts';
import { createTestDatabase, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY } from '../harness.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ecodrix-roles-'));
const servers: ServerProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

test('an api-only process does no schedule work; a cron process does', { timeout: 240_000 }, async () => {
  const database = await createTestDatabase('roles');
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), database),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`,
    BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY,
    TENANT_AUTO_PROVISION: 'true',
    DATA_DIR: path.join(dir, 'data'),
    JOB_CRON_PASS_SECONDS: '1',
  };
  const control = createPool({ connectionString: withDatabase(testServerUrl(), database), max: 1, connectTimeoutMs: 5000 });
  try {
    const state = async () => (await control.query<{ cron_on: Date | null; schedules: number }>(
      'SELECT cron_on, (SELECT count(*)::int FROM pgboss.schedule) AS schedules FROM pgboss.version')).rows[0];
    // pg-boss's scheduler runs its first pass as it starts, before this process listens: had the api
    // process started it, cron_on would be stamped by the time health answers.
    servers.push(await startServerProcess(env, { args: ['--services=api'] }));
    assert.deepEqual(await state(), { cron_on: null, schedules: 0 }, 'no cron pass and no schedules from an api-only process');

    servers.push(await startServerProcess(env, { args: ['--services=api,cron'] }));
    const deadline = Date.now() + 60_000;
    let now = await state();
    while (!(now.cron_on && now.schedules > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      now = await state();
    }
    assert.ok(now.cron_on, 'the cron process ran a pass');
    assert.ok(now.schedules > 0, 'the cron process registered the schedules');
  } finally {
    await control.end();
  }
});
