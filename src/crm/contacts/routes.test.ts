import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp, type TestClient } from '../../../test/harness.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;
before(async () => {
  h = await startTestApp();
  a = await h.createClient('Contacts A');
  b = await h.createClient('Contacts B');
});
after(() => h.close());

async function call(client: TestClient, method: string, url: string, payload?: unknown) {
  return h.app.inject({ method: method as 'GET', url, headers: client.headers, payload: payload as object });
}

test('creates a contact with a normalised phone and email, shows, updates and deletes it', async () => {
  const created = await call(a, 'POST', '/api/crm/contacts', { name: 'Asha Rao', phone: '098123 45678', email: ' Asha@Example.com ', tags: ['vip', 'vip', ' new '] });
  assert.equal(created.statusCode, 201, created.body);
  const contact = created.json();
  assert.equal(contact.phone, '919812345678');
  assert.equal(contact.email, 'asha@example.com');
  assert.deepEqual(contact.tags, ['vip', 'new']);

  const shown = await call(a, 'GET', `/api/crm/contacts/${contact.id}`);
  assert.equal(shown.statusCode, 200);
  assert.equal(shown.json().name, 'Asha Rao');

  const updated = await call(a, 'PATCH', `/api/crm/contacts/${contact.id}`, { name: 'Asha R.', timezone: 'Asia/Kolkata' });
  assert.equal(updated.statusCode, 200, updated.body);
  assert.equal(updated.json().timezone, 'Asia/Kolkata');

  const removed = await call(a, 'DELETE', `/api/crm/contacts/${contact.id}`);
  assert.equal(removed.statusCode, 204);
  assert.equal((await call(a, 'GET', `/api/crm/contacts/${contact.id}`)).statusCode, 404);
});

test('rejects bad input with clear 4xx', async () => {
  const badPhone = await call(a, 'POST', '/api/crm/contacts', { name: 'X', phone: 'call me' });
  assert.equal(badPhone.statusCode, 400);
  assert.match(badPhone.json().error.message, /phone/);
  const badEmail = await call(a, 'POST', '/api/crm/contacts', { email: 'nope@' });
  assert.equal(badEmail.statusCode, 400);
  assert.match(badEmail.json().error.message, /email/);
  const badZone = await call(a, 'POST', '/api/crm/contacts', { name: 'Z', timezone: 'Mars/Base' });
  assert.equal(badZone.statusCode, 400);
  const empty = await call(a, 'POST', '/api/crm/contacts', {});
  assert.equal(empty.statusCode, 400);
  const badId = await call(a, 'GET', '/api/crm/contacts/not-a-uuid');
  assert.equal(badId.statusCode, 400);
  const badCursor = await call(a, 'GET', '/api/crm/contacts?cursor=zzz');
  assert.equal(badCursor.statusCode, 400);
});

test('custom fields follow the client field definitions', async () => {
  const def = await call(a, 'POST', '/api/crm/fields', { entity: 'contact', key: 'plan', label: 'Plan', type: 'select', options: ['basic', 'pro'] });
  assert.equal(def.statusCode, 201, def.body);
  const dup = await call(a, 'POST', '/api/crm/fields', { entity: 'contact', key: 'plan', label: 'Plan', type: 'text' });
  assert.equal(dup.statusCode, 409);
  const noOptions = await call(a, 'POST', '/api/crm/fields', { entity: 'contact', key: 'tier', label: 'Tier', type: 'select' });
  assert.equal(noOptions.statusCode, 400);
  await call(a, 'POST', '/api/crm/fields', { entity: 'contact', key: 'age', label: 'Age', type: 'number' });

  const bad = await call(a, 'POST', '/api/crm/contacts', { name: 'Field Test', customFields: { plan: 'gold', age: 'old' } });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error.message, /plan must be one of basic, pro/);
  assert.match(bad.json().error.message, /age must be a number/);
  const ok = await call(a, 'POST', '/api/crm/contacts', { name: 'Field Test', customFields: { plan: 'pro', age: '41', note: 'free-form' } });
  assert.equal(ok.statusCode, 201, ok.body);
  assert.deepEqual(ok.json().customFields, { plan: 'pro', age: 41, note: 'free-form' });
  const patched = await call(a, 'PATCH', `/api/crm/contacts/${ok.json().id}`, { customFields: { note: null, age: 42 } });
  assert.deepEqual(patched.json().customFields, { plan: 'pro', age: 42 });

  // Client B does not see A's definitions: the same values are free-form there.
  const other = await call(b, 'POST', '/api/crm/contacts', { name: 'Field Test', customFields: { plan: 'gold' } });
  assert.equal(other.statusCode, 201);
  assert.equal((await call(b, 'GET', '/api/crm/fields')).json().items.length, 0);
});

