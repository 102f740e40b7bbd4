import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestApp, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY, type TestApp } from '../../../test/harness.ts';
import { encryptedColumns } from '../../encrypted-columns.ts';
import { readSecrets, tenantDbById } from '../../tenants/index.ts';
import { Keyring, parseKey } from './keyring.ts';
import { countStale, reencryptColumn } from './reencrypt.ts';

let h: TestApp;
before(async () => {
  h = await startTestApp();
});
after(() => h.close());

test('rotation re-encrypts every secret and datasource under the new key, resumably, while old and new keys both decrypt', async () => {
  const clients = [];
  for (let i = 0; i < 5; i++) {
    const c = await h.createClient(`Rotation Clinic ${i}`);
    await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/secrets`, headers: h.adminHeaders, payload: { whatsappToken: `EAA-token-${i}`, smtpPass: `pass-${i}`, whatsappPhoneNumberId: `10${i}` } });
    clients.push(c);
  }
  // Provision a tenant database so a datasource envelope exists too.
  await tenantDbById(h.ctx, clients[0].id);

  const newKey = randomBytes(32);
  const rotated = new Keyring([{ id: 'test2', key: newKey }, { id: 'test1', key: parseKey(TEST_ENCRYPTION_KEY) }], parseKey(TEST_BLIND_INDEX_KEY));
  const before = await countStale(h.ctx.controlDb, rotated, encryptedColumns[0]);
  assert.equal(before, 15);

  // Old envelopes still decrypt through the new ring before any re-encryption.
  assert.equal((await readSecrets({ controlDb: h.ctx.controlDb, keyring: rotated }, clients[2].id)).whatsappToken, 'EAA-token-2');

  const progress: number[] = [];
  // A first pass interrupted after one batch (simulated by a tiny batch and stopping early through an error).
  let batches = 0;
  await assert.rejects(reencryptColumn(h.ctx.controlDb, rotated, encryptedColumns[0], {
    batchSize: 4,
    onProgress: () => {
      if (++batches === 2) throw new Error('interrupted');
    },
  }), /interrupted/);
  const left = await countStale(h.ctx.controlDb, rotated, encryptedColumns[0]);
  assert.ok(left < 15 && left > 0, `partially rotated (left ${left})`);

  // Resume: finishes the rest and nothing twice.
  let total = 0;
  for (const column of encryptedColumns) total += await reencryptColumn(h.ctx.controlDb, rotated, column, { batchSize: 4, onProgress: (p) => progress.push(p.done) });
  assert.equal(total, left + 1, 'the remaining secrets plus one datasource');
  for (const column of encryptedColumns) assert.equal(await countStale(h.ctx.controlDb, rotated, column), 0);
  assert.equal(await reencryptColumn(h.ctx.controlDb, rotated, encryptedColumns[0]), 0, 'a second run has nothing to do');

  // The old key can now be removed: a ring with only the new key reads everything.
  const newOnly = new Keyring([{ id: 'test2', key: newKey }], parseKey(TEST_BLIND_INDEX_KEY));
  for (let i = 0; i < 5; i++) {
    const secrets = await readSecrets({ controlDb: h.ctx.controlDb, keyring: newOnly }, clients[i].id);
    assert.equal(secrets.whatsappToken, `EAA-token-${i}`);
    assert.equal(secrets.smtpPass, `pass-${i}`);
  }
  // Blind indexes do not depend on the encryption key: routing by phone number id still works.
  const { rows } = await h.ctx.controlDb.query("SELECT count(*)::int AS n FROM client_secrets WHERE name = 'whatsappPhoneNumberId' AND blind_index = $1", [newOnly.blindIndex('client_secrets.whatsappPhoneNumberId', '103')]);
  assert.equal(rows[0].n, 1);
});
