import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestApp, type TestApp, type TestClient } from '../../../test/harness.ts';
import { tenantDbById } from '../../tenants/index.ts';
import { recalculateClientScores } from './recalculate-client.ts';
import { recalculateScores } from './recalculate-scores.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;
let db: pg.Pool;
const NOW = new Date('2026-01-31T00:00:00Z');
const DAY = 86_400_000;

before(async () => {
  h = await startTestApp();
  a = await h.createClient('Scoring A');
  b = await h.createClient('Scoring B');
  db = await tenantDbById(h.ctx, a.id);
});
after(() => h.close());

async function call(client: TestClient, method: string, url: string, payload?: unknown) {
  return h.app.inject({ method: method as 'GET', url, headers: client.headers, payload: payload as object });
}

/** Leads are inserted directly: an API-created lead records lead_captured, whose subscriber rescores at wall-clock time and would race these fixed-time checks. */
async function newLead(contact: { name: string; email?: string }, extra: { customFields?: Record<string, unknown> } = {}) {
  const c = await db.query(`INSERT INTO contacts (name, email) VALUES ($1, $2) RETURNING id`, [contact.name, contact.email ?? null]);
  const l = await db.query(`INSERT INTO leads (contact_id, custom_fields) VALUES ($1, $2) RETURNING id`, [c.rows[0].id, extra.customFields ?? {}]);
  return { id: l.rows[0].id as string, contactId: c.rows[0].id as string };
}

