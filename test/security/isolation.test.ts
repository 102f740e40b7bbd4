/**
 * Cross-tenant isolation, generated from the route table so new routes are
 * covered without anyone remembering to add a test (issue 11 part 2,
 * ../shared/reference/security.md §7 "Testing isolation").
 *
 * Client B is seeded through the public API with one of every kind of
 * resource; B's ids are harvested from every list route (and every detail
 * route B can read). Then, with client A's credentials:
 * - every tenant route with path parameters, called with every B id, answers
 *   non-2xx and never shows B's data;
 * - every list route shows none of B's ids or strings;
 * - every body field that carries an id (from the OpenAPI schema), set to B's
 *   ids, is refused; and a snapshot of everything B can read is unchanged;
 * - A's key with B's code is refused on every tenant route;
 * - A's Socket.io connection never receives B's events and cannot join B's
 *   conversation; a webhook for B's number signed with A's own app secret
 *   never lands in B's database.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { startTestApp, type TestApp, type TestClient } from '../harness.ts';
import { signBody } from '../../src/whatsapp/index.ts';

type Json = any;
interface Route { method: string; url: string }
interface OpenApi { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Json }> }; parameters?: Array<{ in: string; name: string }> }>> }

const PUBLIC = /^\/(api\/saas\/health|openapi\.json|docs|metrics|api\/saas\/whatsapp\/webhook|api\/auth\/google\/(connect|callback)|api\/saas\/email\/(unsubscribe|open|click)|api\/saas\/media\/files|console|socket\.io|sandbox\/graph)(\/|$)/;
const isAdmin = (url: string) => url.startsWith('/api/clients') || url.startsWith('/api/admin');
/**
 * Parameterised routes that answer 2xx for ids they do not know, with a reason. Each answer is computed
 * from the caller's own database and must equal the "unknown" answer given here (checked).
 */
