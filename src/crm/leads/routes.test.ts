import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp, type TestClient } from '../../../test/harness.ts';
import type { RealtimeEvent } from '../../platform/events.ts';
import { tenantDbById } from '../../tenants/index.ts';
import { parseCsv } from '../shared/csv.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;
const published: RealtimeEvent[] = [];
before(async () => {
  h = await startTestApp();
  h.ctx.realtime = { publish: (event) => published.push(event) };
  a = await h.createClient('Leads A');
  b = await h.createClient('Leads B');
});
after(() => h.close());

async function call(client: TestClient, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  return h.app.inject({ method: method as 'GET', url, headers: { ...client.headers, ...headers }, payload: payload as string });
}

test('creates a lead with a new contact in the default pipeline and records lead_captured', async () => {
  const res = await call(a, 'POST', '/api/crm/leads', { contact: { name: 'Ravi Kumar', phone: '+91 99887 76655' }, source: 'form', owner: 'priya', tags: ['hot'] });
  assert.equal(res.statusCode, 201, res.body);
  const lead = res.json();
  assert.equal(lead.stage, 'new');
  assert.equal(lead.contact.phone, '919988776655');
  assert.equal(lead.owner, 'priya');
  const db = await tenantDbById(h.ctx, a.id);
  const { rows } = await db.query(`SELECT data FROM domain_events WHERE type = 'lead_captured' AND data->>'leadId' = $1`, [lead.id]);
  assert.equal(rows.length, 1);
  assert.ok(published.some((e) => e.event === 'lead.created' && e.clientId === a.id));
  const again = await call(a, 'POST', '/api/crm/leads', { contactId: lead.contactId });
  assert.equal(again.statusCode, 409);
  assert.equal((await call(a, 'POST', '/api/crm/leads', { contact: { name: 'x' }, stage: 'nowhere' })).statusCode, 422);
  assert.equal((await call(a, 'POST', '/api/crm/leads', {})).statusCode, 400);
  assert.equal((await call(a, 'POST', '/api/crm/leads', { contactId: '00000000-0000-4000-8000-000000000000' })).statusCode, 404);
});

test('moves a lead through stages with an activity, a domain event and a realtime update', async () => {
  const lead = (await call(a, 'POST', '/api/crm/leads', { contact: { name: 'Stage Mover', email: 'mover@example.com' } })).json();
  published.length = 0;
  const moved = await call(a, 'POST', `/api/crm/leads/${lead.id}/stage`, { stage: 'qualified', reason: 'budget confirmed' });
  assert.equal(moved.statusCode, 200, moved.body);
  assert.equal(moved.json().stage, 'qualified');
  assert.ok(published.some((e) => e.event === 'lead.updated' && (e.payload as { id: string }).id === lead.id));
  const db = await tenantDbById(h.ctx, a.id);
  const events = await db.query(`SELECT data FROM domain_events WHERE type = 'lead.stage_changed' AND data->>'leadId' = $1`, [lead.id]);
  assert.equal(events.rows[0].data.from, 'new');
  assert.equal(events.rows[0].data.to, 'qualified');
  const same = await call(a, 'POST', `/api/crm/leads/${lead.id}/stage`, { stage: 'qualified' });
  assert.equal(same.statusCode, 200);
  assert.equal((await db.query(`SELECT 1 FROM domain_events WHERE type = 'lead.stage_changed' AND data->>'leadId' = $1`, [lead.id])).rowCount, 1);
  assert.equal((await call(a, 'POST', `/api/crm/leads/${lead.id}/stage`, { stage: 'bogus' })).statusCode, 422);

  const note = await call(a, 'POST', `/api/crm/leads/${lead.id}/notes`, { body: 'Phoned, will visit Monday', kind: 'call', author: 'priya' });
  assert.equal(note.statusCode, 201, note.body);
  assert.ok((await call(a, 'GET', `/api/crm/leads/${lead.id}`)).json().firstContactedAt);

  const timeline = (await call(a, 'GET', `/api/crm/leads/${lead.id}/timeline?limit=2&types=note,stage_changed,lead_created`)).json();
  assert.deepEqual(timeline.items.map((i: { type: string }) => i.type), ['note', 'stage_changed']);
  const rest = (await call(a, 'GET', `/api/crm/leads/${lead.id}/timeline?limit=2&types=note,stage_changed,lead_created&cursor=${timeline.nextCursor}`)).json();
  assert.deepEqual(rest.items.map((i: { type: string }) => i.type), ['lead_created']);
  assert.equal(rest.nextCursor, null);
  const notesOnly = (await call(a, 'GET', `/api/crm/contacts/${lead.contactId}/timeline?types=note`)).json();
  assert.equal(notesOnly.items.length, 1);
  assert.equal(notesOnly.items[0].actor, 'priya');
});

