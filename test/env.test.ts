import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './harness.ts';

let h: TestApp;
before(async () => {
  h = await startTestApp();
});
after(() => h.close());

test('harness boots the app on a fresh database and provisions a tenant database', async () => {
  const res = await h.app.inject({ method: 'GET', url: '/api/saas/health' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().database, 'ok');
  const client = await h.createClient('Harness Clinic');
  const cors = await h.app.inject({ method: 'POST', url: '/api/saas/cors', headers: client.headers, payload: { url: 'https://harness.example' } });
  assert.equal(cors.statusCode, 201);
  const pool = await (await import('../src/tenants/index.ts')).tenantDbById(h.ctx, client.id);
  const { rows } = await pool.query("SELECT count(*)::int AS n FROM pipeline_stages");
  assert.equal(rows[0].n, 5);
});