const UNKNOWN_ID_ANSWERS: Array<[string, (id: string) => unknown, string]> = [
  ['GET /api/crm/scoring/runs/:key', (key) => ({ runKey: key, status: 'queued', processed: 0, changed: 0 }),
    'a run key is reported "queued" until the caller\'s own recalculation job records it (read from the caller\'s database only)'],
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Strings only B's data contains. */
const B = {
  customerPhone: '15559990001',
  customerName: 'Bravo Quillfeather',
  inboundText: 'bravo-inbound-text-7f3a',
  outboundText: 'bravo-outbound-text-9c1d',
  contactName: 'Bravo Contact Xylander',
  contactPhone: '15559990002',
  contactEmail: 'xylander@bravo-isolation.example',
  noteBody: 'bravo-note-body-41e2',
  pipelineName: 'Bravo Pipeline Ostrich',
  fieldLabel: 'Bravo Field Label',
  appointmentTitle: 'Bravo Appointment Heron',
  workflowName: 'Bravo Workflow Lynx',
  automationName: 'Bravo Automation Puffin',
  campaignName: 'Bravo Campaign Walrus',
  campaignSubject: 'bravo-subject-55aa',
  meetingTitle: 'Bravo Meeting Narwhal',
  corsOrigin: 'https://bravo-isolation.example',
  ruleName: 'Bravo Rule Marmot',
};
const B_STRINGS = Object.values(B);

let h: TestApp;
let a: TestClient;
let b: TestClient;
let routes: Route[];
let openapi: OpenApi;
const bIds = new Set<string>();
const ids: Record<string, string> = {};
let aContactId = '';

async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function call(client: TestClient | Record<string, string>, method: string, url: string, payload?: unknown) {
  const headers = 'headers' in client ? (client as TestClient).headers : client as Record<string, string>;
  return h.app.inject({ method: method as 'GET', url, headers, payload: payload as object | undefined });
}

async function ok(client: TestClient, method: string, url: string, payload?: unknown): Promise<Json> {
  const res = await call(client, method, url, payload);
  assert.ok(res.statusCode >= 200 && res.statusCode < 300, `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 400)}`);
  return res.body ? res.json() : undefined;
}

/** Every `id` / `*Id` / `*Ids` string value in a JSON document. */
function collectIds(value: Json, into: Set<string>, key = ''): void {
  if (typeof value === 'string') {
    if (key === 'id' || /Ids?$/.test(key)) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectIds(item, into, key);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collectIds(v, into, k);
  }
}

const tenantRoutes = () => routes.filter((r) => r.method !== 'OPTIONS' && r.method !== 'HEAD' && !PUBLIC.test(r.url) && !isAdmin(r.url));
const hasParams = (r: Route) => /:[A-Za-z]+|\*$/.test(r.url);
const fill = (url: string, value: string) => url.replace(/:([A-Za-z]+)/g, () => encodeURIComponent(value)).replace(/\*$/, encodeURIComponent(value));

/** The JSON request body schema of a route, from /openapi.json. */
function bodySchema(route: Route): Json | undefined {
  const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
  return openapi.paths[path]?.[route.method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
}

/** A minimal body that satisfies a schema (required properties only). */
function sample(schema: Json, key = ''): Json {
  if (!schema) return undefined;
  if (schema.anyOf || schema.oneOf) return sample((schema.anyOf ?? schema.oneOf).find((s: Json) => s.type !== 'null') ?? {}, key);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  switch (schema.type) {
    case 'object': {
      const out: Record<string, Json> = {};
      for (const k of schema.required ?? []) out[k] = sample(schema.properties?.[k], k);
      return out;
    }
    case 'array': return schema.minItems ? [sample(schema.items, key)] : [];
    case 'integer': case 'number': return schema.minimum ?? 1;
    case 'boolean': return true;
    case 'string':
      if (schema.format === 'uuid') return aContactId;
      if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      if (schema.format === 'email') return 'alpha@alpha-isolation.example';
      if (schema.format === 'uri' || /url$/i.test(key)) return 'https://alpha-isolation.example';
      if (/phone|^to$/i.test(key)) return '15551110001';
      return 'alpha'.padEnd(schema.minLength ?? 0, 'x');
    default: return undefined;
  }
}

/**
 * Everything B can read: every list route and every detail GET of B's ids,
 * with B's credentials (fields that move by themselves removed).
 */
async function snapshotB(): Promise<Map<string, string>> {
  const volatile = new Set(['updatedAt', 'lastUsedAt', 'lastActivityAt', 'uptimeSeconds', 'expiresAt', 'url', 'link', 'nextPollAt']);
  const strip = (v: Json): Json => Array.isArray(v) ? v.map(strip) : v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v).filter(([k]) => !volatile.has(k)).map(([k, x]) => [k, strip(x)])) : v;
  const out = new Map<string, string>();
  for (const route of tenantRoutes().filter((r) => r.method === 'GET')) {
    const urls = hasParams(route) ? [...bIds].map((id) => fill(route.url, id)) : [route.url];
    for (const url of urls) {
      const res = await call(b, 'GET', url);
      if (res.statusCode !== 200) continue;
      let body: Json = res.body;
      try { body = strip(res.json()); } catch { /* CSV and other text */ }
      out.set(url, JSON.stringify(body));
    }
  }
  return out;
}

function diff(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [url, body] of before) if (after.get(url) !== body) changed.push(`${url}: ${body.slice(0, 300)} → ${String(after.get(url)).slice(0, 300)}`);
  return changed;
}

/** B's distinctive strings in a body (`echoed`: a value the caller sent itself, e.g. the path id, is removed first). */
function leaks(body: string, echoed?: string): string[] {
  const text = echoed ? body.split(echoed).join('').split(encodeURIComponent(echoed)).join('') : body;
  return B_STRINGS.filter((s) => text.includes(s));
}

