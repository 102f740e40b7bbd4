import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../../test/harness.ts';
import { runDoctor } from './doctor.ts';

let h: TestApp;
before(async () => {
  h = await startTestApp({ env: { DB_CONNECT_TIMEOUT_MS: '1000' } });
});
after(() => h.close());

test('doctor reports a healthy system, then names the client whose database is unreachable', async () => {
  const good = await h.createClient('Doctor Good');
  const bad = await h.createClient('Doctor Bad');
  // A datasource that cannot be reached any more: registered, then its server port closed.
  await h.ctx.controlDb.query(
    `INSERT INTO client_datasources (client_id, uri_envelope, key_id, display_uri) VALUES ($1, $2, $3, 'postgres://127.0.0.1:1/gone')`,
    [bad.id, h.ctx.keyring.encrypt('postgres://postgres:x@127.0.0.1:1/gone', `client:${bad.id}|client_datasources.uri`), h.ctx.keyring.activeId],
  );
  await h.app.inject({ method: 'POST', url: `/api/clients/${good.code}/secrets`, headers: h.adminHeaders, payload: { whatsappToken: 'EAA-doctor-token' } });
  const checks = await runDoctor(h.ctx);
  const byName = new Map(checks.map((c) => [c.name, c]));
  assert.equal(byName.get('control database: server')?.status, 'ok');
  assert.equal(byName.get('control database: migrations')?.status, 'ok');
  assert.equal(byName.get('encrypted client secrets')?.status, 'ok');
  assert.equal(byName.get(`client ${good.code}: tenant database`)?.status, 'ok');
  const failing = byName.get(`client ${bad.code}: tenant database`);
  assert.equal(failing?.status, 'fail');
  assert.match(failing!.detail, /unavailable/i);
  assert.ok(!JSON.stringify(checks).includes('postgres:x@'), 'no credentials in the report');
  assert.equal(byName.get(`client ${good.code}: WhatsApp`)?.status, 'fail', 'a token without a phone number id cannot receive webhooks');
  assert.equal(byName.get(`client ${bad.code}: WhatsApp`)?.status, 'warn', 'no token: simulator');
  assert.ok(!JSON.stringify(checks).includes('EAA-doctor-token'), 'no token in the report');
});