test('detects duplicates by phone and email and merges them, moving leads and activities', async () => {
  const first = (await call(a, 'POST', '/api/crm/contacts', { name: 'Dup One', phone: '+44 20 7946 0001' })).json();
  const clash = await call(a, 'POST', '/api/crm/contacts', { name: 'Dup Two', phone: '00442079460001' });
  assert.equal(clash.statusCode, 409);
  assert.equal(clash.json().error.details.existingId, first.id);
  const second = (await call(a, 'POST', '/api/crm/contacts', { name: 'Dup Two', phone: '00442079460001', email: 'dup@example.com', allowDuplicate: true, tags: ['b'] })).json();
  const lead = await call(a, 'POST', '/api/crm/leads', { contactId: second.id, source: 'form' });
  assert.equal(lead.statusCode, 201, lead.body);
  await call(a, 'POST', `/api/crm/leads/${lead.json().id}/notes`, { body: 'Called, interested' });

  const dups = await call(a, 'GET', '/api/crm/contacts/duplicates');
  assert.equal(dups.statusCode, 200);
  const group = dups.json().groups.find((g: { value: string }) => g.value === '442079460001');
  assert.ok(group);
  assert.deepEqual(group.contacts.map((c: { id: string }) => c.id).sort(), [first.id, second.id].sort());

  const merged = await call(a, 'POST', `/api/crm/contacts/${first.id}/merge`, { otherId: second.id });
  assert.equal(merged.statusCode, 200, merged.body);
  assert.equal(merged.json().name, 'Dup One');
  assert.equal(merged.json().email, 'dup@example.com');
  assert.deepEqual(merged.json().tags, ['b']);
  assert.equal((await call(a, 'GET', `/api/crm/contacts/${second.id}`)).statusCode, 404);
  const movedLead = (await call(a, 'GET', `/api/crm/leads/${lead.json().id}`)).json();
  assert.equal(movedLead.contactId, first.id);
  const timeline = (await call(a, 'GET', `/api/crm/contacts/${first.id}/timeline`));
  if (timeline.statusCode === 200) assert.ok(timeline.json().items.some((i: { type: string }) => i.type === 'note'));

  assert.equal((await call(a, 'POST', `/api/crm/contacts/${first.id}/merge`, { otherId: first.id })).statusCode, 400);
  assert.equal((await call(a, 'POST', `/api/crm/contacts/${first.id}/merge`, { otherId: second.id })).statusCode, 404);
});

test('lists with prefix search, tag filter, sort and cursor pages', async () => {
  for (let i = 0; i < 7; i++) {
    await call(a, 'POST', '/api/crm/contacts', { name: `Pager Person ${i}`, phone: `+1415555${String(1000 + i)}`, tags: i % 2 ? ['odd'] : [] });
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/api/crm/contacts?q=pager&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
    const page = (await call(a, 'GET', url)).json();
    seen.push(...page.items.map((c: { name: string }) => c.name));
    cursor = page.nextCursor;
  } while (cursor);
  assert.equal(seen.length, 7);
  assert.equal(new Set(seen).size, 7);
  assert.equal(seen[0], 'Pager Person 6');
  const byWord = (await call(a, 'GET', '/api/crm/contacts?q=pers')).json();
  assert.equal(byWord.items.length, 7);
  const byPhone = (await call(a, 'GET', `/api/crm/contacts?q=${encodeURIComponent('+1 415 555 1003')}`)).json();
  assert.deepEqual(byPhone.items.map((c: { name: string }) => c.name), ['Pager Person 3']);
  const odd = (await call(a, 'GET', '/api/crm/contacts?q=pager&tag=odd&sort=name_asc')).json();
  assert.deepEqual(odd.items.map((c: { name: string }) => c.name), ['Pager Person 1', 'Pager Person 3', 'Pager Person 5']);
  assert.equal((await call(b, 'GET', '/api/crm/contacts?q=pager')).json().items.length, 0);
});

test("client A's key cannot reach client B's contacts", async () => {
  const theirs = (await call(b, 'POST', '/api/crm/contacts', { name: 'B only', phone: '+14155550199' })).json();
  const mine = (await call(a, 'POST', '/api/crm/contacts', { name: 'A only', phone: '+14155550198' })).json();
  assert.equal((await call(a, 'GET', `/api/crm/contacts/${theirs.id}`)).statusCode, 404);
  assert.equal((await call(a, 'PATCH', `/api/crm/contacts/${theirs.id}`, { name: 'hijack' })).statusCode, 404);
  assert.equal((await call(a, 'DELETE', `/api/crm/contacts/${theirs.id}`)).statusCode, 404);
  assert.equal((await call(a, 'POST', `/api/crm/contacts/${mine.id}/merge`, { otherId: theirs.id })).statusCode, 404);
  assert.equal((await call(b, 'GET', `/api/crm/contacts/${theirs.id}`)).json().name, 'B only');
  const noKey = await h.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: { 'x-client-code': a.code, 'x-api-key': b.apiKey } });
  assert.equal(noKey.statusCode, 401);
});