before(async () => {
  h = await startTestApp({ listen: true, env: { WHATSAPP_MODE: 'sandbox' } });
  routes = h.app.routeTable as Route[];
  openapi = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  a = await h.createClient('Alpha Isolation Clinic');
  b = await h.createClient('Bravo Isolation Clinic');
  aContactId = (await ok(a, 'POST', '/api/crm/contacts', { name: 'Alpha Contact', phone: '15551110002' })).id;

  // B: a customer writes in; B answers.
  await ok(b, 'POST', '/api/sandbox/inbound', { from: B.customerPhone, text: B.inboundText, name: B.customerName });
  const conversation = await waitFor('B\'s conversation', async () => {
    const list = (await call(b, 'GET', '/api/saas/chat/conversations')).json();
    return (list.items ?? list.conversations ?? list.data ?? [])[0];
  });
  ids.conversation = conversation.id;
  await ok(b, 'POST', '/api/saas/chat/messages', { conversationId: ids.conversation, type: 'text', text: { body: B.outboundText } });

  // CRM.
  ids.contact = (await ok(b, 'POST', '/api/crm/contacts', { name: B.contactName, phone: B.contactPhone, email: B.contactEmail })).id;
  const pipeline = await ok(b, 'POST', '/api/crm/pipelines', { name: B.pipelineName, stages: [{ key: 'new', name: 'New' }, { key: 'won', name: 'Won', isWon: true }] });
  ids.pipeline = pipeline.id;
  const lead = await ok(b, 'POST', '/api/crm/leads', { contactId: ids.contact, pipelineId: ids.pipeline, stage: 'new', source: 'isolation' });
  ids.lead = lead.id ?? lead.lead?.id;
  await ok(b, 'POST', `/api/crm/leads/${ids.lead}/notes`, { body: B.noteBody });
  ids.field = (await ok(b, 'POST', '/api/crm/fields', { entity: 'contact', key: 'bravo_field', label: B.fieldLabel, type: 'text' })).id;
  ids.rule = (await ok(b, 'POST', '/api/crm/scoring/rules', { key: 'bravo_rule', name: B.ruleName, group: 'engagement', signal: 'message_inbound', points: 5 })).id;
  const startsAt = new Date(Date.now() + 3 * 86_400_000);
  ids.appointment = (await ok(b, 'POST', '/api/crm/appointments', {
    contactId: ids.contact, title: B.appointmentTitle, startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + 1_800_000).toISOString(),
  })).id;

  // Workflows: a communication workflow, an automation (runbook step 7 body) and a scheduled job.
  ids.workflow = (await ok(b, 'POST', '/api/saas/workflows', { name: B.workflowName, trigger: 'product_purchased', channel: 'whatsapp', templateName: 'hello_world', language: 'en_US', delayMinutes: 0, isActive: true })).id;
  ids.automation = (await ok(b, 'POST', '/api/crm/automations', {
    name: B.automationName, trigger: 'service_enrolled', triggerConfig: {}, actions: [{ type: 'update_lead', delayMinutes: 0, config: { tags: ['bravo'] } }],
  })).id;
  const triggered = await ok(b, 'POST', '/api/saas/workflows/trigger', {
    trigger: 'product_purchased', phone: B.customerPhone, variables: [], baseTime: new Date(Date.now() + 2 * 86_400_000).toISOString(), callbackMetadata: { moduleId: 'bravo-module' },
  });
  assert.ok(triggered.jobs.length > 0, 'B has a workflow job');

  // Email, Meet, CORS, realtime token.
  ids.campaign = (await ok(b, 'POST', '/api/saas/email/campaigns', {
    name: B.campaignName, subject: B.campaignSubject, text: 'Hello from Bravo', audience: { type: 'list', contactIds: [ids.contact] },
  })).id;
  const meeting = await ok(b, 'POST', '/api/saas/meet', { title: B.meetingTitle, start: startsAt.toISOString(), end: new Date(startsAt.getTime() + 1_800_000).toISOString(), timeZone: 'UTC' });
  ids.meeting = meeting.eventId ?? meeting.id;
  await ok(b, 'POST', '/api/saas/cors', { url: B.corsOrigin });
  await ok(b, 'POST', '/api/saas/realtime/token');

  // Harvest: every list route, then every detail route B can read with what was found.
  for (let round = 0; round < 2; round++) {
    for (const route of tenantRoutes().filter((r) => r.method === 'GET')) {
      const urls = hasParams(route) ? [...bIds].map((id) => fill(route.url, id)) : [route.url];
      for (const url of urls) {
        const res = await call(b, 'GET', url);
        if (res.statusCode === 200 && res.headers['content-type']?.toString().includes('json')) collectIds(res.json(), bIds);
      }
    }
  }
  for (const id of Object.values(ids)) bIds.add(id);
  bIds.delete(b.id);
  bIds.delete(a.id);
});
after(() => h?.close());

test('B was seeded with every kind of resource and its ids were harvested from list routes', () => {
  for (const [kind, id] of Object.entries(ids)) assert.ok(id, `${kind} id`);
  assert.ok(bIds.size >= Object.keys(ids).length, `harvested ${bIds.size} ids`);
});

