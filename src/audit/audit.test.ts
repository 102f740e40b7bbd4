import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../../test/harness.ts';

let h: TestApp;
before(async () => {
  h = await startTestApp();
});
after(() => h.close());

test('operators query the audit log by client and action; entries say who, what, when and from where, never secret values', async () => {
  const a = await h.createClient('Audit Clinic');
  const b = await h.createClient('Other Audit Clinic');
  await h.app.inject({ method: 'POST', url: `/api/clients/${a.code}/secrets`, headers: h.adminHeaders, payload: { whatsappToken: 'EAA-audit-secret-token', smtpPass: 'audit-smtp-pass' } });
  await h.app.inject({ method: 'POST', url: `/api/clients/${a.code}/rotate-key`, headers: h.adminHeaders });

  const res = await h.app.inject({ method: 'GET', url: `/api/admin/audit?clientCode=${a.code.toUpperCase()}`, headers: h.adminHeaders });
  assert.equal(res.statusCode, 200);
  const items = res.json().items as Array<{ action: string; actor: string; at: string; ip: string | null; clientCode: string; details: Record<string, unknown> }>;
  assert.deepEqual(items.map((e) => e.action), ['client.rotate-key', 'secrets.set', 'client.create']);
  assert.ok(items.every((e) => e.actor === 'admin' && e.clientCode === a.code && e.ip && !Number.isNaN(Date.parse(e.at))));
  assert.deepEqual(items[1].details.fields, ['whatsappToken', 'smtpPass']);
  assert.ok(!res.body.includes('EAA-audit-secret-token') && !res.body.includes('audit-smtp-pass'), 'no secret values');
  assert.ok(!res.body.includes(b.code), 'filtered to the client');

  const byAction = (await h.app.inject({ method: 'GET', url: '/api/admin/audit?action=client.create&limit=1', headers: h.adminHeaders })).json();
  assert.equal(byAction.items.length, 1);
  assert.equal(byAction.items[0].clientCode, b.code, 'newest first');
  const next = (await h.app.inject({ method: 'GET', url: `/api/admin/audit?action=client.create&limit=1&before=${byAction.nextBefore}`, headers: h.adminHeaders })).json();
  assert.equal(next.items[0].clientCode, a.code, 'cursor pages back');

  // Deleted clients keep their history.
  await h.app.inject({ method: 'DELETE', url: `/api/clients/${b.code}`, headers: h.adminHeaders });
  const deleted = (await h.app.inject({ method: 'GET', url: `/api/admin/audit?clientCode=${b.code}`, headers: h.adminHeaders })).json();
  assert.deepEqual(deleted.items.map((e: { action: string }) => e.action), ['client.delete', 'client.create']);

  assert.equal((await h.app.inject({ method: 'GET', url: '/api/admin/audit', headers: a.headers })).statusCode, 401, 'tenant keys cannot read it');
  assert.equal((await h.app.inject({ method: 'GET', url: '/api/admin/audit?action=DROP%20TABLE', headers: h.adminHeaders })).statusCode, 400);

  const shown = (await h.app.inject({ method: 'GET', url: `/api/clients/${a.code}`, headers: h.adminHeaders })).json();
  assert.equal(shown.apiKeyLastUsedAt, null, 'the rotated key has not been used yet');
});
