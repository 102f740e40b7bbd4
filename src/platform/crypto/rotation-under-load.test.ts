/**
 * Key rotation without downtime (security.md §5): the server already runs with
 * the two-key ring (new key active, old key still able to decrypt) while
 * `ecodrix secrets rotate-key` runs as a real process beside it. Meanwhile the
 * server keeps writing and reading secrets as fast as it can. Nothing fails,
 * no write is lost to the rotation's re-encryption, and afterwards the old key
 * can go.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { childEnvBase, startTestApp, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY, type TestApp, type TestClient } from '../../../test/harness.ts';
import { runCli } from '../../../test/support/run-cli.ts';
import { withDatabase } from '../db/pool.ts';
import { readSecrets } from '../../tenants/index.ts';
import { writeSecrets } from '../../tenants/secrets.ts';
import { Keyring, parseKey } from './keyring.ts';

const NEW_KEY = randomBytes(32).toString('hex');
const BOTH_RING = `test2:${NEW_KEY},test1:${TEST_ENCRYPTION_KEY}`;
const CLIENTS = 6;

let h: TestApp;
const clients: TestClient[] = [];

before(async () => {
  h = await startTestApp({ env: { ENCRYPTION_KEYS: BOTH_RING } });
  // Secrets written before the rolling restart: under the old key only.
  const oldRing = new Keyring([{ id: 'test1', key: parseKey(TEST_ENCRYPTION_KEY) }], parseKey(TEST_BLIND_INDEX_KEY));
  for (let i = 0; i < CLIENTS; i++) {
    const client = await h.createClient(`Rotation Load Clinic ${i}`);
    clients.push(client);
    await writeSecrets(h.ctx.controlDb, oldRing, client.id, {
      whatsappToken: `EAA-load-${i}`, smtpPass: `pass-${i}`, smtpUser: `user-${i}-0@example.com`, smtpHost: 'smtp.example.com',
      automationWebhookSecret: `whsec-${i}`, whatsappWebhookToken: `verify-${i}`,
    });
  }
});
after(() => h.close());

test('rotate-key runs beside a serving instance: every read decrypts, no concurrent write is lost, then the old key can go', async () => {
  const { rows: before } = await h.ctx.controlDb.query<{ n: number }>("SELECT count(*)::int AS n FROM client_secrets WHERE key_id = 'test1'");
  assert.equal(before[0].n, CLIENTS * 6);

  let rotating = true;
  const lastWritten = new Map<string, string>();
  let writes = 0;
  let reads = 0;
  const failures: string[] = [];

  // Writers: the admin API updates smtpUser of every client over and over (each write uses the active key).
  const writers = clients.map(async (client, i) => {
    for (let n = 1; rotating || n <= 3; n++) {
      const value = `user-${i}-${n}@example.com`;
      const res = await h.app.inject({ method: 'POST', url: `/api/clients/${client.code}/secrets`, headers: h.adminHeaders, payload: { smtpUser: value } });
      if (res.statusCode !== 200) failures.push(`write ${res.statusCode} ${res.body}`);
      else lastWritten.set(client.id, value);
      writes++;
    }
  });
  // Readers: what the send paths do, decrypting whatever key each envelope is under at that moment.
  const readers = clients.map(async (client, i) => {
    while (rotating) {
      try {
        const s = await readSecrets(h.ctx, client.id);
        if (s.whatsappToken !== `EAA-load-${i}` || s.smtpPass !== `pass-${i}` || !s.smtpUser?.startsWith(`user-${i}-`)) failures.push(`read ${JSON.stringify(Object.keys(s))}`);
      } catch (err) {
        failures.push(`read threw ${(err as Error).message}`);
      }
      reads++;
      await new Promise((r) => setImmediate(r));
    }
  });
  // Webhook verification looks clients up by blind index, which rotation must not disturb.
  const verifier = (async () => {
    let n = 0;
    while (rotating) {
      const token = `verify-${n++ % CLIENTS}`;
      const res = await h.app.inject({ method: 'GET', url: `/api/saas/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=c${n}` });
      if (res.statusCode !== 200 || res.body !== `c${n}`) failures.push(`verify ${res.statusCode}`);
    }
  })();

  const env = {
    ...childEnvBase(), NODE_ENV: 'test', DATABASE_URL: withDatabase(process.env.ECODRIX_TEST_PG_URL!, h.database),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN, BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY, DATA_DIR: `/tmp/ecodrix-test-data/${h.database}-cli`,
  };
  let rotated;
  try {
    // One row per transaction, so the rotation interleaves with the writers as much as it can.
    rotated = await runCli(['secrets', 'rotate-key', '--json', '--batch', '1'], { ...env, ENCRYPTION_KEYS: BOTH_RING });
  } finally {
    rotating = false;
    await Promise.all([...writers, ...readers, verifier]);
  }
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.equal(JSON.parse(rotated.stdout).remaining, 0);
  assert.deepEqual(failures, [], 'no request failed while rotating');
  assert.ok(writes > CLIENTS && reads > CLIENTS, `load ran alongside (writes ${writes}, reads ${reads})`);

  // Nothing under the old key; the last write of every client survived; the old key can be removed.
  const { rows: stale } = await h.ctx.controlDb.query<{ n: number }>("SELECT count(*)::int AS n FROM client_secrets WHERE key_id <> 'test2'");
  assert.equal(stale[0].n, 0);
  const newOnly = new Keyring([{ id: 'test2', key: parseKey(NEW_KEY) }], parseKey(TEST_BLIND_INDEX_KEY));
  for (const [i, client] of clients.entries()) {
    const s = await readSecrets({ controlDb: h.ctx.controlDb, keyring: newOnly }, client.id);
    assert.equal(s.smtpUser, lastWritten.get(client.id), 'the latest write is what is stored');
    assert.equal(s.whatsappToken, `EAA-load-${i}`);
    assert.equal(s.automationWebhookSecret, `whsec-${i}`);
  }
  const check = await runCli(['secrets', 'rotate-key', '--check', '--json'], { ...env, ENCRYPTION_KEYS: `test2:${NEW_KEY}` });
  assert.equal(check.code, 0, check.stderr);
  for (const secret of ['EAA-load-', 'pass-', 'whsec-']) {
    assert.ok(!rotated.stdout.includes(secret) && !rotated.stderr.includes(secret), 'no secret printed by the rotation');
    assert.ok(!h.logs.join('').includes(secret), 'no secret in the server log');
  }
});