async function messages(contactId: string, list: Array<{ direction: 'inbound' | 'outbound'; at: Date; type?: string; status?: string }>) {
  const conv = await db.query(`INSERT INTO conversations (contact_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id`, [contactId]);
  const conversationId = conv.rows[0]?.id ?? (await db.query('SELECT id FROM conversations WHERE contact_id = $1', [contactId])).rows[0].id;
  for (const m of list) {
    await db.query(`INSERT INTO messages (conversation_id, contact_id, direction, type, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
      [conversationId, contactId, m.direction, m.type ?? 'text', m.status ?? (m.direction === 'inbound' ? 'received' : 'delivered'), m.at]);
  }
}

async function score(leadId: string, now = NOW) {
  await recalculateScores(db, { leadIds: [leadId] }, { now, reason: 'test' });
  const { rows } = await db.query('SELECT score, score_breakdown FROM leads WHERE id = $1', [leadId]);
  return rows[0] as { score: number; score_breakdown: { rules: Array<{ rule: string; points: number; count: number }>; groups: Array<{ group: string; points: number; counted: number }> } };
}

test('default rules ship with the tenant database', async () => {
  const res = await call(a, 'GET', '/api/crm/scoring/rules');
  assert.equal(res.statusCode, 200);
  const config = res.json();
  assert.ok(config.rules.length >= 10);
  assert.deepEqual(config.settings.thresholds.map((t: { key: string }) => t.key), ['warm', 'hot']);
  assert.equal(config.groups.find((g: { key: string }) => g.key === 'engagement').cap, 40);
});

test('points with per-rule caps, time decay with the half-life, and fit rules', async () => {
  await call(a, 'PATCH', '/api/crm/scoring/settings', { halfLifeDays: 10 });
  const lead = await newLead({ name: 'Decay Lead', email: 'decay@example.com' });
  assert.equal((await score(lead.id)).score, 5); // has_email fit rule, no decay

  await messages(lead.contactId, [0, 1, 2].map(() => ({ direction: 'inbound' as const, at: NOW })));
  let s = await score(lead.id);
  assert.equal(s.score, 5 + 9); // 3 inbound × 3 points
  // Four more, one half-life old: 4 × 3 × 0.5 = 6 → rule total 15, exactly its cap.
  await messages(lead.contactId, [0, 1, 2, 3].map(() => ({ direction: 'inbound' as const, at: new Date(NOW.getTime() - 10 * DAY) })));
  s = await score(lead.id);
  assert.equal(s.score, 5 + 15);
  const inbound = s.score_breakdown.rules.find((r) => r.rule === 'inbound_message')!;
  assert.equal(inbound.count, 7);
  assert.equal(Number(inbound.points), 15);
  // Another two fresh ones would make 21: the rule cap keeps 15.
  await messages(lead.contactId, [0, 1].map(() => ({ direction: 'inbound' as const, at: NOW })));
  assert.equal((await score(lead.id)).score, 20);
  // Twenty days later everything inbound has decayed: 2 half-lives for the fresh ones, 3 for the old.
  // (5 × 3) × 0.25 + (4 × 3) × 0.125 = 3.75 + 1.5 = 5.25 → 5, plus the fit 5.
  assert.equal((await score(lead.id, new Date(NOW.getTime() + 20 * DAY))).score, 10);

  // A purchase 20 days ago (two half-lives): 25 × 0.25 = 6.25 → 6.
  const buyer = await newLead({ name: 'Buyer' });
  await db.query(`INSERT INTO lead_signals (lead_id, signal, occurred_at) VALUES ($1, 'purchase', $2)`, [buyer.id, new Date(NOW.getTime() - 20 * DAY)]);
  assert.equal((await score(buyer.id)).score, 6);
  // Signals after "now" do not count yet.
  await db.query(`INSERT INTO lead_signals (lead_id, signal, occurred_at) VALUES ($1, 'purchase', $2)`, [buyer.id, new Date(NOW.getTime() + DAY)]);
  assert.equal((await score(buyer.id)).score, 6);
});

test('group caps bound a whole rule group', async () => {
  await call(a, 'PATCH', '/api/crm/scoring/settings', { halfLifeDays: 30 });
  const lead = await newLead({ name: 'Busy Chatter' });
  // Fast replies: outbound then inbound a minute later, five times → inbound 5×3=15, fast 5×5=25→15 (cap), buttons 3×4=12.
  const list: Array<{ direction: 'inbound' | 'outbound'; at: Date; type?: string }> = [];
  for (let i = 0; i < 5; i++) {
    list.push({ direction: 'outbound', at: new Date(NOW.getTime() - (i + 1) * 3_600_000) });
    list.push({ direction: 'inbound', at: new Date(NOW.getTime() - (i + 1) * 3_600_000 + 60_000), type: i < 3 ? 'button' : 'text' });
  }
  await messages(lead.contactId, list);
  const s = await score(lead.id);
  const engagement = s.score_breakdown.groups.find((g) => g.group === 'engagement')!;
  assert.ok(Number(engagement.points) > 40, `raw engagement ${engagement.points}`);
  assert.equal(Number(engagement.counted), 40);
  assert.equal(s.score, 40);
});

test('threshold crossings record lead_score_crossed; history keeps the breakdown', async () => {
  const lead = await newLead({ name: 'Hot Lead' });
  await db.query(`INSERT INTO lead_signals (lead_id, signal, occurred_at) VALUES ($1, 'purchase', $2), ($1, 'enrolment', $2)`, [lead.id, NOW]);
  await db.query(`INSERT INTO appointments (contact_id, starts_at, ends_at, status, updated_at) VALUES ($1, $2, $2, 'attended', $2)`, [lead.contactId, NOW]);
  const s = await score(lead.id);
  assert.equal(s.score, 40 + 20); // conversion capped at 40, appointment attended 20
  const { rows } = await db.query(`SELECT data FROM domain_events WHERE type = 'lead_score_crossed' AND data->>'leadId' = $1 ORDER BY id`, [lead.id]);
  assert.deepEqual(rows.map((r) => r.data.threshold), ['warm', 'hot']);
  assert.ok(rows.every((r) => r.data.direction === 'up'));
  // Unchanged score: no new history, no new event.
  await score(lead.id);
  assert.equal((await db.query(`SELECT 1 FROM domain_events WHERE type = 'lead_score_crossed' AND data->>'leadId' = $1`, [lead.id])).rowCount, 2);

  const why = await call(a, 'GET', `/api/crm/leads/${lead.id}/score`);
  assert.equal(why.statusCode, 200);
  const body = why.json();
  assert.equal(body.score, 60);
  assert.deepEqual(body.rules.map((r: { rule: string }) => r.rule).sort(), ['appointment_attended', 'enrolment', 'purchase']);
  assert.equal(body.history.length, 1);
  assert.equal(body.history[0].previous, 0);
  assert.deepEqual(body.thresholds.map((t: { reached: boolean }) => t.reached), [true, true]);
  const timeline = (await call(a, 'GET', `/api/crm/leads/${lead.id}/timeline?types=score_changed`)).json();
  assert.equal(timeline.items.length, 1);
});

test('rules API: custom fit rule, validation, recalculate endpoint, signals, cross-client', async () => {
  await call(a, 'POST', '/api/crm/fields', { entity: 'lead', key: 'budget', label: 'Budget', type: 'number' });
  const rule = await call(a, 'POST', '/api/crm/scoring/rules', { key: 'big_budget', name: 'Budget over 10k', group: 'fit', signal: 'fit', points: 10, field: 'custom.budget', operator: 'gte', value: 10000 });
  assert.equal(rule.statusCode, 201, rule.body);
  assert.equal(rule.json().decays, false);
  assert.equal((await call(a, 'POST', '/api/crm/scoring/rules', { key: 'bad', name: 'x', group: 'fit', signal: 'fit', points: 1, field: 'custom.budget', operator: 'gt', value: 'lots' })).statusCode, 400);
  assert.equal((await call(a, 'POST', '/api/crm/scoring/rules', { key: 'nogroup', name: 'x', group: 'nope', signal: 'purchase', points: 1 })).statusCode, 400);
  assert.equal((await call(a, 'POST', '/api/crm/scoring/rules', { key: 'big_budget', name: 'x', group: 'fit', signal: 'purchase', points: 1 })).statusCode, 409);

  const lead = await newLead({ name: 'Budget Lead' }, { customFields: { budget: 25000 } });
  const res = await call(a, 'POST', `/api/crm/scoring/${lead.id}/recalculate`);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().score, 10);
  assert.equal(res.json().changed, true);
  const disabled = await call(a, 'PATCH', `/api/crm/scoring/rules/${rule.json().id}`, { isActive: false });
  assert.equal(disabled.statusCode, 200);
  assert.equal((await call(a, 'POST', `/api/crm/scoring/${lead.id}/recalculate`)).json().score, 0);

  const signal = await call(a, 'POST', `/api/crm/leads/${lead.id}/signals`, { signal: 'enrolment', sourceKey: 'order-1' });
  assert.equal(signal.statusCode, 201, signal.body);
  assert.equal(signal.json().score, 25);
  const again = await call(a, 'POST', `/api/crm/leads/${lead.id}/signals`, { signal: 'enrolment', sourceKey: 'order-1' });
  assert.equal(again.json().recorded, false);
  assert.equal(again.json().score, 25);

  assert.equal((await call(b, 'POST', `/api/crm/scoring/${lead.id}/recalculate`)).statusCode, 404);
  assert.equal((await call(b, 'GET', `/api/crm/leads/${lead.id}/score`)).statusCode, 404);
  assert.equal((await call(b, 'POST', `/api/crm/leads/${lead.id}/signals`, { signal: 'purchase' })).statusCode, 404);
  assert.equal((await call(b, 'PATCH', `/api/crm/scoring/rules/${rule.json().id}`, { points: 99 })).statusCode, 404);
  assert.equal((await call(b, 'DELETE', `/api/crm/scoring/rules/${rule.json().id}`)).statusCode, 404);
  assert.equal((await call(a, 'POST', '/api/crm/scoring/not-a-uuid/recalculate')).statusCode, 400);
  assert.equal((await call(a, 'DELETE', `/api/crm/scoring/rules/${rule.json().id}`)).statusCode, 204);
});

test('bulk recalculation is batched and resumes after a crash', async () => {
  const pool = await tenantDbById(h.ctx, b.id);
  for (let i = 0; i < 25; i++) await call(b, 'POST', '/api/crm/leads', { contact: { name: `Bulk ${i}`, email: `bulk${i}@example.com` } });
  let batches = 0;
  await assert.rejects(recalculateClientScores(h.ctx, pool, {
    clientId: b.id, runKey: 'test-run', now: NOW, reason: 'test', batchSize: 10,
    onProgress: () => { if (++batches === 1) throw new Error('simulated crash'); },
  }), /simulated crash/);
  const resumed = await recalculateClientScores(h.ctx, pool, { clientId: b.id, runKey: 'test-run', now: NOW, reason: 'test', batchSize: 10 });
  assert.equal(resumed.resumed, true);
  assert.equal(resumed.processed, 25);
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM leads WHERE score = 5');
  assert.equal(rows[0].n, 25);
  const finished = await recalculateClientScores(h.ctx, pool, { clientId: b.id, runKey: 'test-run', now: NOW, reason: 'test', batchSize: 10 });
  assert.equal(finished.alreadyFinished, true);

  const started = await call(b, 'POST', '/api/crm/scoring/recalculate');
  assert.equal(started.statusCode, 202);
  const { runKey } = started.json();
  let status = '';
  for (let i = 0; i < 100 && status !== 'finished'; i++) {
    status = (await call(b, 'GET', `/api/crm/scoring/runs/${encodeURIComponent(runKey)}`)).json().status;
    if (status !== 'finished') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 'finished');
});

test('scores follow WhatsApp activity through the activity sweep', async () => {
  const { rescoreRecentActivity } = await import('./rescore-recent-activity.ts');
  const t0 = new Date();
  await rescoreRecentActivity(h.ctx, db, a.id, { now: t0 }); // sets the watermark
  const lead = await newLead({ name: 'Active Chatter' });
  await messages(lead.contactId, [{ direction: 'inbound', at: new Date(t0.getTime() + 1000) }, { direction: 'inbound', at: new Date(t0.getTime() + 2000) }]);
  const later = new Date(t0.getTime() + 60_000);
  const first = await rescoreRecentActivity(h.ctx, db, a.id, { now: later });
  assert.equal(first.rescored, 1);
  assert.equal((await db.query('SELECT score FROM leads WHERE id = $1', [lead.id])).rows[0].score, 6);
  const second = await rescoreRecentActivity(h.ctx, db, a.id, { now: new Date(later.getTime() + 60_000) });
  assert.equal(second.rescored, 0);
});

test('the "why" breakdown: every rule and group with counts, decayed points, caps and order', async () => {
  await call(a, 'PATCH', '/api/crm/scoring/settings', { halfLifeDays: 10 });
  // A second rule on the purchase signal, in a group without a cap.
  await db.query(`INSERT INTO scoring_groups (key, name, cap) VALUES ('extra', 'Extra', NULL)`);
  await db.query(`INSERT INTO scoring_rules (key, name, group_key, signal, points, position) VALUES ('custom_buy', 'Bought (extra)', 'extra', 'purchase', 7, 99)`);
  try {
    const lead = await newLead({ name: 'Why Lead', email: 'why@example.com' });
    const tenDaysAgo = new Date(NOW.getTime() - 10 * DAY);
    // from_ad does not decay (but, like every signal, counts only once it happened).
    await db.query(`UPDATE leads SET source = 'whatsapp_ad', created_at = $2 WHERE id = $1`, [lead.id, tenDaysAgo]);
    await messages(lead.contactId, [
      { direction: 'inbound', at: new Date(tenDaysAgo.getTime() - 3_600_000) },
      { direction: 'outbound', at: tenDaysAgo, status: 'read' },
      { direction: 'inbound', at: NOW },
      { direction: 'inbound', at: new Date(NOW.getTime() + DAY) }, // after "now": not counted
    ]);
    await db.query(`INSERT INTO lead_signals (lead_id, signal, occurred_at) VALUES ($1, 'purchase', $2)`, [lead.id, tenDaysAgo]);
    const s = await score(lead.id);
    // 12.5 + 10 + 5 + 4.5 + 3.5 + 0.5 = 36
    assert.equal(s.score, 36);
    assert.deepEqual(s.score_breakdown, {
      rules: [
        { rule: 'purchase', group: 'conversion', count: 1, points: 12.5 },
        { rule: 'from_ad', group: 'source', count: 1, points: 10 },
        { rule: 'has_email', group: 'fit', count: 1, points: 5 },
        { rule: 'inbound_message', group: 'engagement', count: 2, points: 4.5 },
        { rule: 'custom_buy', group: 'extra', count: 1, points: 3.5 },
        { rule: 'read_receipt', group: 'engagement', count: 1, points: 0.5 },
      ],
      groups: [
        { group: 'conversion', points: 12.5, cap: 40, counted: 12.5 },
        { group: 'engagement', points: 5, cap: 40, counted: 5 },
        { group: 'extra', points: 3.5, cap: null, counted: 3.5 },
        { group: 'fit', points: 5, cap: 20, counted: 5 },
        { group: 'source', points: 10, cap: 15, counted: 10 },
      ],
    });
    const why = (await call(a, 'GET', `/api/crm/leads/${lead.id}/score`)).json();
    assert.equal(why.score, 36);
    assert.deepEqual(why.rules, s.score_breakdown.rules);
    assert.deepEqual(why.groups, s.score_breakdown.groups);
    // A lead without any signal or fit scores 0 with an empty breakdown.
    const empty = await newLead({ name: 'Nobody' });
    assert.deepEqual(await score(empty.id), { score: 0, score_breakdown: { rules: [], groups: [] } });
  } finally {
    await db.query(`DELETE FROM scoring_rules WHERE key = 'custom_buy'`);
    await db.query(`DELETE FROM scoring_groups WHERE key = 'extra'`);
  }
});