test('timeline includes WhatsApp messages of the contact', async () => {
  const lead = (await call(a, 'POST', '/api/crm/leads', { contact: { name: 'Chatty', phone: '+14155550150' } })).json();
  const db = await tenantDbById(h.ctx, a.id);
  const conv = await db.query(`INSERT INTO conversations (contact_id) VALUES ($1) RETURNING id`, [lead.contactId]);
  await db.query(`INSERT INTO messages (conversation_id, contact_id, direction, type, text, status, created_at) VALUES ($1, $2, 'inbound', 'text', 'Hello, price?', 'received', now() + interval '1 minute')`, [conv.rows[0].id, lead.contactId]);
  const items = (await call(a, 'GET', `/api/crm/leads/${lead.id}/timeline`)).json().items;
  assert.equal(items[0].type, 'message');
  assert.match(items[0].summary, /Hello, price\?/);
});

test('lists leads with filters, sort and cursor', async () => {
  for (let i = 0; i < 5; i++) {
    await call(a, 'POST', '/api/crm/leads', { contact: { name: `Filter Lead ${i}`, phone: `+1212555${String(2000 + i)}` }, source: i < 2 ? 'ads' : 'walkin', owner: i % 2 ? 'sam' : 'lee', tags: i === 4 ? ['vip'] : [] });
  }
  const db = await tenantDbById(h.ctx, a.id);
  // lead_captured subscribers rescore new leads: let them finish before setting scores by hand.
  for (let i = 0; i < 200; i++) {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM domain_events WHERE dispatched_at IS NULL');
    if (rows[0].n === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await db.query(`UPDATE leads l SET score = 10 * right(c.name, 1)::int FROM contacts c WHERE c.id = l.contact_id AND c.name LIKE 'Filter Lead %'`);
  const q = '/api/crm/leads?q=filter';
  assert.equal((await call(a, 'GET', q)).json().items.length, 5);
  assert.equal((await call(a, 'GET', `${q}&source=ads`)).json().items.length, 2);
  assert.equal((await call(a, 'GET', `${q}&owner=sam`)).json().items.length, 2);
  assert.equal((await call(a, 'GET', `${q}&tag=vip`)).json().items.length, 1);
  assert.equal((await call(a, 'GET', `${q}&scoreMin=20&scoreMax=30`)).json().items.length, 2);
  assert.equal((await call(a, 'GET', `${q}&stage=won`)).json().items.length, 0);
  const p1 = (await call(a, 'GET', `${q}&sort=score_desc&limit=3`)).json();
  assert.deepEqual(p1.items.map((l: { score: number }) => l.score), [40, 30, 20]);
  const p2 = (await call(a, 'GET', `${q}&sort=score_desc&limit=3&cursor=${p1.nextCursor}`)).json();
  assert.deepEqual(p2.items.map((l: { score: number }) => l.score), [10, 0]);
  assert.equal(p2.nextCursor, null);
  assert.equal((await call(a, 'GET', `${q}&createdFrom=2000-01-01T00:00:00Z&createdTo=2000-01-02T00:00:00Z`)).json().items.length, 0);
  assert.equal((await call(a, 'GET', `${q}&limit=101`)).statusCode, 400);
  assert.equal((await call(a, 'GET', `${q}&sort=nonsense`)).statusCode, 400);
});

test('imports a CSV with a per-row report of rejections, then exports it', async () => {
  await call(a, 'POST', '/api/crm/fields', { entity: 'lead', key: 'budget', label: 'Budget', type: 'number' });
  const csv = [
    'name,phone,email,stage,tags,budget,contact.city',
    'Imported One,+1 650 555 0101,one@example.com,new,a;b,1000,Pune',
    'Bad Phone,12ab,,new,,,',
    'Bad Email,+16505550102,not-an-email,new,,,',
    '"Quoted, Name",+16505550103,,qualified,,2500,',
    'Dup In File,+1 650 555 0101,,new,,,',
    'Bad Stage,+16505550104,,limbo,,,',
    'Bad Budget,+16505550105,,new,,lots,',
    'Exists Already,+91 99887 76655,,new,,,',
    'Short row,+16505550106',
  ].join('\r\n');
  const res = await call(a, 'POST', '/api/crm/leads/import', csv, { 'content-type': 'text/csv' });
  assert.equal(res.statusCode, 200, res.body);
  const report = res.json();
  assert.equal(report.rows, 9);
  assert.equal(report.imported, 2);
  assert.equal(report.rejected, 7);
  const reasons = Object.fromEntries(report.rejections.map((r: { row: number; reasons: string[] }) => [r.row, r.reasons.join(' | ')]));
  assert.match(reasons[2], /phone/);
  assert.match(reasons[3], /email/);
  assert.match(reasons[5], /appears earlier in the file/);
  assert.match(reasons[6], /stage "limbo" does not exist/);
  assert.match(reasons[7], /budget must be a number/);
  assert.match(reasons[8], /already exists/);
  assert.match(reasons[9], /columns/);
  assert.equal(report.rejections.find((r: { row: number }) => r.row === 2).line, 3);

  const listed = (await call(a, 'GET', '/api/crm/leads?q=quoted')).json().items;
  assert.equal(listed.length, 1);
  assert.equal(listed[0].stage, 'qualified');
  assert.equal(listed[0].customFields.budget, 2500);
  assert.equal(listed[0].source, 'import');
  const one = (await call(a, 'GET', '/api/crm/leads?q=imported')).json().items[0];
  assert.deepEqual(one.tags, ['a', 'b']);

  const exported = await call(a, 'GET', '/api/crm/leads/export?source=import');
  assert.equal(exported.statusCode, 200);
  assert.match(exported.headers['content-type'] as string, /text\/csv/);
  const rows = parseCsv(exported.body);
  assert.deepEqual(rows[0].slice(0, 4), ['id', 'name', 'phone', 'email']);
  assert.ok(rows[0].includes('budget'));
  const names = rows.slice(1).filter((r) => r.length > 1).map((r) => r[1]).sort();
  assert.deepEqual(names, ['Imported One', 'Quoted, Name']);

  assert.equal((await call(a, 'POST', '/api/crm/leads/import', '', { 'content-type': 'text/csv' })).statusCode, 400);
  assert.equal((await call(a, 'POST', '/api/crm/leads/import', 'foo,bar\n1,2\n', { 'content-type': 'text/csv' })).statusCode, 400);
  const unterminated = await call(a, 'POST', '/api/crm/leads/import', 'name,phone\n"open,1\n', { 'content-type': 'text/csv' });
  assert.equal(unterminated.statusCode, 400);
  assert.match(unterminated.json().error.message, /unterminated/);
  const dry = (await call(a, 'POST', '/api/crm/leads/import?dryRun=true', 'name,phone\nDry Run,+16505550199\n', { 'content-type': 'text/csv' })).json();
  assert.equal(dry.imported, 1);
  assert.equal((await call(a, 'GET', '/api/crm/leads?q=dry')).json().items.length, 0);
});

test('updates and deletes a lead; client A cannot touch client B leads', async () => {
  const theirs = (await call(b, 'POST', '/api/crm/leads', { contact: { name: 'B Lead' } })).json();
  const mine = (await call(a, 'POST', '/api/crm/leads', { contact: { name: 'A Lead' } })).json();
  const patched = await call(a, 'PATCH', `/api/crm/leads/${mine.id}`, { owner: 'kim', tags: ['x'] });
  assert.equal(patched.statusCode, 200);
  assert.equal(patched.json().owner, 'kim');
  assert.equal((await call(a, 'PATCH', `/api/crm/leads/${mine.id}`, {})).statusCode, 400);
  for (const [method, url, body] of [
    ['GET', `/api/crm/leads/${theirs.id}`],
    ['PATCH', `/api/crm/leads/${theirs.id}`, { owner: 'x' }],
    ['POST', `/api/crm/leads/${theirs.id}/stage`, { stage: 'won' }],
    ['POST', `/api/crm/leads/${theirs.id}/notes`, { body: 'x' }],
    ['GET', `/api/crm/leads/${theirs.id}/timeline`],
    ['GET', `/api/crm/contacts/${theirs.contactId}/timeline`],
    ['DELETE', `/api/crm/leads/${theirs.id}`],
  ] as const) {
    assert.equal((await call(a, method, url, body)).statusCode, 404, `${method} ${url}`);
  }
  assert.equal((await call(b, 'GET', `/api/crm/leads/${theirs.id}`)).json().stage, 'new');
  assert.equal((await call(a, 'DELETE', `/api/crm/leads/${mine.id}`)).statusCode, 204);
  assert.equal((await call(a, 'GET', `/api/crm/leads/${mine.id}`)).statusCode, 404);
  assert.equal((await call(a, 'GET', `/api/crm/contacts/${mine.contactId}`)).statusCode, 200);
});

test('pipelines: default exists, custom ones with ordered stages, guarded deletes', async () => {
  const list = (await call(a, 'GET', '/api/crm/pipelines')).json().items;
  assert.equal(list.length, 1);
  assert.deepEqual(list[0].stages.map((s: { key: string }) => s.key), ['new', 'contacted', 'qualified', 'won', 'lost']);
  const created = await call(a, 'POST', '/api/crm/pipelines', { name: 'Courses', stages: [{ key: 'enquiry', name: 'Enquiry' }, { key: 'enrolled', name: 'Enrolled', isWon: true }] });
  assert.equal(created.statusCode, 201, created.body);
  const pipeline = created.json();
  assert.equal((await call(a, 'POST', '/api/crm/pipelines', { name: 'Bad', stages: [{ key: 'a', name: 'A' }, { key: 'a', name: 'B' }] })).statusCode, 400);
  const lead = (await call(a, 'POST', '/api/crm/leads', { contact: { name: 'Course Lead' }, pipelineId: pipeline.id })).json();
  assert.equal(lead.stage, 'enquiry');
  const blocked = await call(a, 'PATCH', `/api/crm/pipelines/${pipeline.id}`, { stages: [{ key: 'enrolled', name: 'Enrolled' }] });
  assert.equal(blocked.statusCode, 409);
  assert.equal((await call(a, 'DELETE', `/api/crm/pipelines/${pipeline.id}`)).statusCode, 409);
  assert.equal((await call(a, 'DELETE', `/api/crm/pipelines/${list[0].id}`)).statusCode, 409);
  assert.equal((await call(b, 'GET', `/api/crm/pipelines/${pipeline.id}`)).statusCode, 404);
  assert.equal((await call(b, 'DELETE', `/api/crm/pipelines/${pipeline.id}`)).statusCode, 404);
  await call(a, 'DELETE', `/api/crm/leads/${lead.id}`);
  assert.equal((await call(a, 'DELETE', `/api/crm/pipelines/${pipeline.id}`)).statusCode, 204);
});

test('every CRM resource is in the OpenAPI document', async () => {
  const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
  for (const p of ['/api/crm/contacts', '/api/crm/contacts/duplicates', '/api/crm/contacts/{id}/merge', '/api/crm/leads', '/api/crm/leads/import',
    '/api/crm/leads/export', '/api/crm/leads/{id}/stage', '/api/crm/leads/{id}/timeline', '/api/crm/leads/{id}/score', '/api/crm/pipelines',
    '/api/crm/fields', '/api/crm/scoring/rules', '/api/crm/scoring/{leadId}/recalculate', '/api/crm/appointments', '/api/crm/settings']) {
    assert.ok(doc.paths[p], `${p} missing from /openapi.json`);
  }
});