test('every tenant route with path parameters refuses A with each of B\'s ids, shows none of B\'s data, and changes nothing of B\'s', async () => {
  const before = await snapshotB();
  const problems: string[] = [];
  const paramRoutes = tenantRoutes().filter(hasParams);
  assert.ok(paramRoutes.length > 20, 'route table has the parameterised tenant routes');
  for (const route of paramRoutes) {
    const schema = bodySchema(route);
    const payload = ['GET', 'DELETE'].includes(route.method) ? undefined : (sample(schema) ?? {});
    for (const id of bIds) {
      const url = fill(route.url, id);
      const res = await call(a, route.method, url, payload);
      const unknownAnswer = UNKNOWN_ID_ANSWERS.find(([key]) => key === `${route.method} ${route.url}`)?.[1];
      if (unknownAnswer && res.statusCode === 200) {
        if (JSON.stringify(res.json()) !== JSON.stringify(unknownAnswer(id))) problems.push(`${route.method} ${url} → ${res.body.slice(0, 200)} (not the unknown-id answer)`);
      } else if (res.statusCode >= 200 && res.statusCode < 300) problems.push(`${route.method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
      if (res.statusCode >= 500) problems.push(`${route.method} ${url} → ${res.statusCode}`);
      const leaked = leaks(res.body, id);
      if (leaked.length) problems.push(`${route.method} ${url} leaks ${leaked.join(', ')}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.deepEqual(diff(before, await snapshotB()), [], 'B\'s data unchanged');
});

test('A\'s list routes show none of B\'s ids or data', async () => {
  const problems: string[] = [];
  const lists = tenantRoutes().filter((r) => r.method === 'GET' && !hasParams(r));
  assert.ok(lists.length > 10);
  for (const route of lists) {
    const res = await call(a, 'GET', route.url);
    const found = [...bIds].filter((id) => id.length >= 8 && res.body.includes(id));
    if (found.length) problems.push(`${route.url} shows B ids ${found.join(', ')}`);
    const leaked = leaks(res.body);
    if (leaked.length) problems.push(`${route.url} leaks ${leaked.join(', ')}`);
  }
  assert.deepEqual(problems, []);
});

test('list filters naming B\'s ids (every `*Id` query parameter) show none of B\'s data', async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const route of tenantRoutes().filter((r) => r.method === 'GET')) {
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const params = (openapi.paths[path]?.get?.parameters ?? []).filter((p) => p.in === 'query' && /Id$/.test(p.name));
    for (const param of params) {
      for (const id of bIds) {
        const url = `${fill(route.url, aContactId)}?${new URLSearchParams({ [param.name]: id })}`;
        const res = await call(a, 'GET', url);
        checked++;
        if (res.statusCode >= 500) problems.push(`${url} → ${res.statusCode}`);
        const leaked = leaks(res.body, id);
        if (leaked.length) problems.push(`${url} leaks ${leaked.join(', ')}`);
        const found = [...bIds].filter((x) => x !== id && x.length >= 8 && res.body.includes(x));
        if (found.length) problems.push(`${url} shows B ids ${found.join(', ')}`);
      }
    }
  }
  assert.ok(checked > 0, 'some list route filters by an id');
  assert.deepEqual(problems, []);
});

test('ids of B in request bodies are refused and write nothing to B', async () => {
  const before = await snapshotB();
  const problems: string[] = [];
  const start = new Date(Date.now() + 5 * 86_400_000);
  const end = new Date(start.getTime() + 1_800_000);
  // Known id-carrying bodies, each complete and valid except for B's id.
  const explicit: Array<[string, string, Json]> = [
    ['POST', '/api/saas/chat/messages', { conversationId: ids.conversation, type: 'text', text: { body: 'alpha intrusion' } }],
    ['POST', '/api/crm/appointments', { contactId: ids.contact, title: 'Alpha intrusion', startsAt: start.toISOString(), endsAt: end.toISOString() }],
    ['POST', `/api/crm/contacts/${aContactId}/merge`, { otherId: ids.contact }],
    ['POST', '/api/crm/leads', { contactId: ids.contact }],
    ['POST', '/api/crm/leads', { contact: { name: 'Alpha Lead', phone: '15551110003' }, pipelineId: ids.pipeline, stage: 'new' }],
    ['POST', '/api/saas/email/campaigns', { name: 'Alpha campaign', subject: 'x', text: 'x', audience: { type: 'list', contactIds: [ids.contact] } }],
  ];
  // Editing A's own campaign to target B's contacts.
  const own = await ok(a, 'POST', '/api/saas/email/campaigns', { name: 'Alpha own campaign', subject: 'x', text: 'x', audience: { type: 'list', emails: ['alpha@alpha-isolation.example'] } });
  explicit.push(['PATCH', `/api/saas/email/campaigns/${own.id}`, { audience: { type: 'list', contactIds: [ids.contact] } }]);
  for (const [method, url, payload] of explicit) {
    const res = await call(a, method, url, payload);
    if (res.statusCode >= 200 && res.statusCode < 300) problems.push(`${method} ${url} ${JSON.stringify(payload).slice(0, 120)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    const leaked = leaks(res.body);
    if (leaked.length) problems.push(`${method} ${url} leaks ${leaked.join(', ')}`);
  }
  // `appointmentId` of a meeting is an opaque idempotency key (the create_meet action fills it from trigger
  // variables, often another system's ids): accepted, but the meeting is A's own, never B's meeting.
  const meet = await call(a, 'POST', '/api/saas/meet', { title: 'Alpha meeting', start: start.toISOString(), end: end.toISOString(), timeZone: 'UTC', appointmentId: ids.appointment });
  assert.equal(meet.statusCode, 201, meet.body);
  assert.notEqual(meet.json().eventId, ids.meeting);
  assert.deepEqual(leaks(meet.body), []);
  // Generated: every uuid-typed `*Id`/`*Ids` body property of every tenant route, set to each of B's ids.
  for (const route of tenantRoutes().filter((r) => !['GET', 'DELETE'].includes(r.method))) {
    const schema = bodySchema(route);
    if (!schema?.properties) continue;
    for (const [key, prop] of Object.entries<Json>(schema.properties)) {
      if (!/Ids?$/.test(key)) continue;
      const isArray = prop.type === 'array';
      const scalar = isArray ? prop.items : prop;
      if (!JSON.stringify(scalar ?? {}).includes('uuid')) continue;
      for (const id of [...bIds].filter((x) => UUID.test(x))) {
        const url = fill(route.url, aContactId);
        const payload = { ...sample(schema), [key]: isArray ? [id] : id };
        const res = await call(a, route.method, url, payload);
        const leaked = leaks(res.body, id);
        if (leaked.length) problems.push(`${route.method} ${route.url} ${key}=${id} leaks ${leaked.join(', ')}`);
        if (res.statusCode >= 500) problems.push(`${route.method} ${route.url} ${key}=${id} → ${res.statusCode}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.deepEqual(diff(before, await snapshotB()), [], 'B\'s data unchanged');
});

test('A\'s key with B\'s client code is refused on every tenant route', async () => {
  const problems: string[] = [];
  for (const route of tenantRoutes()) {
    const url = fill(route.url, [...bIds][0]);
    const res = await call({ 'x-api-key': a.apiKey, 'x-client-code': b.code }, route.method, url, ['GET', 'DELETE'].includes(route.method) ? undefined : {});
    if (res.statusCode !== 401) problems.push(`${route.method} ${route.url} → ${res.statusCode}`);
  }
  assert.deepEqual(problems, []);
});

interface Connected { socket: Socket; events: Array<{ event: string; payload: Json }> }
function connect(auth: Record<string, unknown>): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const socket = connectSocket(h.url!, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    const events: Connected['events'] = [];
    socket.onAny((event: string, payload: Json) => events.push({ event, payload }));
    socket.on('ready', () => resolve({ socket, events }));
    socket.on('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

test('Socket.io: A cannot join B\'s conversation, cannot sign in with B\'s code, and never receives B\'s events', async () => {
  const tokenA = (await ok(a, 'POST', '/api/saas/realtime/token')).token as string;
  await assert.rejects(connect({ clientCode: b.code, apiKey: a.apiKey }), 'A\'s key with B\'s code');
  const sa = await connect({ clientCode: a.code, apiKey: a.apiKey });
  const st = await connect({ token: tokenA });
  const sb = await connect({ clientCode: b.code, apiKey: b.apiKey });
  try {
    for (const s of [sa, st]) assert.deepEqual(await s.socket.emitWithAck('conversation.join', ids.conversation), { ok: false, error: 'NOT_FOUND' });
    assert.deepEqual(await sb.socket.emitWithAck('conversation.join', ids.conversation), { ok: true });
    // B's data changes: a customer writes in, B answers, B's CRM moves.
    const marker = 'bravo-live-event-6d0e';
    await ok(b, 'POST', '/api/sandbox/inbound', { from: B.customerPhone, text: marker, name: B.customerName });
    await ok(b, 'POST', '/api/saas/chat/messages', { conversationId: ids.conversation, type: 'text', text: { body: `${marker}-reply` } });
    await ok(b, 'POST', '/api/crm/contacts', { name: `${B.contactName} Live`, phone: '15559990003' });
    await waitFor('B receives its events', () => JSON.stringify(sb.events).includes(`${marker}-reply`) && JSON.stringify(sb.events).includes(marker));
    // A's own event afterwards, so A's sockets have drained everything published before it.
    await ok(a, 'POST', '/api/sandbox/inbound', { from: '15551110009', text: 'alpha-fence' });
    await waitFor('A receives its own event', () => JSON.stringify(sa.events).includes('alpha-fence') && JSON.stringify(st.events).includes('alpha-fence'));
    for (const [name, s] of [['key', sa], ['token', st]] as const) {
      const seen = JSON.stringify(s.events);
      assert.ok(!seen.includes(marker) && !seen.includes(ids.conversation), `A's ${name} socket saw B's events`);
      assert.deepEqual(leaks(seen), [], `A's ${name} socket saw B's data`);
    }
  } finally {
    for (const s of [sa, st, sb]) s.socket.close();
  }
});

test('a webhook for B\'s number signed with A\'s own app secret never lands in B\'s database', async () => {
  const secretA = 'alpha-own-app-secret-0123456789';
  assert.equal((await call(h.adminHeaders, 'POST', `/api/clients/${a.code}/secrets`, { whatsappAppSecret: secretA })).statusCode, 200);
  const outbox = await ok(b, 'GET', '/api/sandbox/outbox');
  const bPhoneNumberId = outbox.phoneNumberId as string;
  const aPhoneNumberId = (await ok(a, 'GET', '/api/sandbox/outbox')).phoneNumberId as string;
  const change = (phoneNumberId: string, text: string, wamid: string) => ({
    field: 'messages',
    value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100001', phone_number_id: phoneNumberId },
      contacts: [{ profile: { name: 'Mallory' }, wa_id: '15557770001' }],
      messages: [{ from: '15557770001', id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
    },
  });
  const post = (body: Json) => {
    const raw = JSON.stringify(body);
    return fetch(`${h.url}/api/saas/whatsapp/webhook`, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, secretA) } });
  };
  // Only B's number: A's secret is not B's, so nobody verifies it.
  const onlyB = await post({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [change(bPhoneNumberId, 'forged-for-bravo-1', 'wamid.forged1')] }] });
  assert.notEqual(onlyB.status, 200, 'a body naming only B, signed with A\'s secret');
  // A's number and B's number in one body: A's part lands in A, B's part nowhere.
  const mixed = await post({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [change(aPhoneNumberId, 'alpha-legit-webhook', 'wamid.legit1'), change(bPhoneNumberId, 'forged-for-bravo-2', 'wamid.forged2')] }] });
  assert.equal(mixed.status, 200);
  await waitFor('A\'s part applied', async () => {
    const convs = (await call(a, 'GET', '/api/saas/chat/conversations')).json();
    for (const c of convs.items ?? convs.conversations ?? []) {
      if ((await call(a, 'GET', `/api/saas/chat/conversations/${c.id}/messages`)).body.includes('alpha-legit-webhook')) return true;
    }
    return false;
  });
  // The mixed delivery is one inbox row: once nothing is pending, B's part was either applied or refused.
  await waitFor('inbox settled', async () => (await h.ctx.controlDb.query(`SELECT count(*)::int AS n FROM whatsapp_inbox WHERE state IN ('pending', 'processing')`)).rows[0].n === 0);
  const bConvs = (await call(b, 'GET', '/api/saas/chat/conversations')).json();
  const bodies = [JSON.stringify(bConvs)];
  for (const c of bConvs.items ?? bConvs.conversations ?? []) bodies.push((await call(b, 'GET', `/api/saas/chat/conversations/${c.id}/messages`)).body);
  assert.ok(!bodies.join('').includes('forged-for-bravo'), 'forged message in B\'s database');
  assert.ok(!bodies.join('').includes('15557770001'), 'forged contact in B\'s database');
});
