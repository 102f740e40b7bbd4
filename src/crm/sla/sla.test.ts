import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestApp, type TestApp, type TestClient } from '../../../test/harness.ts';
import type { RealtimeEvent } from '../../platform/events.ts';
import { tenantDbById } from '../../tenants/index.ts';
import { flagSlaBreaches } from './flag-sla-breaches.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;
let db: pg.Pool;
const published: RealtimeEvent[] = [];
const T0 = new Date('2026-03-01T10:00:00Z');
const min = (n: number) => new Date(T0.getTime() + n * 60_000);

before(async () => {
  h = await startTestApp();
  h.ctx.realtime = { publish: (event) => published.push(event) };
  a = await h.createClient('SLA A');
  b = await h.createClient('SLA B');
  db = await tenantDbById(h.ctx, a.id);
});
after(() => h.close());

async function lead(client: TestClient, name: string, createdAt: Date, source = 'whatsapp') {
  const res = await h.app.inject({ method: 'POST', url: '/api/crm/leads', headers: client.headers, payload: { contact: { name }, source } });
  assert.equal(res.statusCode, 201, res.body);
  const pool = await tenantDbById(h.ctx, client.id);
  await pool.query('UPDATE leads SET created_at = $2 WHERE id = $1', [res.json().id, createdAt]);
  return res.json() as { id: string; contactId: string };
}

async function outbound(contactId: string, at: Date) {
  const conv = await db.query('INSERT INTO conversations (contact_id) VALUES ($1) RETURNING id', [contactId]);
  await db.query(`INSERT INTO messages (conversation_id, contact_id, direction, type, status, created_at) VALUES ($1, $2, 'outbound', 'text', 'sent', $3)`, [conv.rows[0].id, contactId, at]);
}

test('flags leads nobody contacted within the window, with controllable time', async () => {
  const ignored = await lead(a, 'Nobody Answered', T0);
  const answered = await lead(a, 'Answered Quickly', T0);
  await outbound(answered.contactId, min(5));
  const late = await lead(a, 'Answered Late', T0);
  await outbound(late.contactId, min(30));
  const fresh = await lead(a, 'Just Arrived', min(25));
  const imported = await lead(a, 'Imported', T0, 'import');

  // At +10 min nothing is due yet (default window 15 minutes).
  assert.equal((await flagSlaBreaches(h.ctx, db, { clientId: a.id, now: min(10) })).checked, 0);

  const result = await flagSlaBreaches(h.ctx, db, { clientId: a.id, now: min(35) });
  assert.deepEqual(result.breaches.map((x) => x.leadId).sort(), [ignored.id, late.id].sort());
  const rows = (await db.query('SELECT id, first_contacted_at, sla_breached_at FROM leads WHERE id = ANY($1)', [[ignored.id, answered.id, late.id, fresh.id, imported.id]])).rows;
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
  assert.equal(byId[answered.id].first_contacted_at.toISOString(), min(5).toISOString());
  assert.equal(byId[answered.id].sla_breached_at, null);
  assert.equal(byId[late.id].first_contacted_at.toISOString(), min(30).toISOString());
  assert.equal(byId[ignored.id].sla_breached_at.toISOString(), min(35).toISOString());
  assert.equal(byId[fresh.id].sla_breached_at, null);
  assert.equal(byId[imported.id].sla_breached_at, null);

  const events = await db.query(`SELECT data FROM domain_events WHERE type = 'lead.sla_breached'`);
  assert.equal(events.rowCount, 2);
  assert.ok(published.some((e) => e.event === 'lead.sla_breached' && (e.payload as { leadId: string }).leadId === ignored.id));
  const timeline = await h.app.inject({ method: 'GET', url: `/api/crm/leads/${ignored.id}/timeline?types=sla_breached`, headers: a.headers });
  assert.equal(timeline.json().items.length, 1);

  // A second sweep flags nothing twice; the fresh lead breaches once its own window closes.
  const again = await flagSlaBreaches(h.ctx, db, { clientId: a.id, now: min(45) });
  assert.deepEqual(again.breaches.map((x) => x.leadId), [fresh.id]);
  assert.equal((await db.query(`SELECT 1 FROM domain_events WHERE type = 'lead.sla_breached'`)).rowCount, 3);

  const listed = await h.app.inject({ method: 'GET', url: '/api/crm/sla/breaches', headers: a.headers });
  assert.equal(listed.json().items.length, 3);
});

test('the window is a per-client setting; clients do not see each other', async () => {
  const set = await h.app.inject({ method: 'PATCH', url: '/api/crm/settings', headers: b.headers, payload: { firstContactSlaMinutes: 60 } });
  assert.equal(set.statusCode, 200, set.body);
  assert.equal(set.json().firstContactSlaMinutes, 60);
  assert.equal((await h.app.inject({ method: 'GET', url: '/api/crm/settings', headers: a.headers })).json().firstContactSlaMinutes, 15);
  assert.equal((await h.app.inject({ method: 'PATCH', url: '/api/crm/settings', headers: b.headers, payload: { firstContactSlaMinutes: 20_000 } })).statusCode, 400);
  const poolB = await tenantDbById(h.ctx, b.id);
  const slow = await lead(b, 'Slow Clinic Lead', T0);
  assert.equal((await flagSlaBreaches(h.ctx, poolB, { clientId: b.id, now: min(30) })).breaches.length, 0);
  assert.deepEqual((await flagSlaBreaches(h.ctx, poolB, { clientId: b.id, now: min(61) })).breaches.map((x) => x.leadId), [slow.id]);
  assert.equal((await h.app.inject({ method: 'GET', url: '/api/crm/sla/breaches', headers: b.headers })).json().items.length, 1);
});
