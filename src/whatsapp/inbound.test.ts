import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import type { RealtimeEvent } from '../platform/events.ts';
import { tenantDbById } from '../tenants/index.ts';
import { sandboxAppSecret } from './sandbox-secret.ts';
import { signBody } from './verify-signature.ts';

const FIXTURES = path.resolve(import.meta.dirname, '__fixtures__');
const APP_SECRET = 'test-meta-app-secret-0123456789';
const VERIFY_TOKEN = 'global-verify-token-abc';
const FIXTURE_PHONE = '100000000000001';
const WABA = '200000000000001';

let h: TestApp;
let a: TestClient;
let b: TestClient;
let dbA: pg.Pool;
let dbB: pg.Pool;
const events: RealtimeEvent[] = [];
const INBOUND_EVENTS = ['message.created', 'message.updated', 'conversation.updated', 'lead.created', 'lead.updated'];
/** Events this feature publishes (other domains, e.g. scoring, publish their own asynchronously). */
const inboundEvents = () => events.filter((e) => INBOUND_EVENTS.includes(e.event));

function fixture(name: string, phoneNumberId = FIXTURE_PHONE): Buffer {
  // Byte-level rewrite keeps the file's exact bytes otherwise (signatures are over bytes).
  const text = readFileSync(path.join(FIXTURES, name), 'latin1');
  return Buffer.from(text.split(FIXTURE_PHONE).join(phoneNumberId), 'latin1');
}

async function post(body: Buffer | string, signature: string | null = signBody(body, APP_SECRET), contentType = 'application/json') {
  return h.app.inject({
    method: 'POST', url: '/api/saas/whatsapp/webhook', payload: body,
    headers: { 'content-type': contentType, ...(signature ? { 'x-hub-signature-256': signature } : {}) },
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function inboxRows(): Promise<Array<{ id: string; state: string; attempts: number; last_error: string | null; unroutable: unknown[]; client_ids: string[] }>> {
  const { rows } = await h.ctx.controlDb.query('SELECT id::text, state, attempts, last_error, unroutable, client_ids::text[] FROM whatsapp_inbox ORDER BY whatsapp_inbox.id');
  return rows;
}

/** Posts and waits until the inbox has no pending/processing rows. */
async function deliver(body: Buffer, signature?: string | null) {
  const res = await post(body, signature);
  assert.equal(res.statusCode, 200, res.body);
  await settle();
  return res;
}

async function settle() {
  await waitFor('inbox to settle', async () => {
    const { rows } = await h.ctx.controlDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM whatsapp_inbox WHERE state IN ('pending', 'processing')`);
    return rows[0].n === 0;
  });
}

async function messageByWamid(db: pg.Pool, wamid: string) {
  const { rows } = await db.query('SELECT * FROM messages WHERE wa_message_id = $1', [wamid]);
  return rows[0];
}

function wamidOf(name: string): string {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')).entry[0].changes[0].value.messages[0].id;
}

/** An outbound message "we" sent earlier (replies, reactions and statuses refer to them). */
async function seedOutbound(db: pg.Pool, wamid: string, waId = '15550000003', status = 'sent', rank = 1) {
  const { rows: [contact] } = await db.query(
    `INSERT INTO contacts (phone, wa_id) VALUES ($1, $1) ON CONFLICT (wa_id) WHERE wa_id IS NOT NULL DO UPDATE SET updated_at = now() RETURNING id`, [waId]);
  const { rows: [conv] } = await db.query(
    `INSERT INTO conversations (contact_id, phone_number_id) VALUES ($1, $2)
     ON CONFLICT (contact_id, (coalesce(phone_number_id, ''))) DO UPDATE SET updated_at = now() RETURNING id`, [contact.id, FIXTURE_PHONE]);
  const { rows: [message] } = await db.query(
    `INSERT INTO messages (conversation_id, contact_id, direction, wa_message_id, type, text, status, status_rank)
     VALUES ($1, $2, 'outbound', $3, 'text', 'hello', $4, $5) RETURNING id`, [conv.id, contact.id, wamid, status, rank]);
  return { contactId: contact.id as string, conversationId: conv.id as string, messageId: message.id as string };
}

before(async () => {
  h = await startTestApp({
    env: {
      META_APP_SECRET: APP_SECRET, META_VERIFY_TOKEN: VERIFY_TOKEN, WHATSAPP_INBOX_RETRY_BASE_MS: '30',
      WHATSAPP_INBOX_MAX_ATTEMPTS: '2', WHATSAPP_INBOX_POLL_MS: '100',
    },
  });
  h.ctx.realtime = { publish: (e) => events.push(e) };
  a = await h.createClient('Inbound A');
  b = await h.createClient('Inbound B');
  for (const [client, secrets] of [
    [a, { whatsappPhoneNumberId: FIXTURE_PHONE, whatsappBusinessId: WABA, whatsappWebhookToken: 'client-a-verify-token', whatsappAppSecret: 'client-a-app-secret' }],
    [b, { whatsappPhoneNumberId: '100000000000002', whatsappBusinessId: '200000000000002', whatsappAppSecret: 'client-b-app-secret' }],
  ] as const) {
    const res = await h.app.inject({ method: 'POST', url: `/api/clients/${client.code}/secrets`, headers: h.adminHeaders, payload: secrets });
    assert.equal(res.statusCode, 200, res.body);
  }
  dbA = await tenantDbById(h.ctx, a.id);
  dbB = await tenantDbById(h.ctx, b.id);
});
after(() => h.close());

describe('verification handshake', () => {
  const get = (qs: string) => h.app.inject({ method: 'GET', url: `/api/saas/whatsapp/webhook?${qs}` });
  test('global and per-client verify tokens echo the challenge as text/plain', async () => {
    for (const token of [VERIFY_TOKEN, 'client-a-verify-token']) {
      const res = await get(`hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`);
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/plain/);
      assert.equal(res.body, '1158201444');
    }
  });
  test('wrong token, wrong mode or missing parameters → 403', async () => {
    for (const qs of ['hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1', 'hub.mode=unsubscribe&hub.verify_token=global-verify-token-abc&hub.challenge=1', 'hub.mode=subscribe&hub.challenge=1', '']) {
      const res = await get(qs);
      assert.equal(res.statusCode, 403, qs);
      assert.doesNotMatch(res.body, /1158201444/);
    }
  });
});

describe('signed delivery', () => {
  test('missing, malformed and wrong signatures → 401 and nothing stored', async () => {
    const body = fixture('text.json');
    const before = (await inboxRows()).length;
    for (const sig of [null, 'sha256=zz', 'sha1=abc', signBody(body, 'wrong-secret'), signBody(Buffer.concat([body, Buffer.from(' ')]), APP_SECRET)]) {
      const res = await post(body, sig);
      assert.equal(res.statusCode, 401, String(sig));
      assert.equal(res.json().error.code, 'INVALID_SIGNATURE');
    }
    assert.equal((await inboxRows()).length, before);
  });

  test('a signature over re-serialised JSON is rejected for non-ASCII text (Meta escapes it)', async () => {
    const parsed = JSON.parse(fixture('text.json').toString('utf8'));
    parsed.entry[0].changes[0].value.messages[0].id = 'wamid.escaped-unicode';
    const raw = Buffer.from(JSON.stringify(parsed).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
    const reserialised = JSON.stringify(JSON.parse(raw.toString('utf8')));
    assert.notEqual(reserialised, raw.toString('utf8'));
    const res = await post(raw, signBody(reserialised, APP_SECRET));
    assert.equal(res.statusCode, 401);
    const ok = await post(raw, signBody(raw, APP_SECRET));
    assert.equal(ok.statusCode, 200);
    await settle();
    const row = await messageByWamid(dbA, 'wamid.escaped-unicode');
    assert.equal(row.text, 'Olá! Vocês entregam em Campinas? Preciso do pedido até sexta.');
  });

  test('bodies over 3 MB → 413; up to 3 MB accepted', async () => {
    const big = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(3 * 1024 * 1024) }));
    const res = await post(big);
    assert.equal(res.statusCode, 413);
    const fits = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(2 * 1024 * 1024) }));
    assert.equal((await post(fits)).statusCode, 200);
    await settle();
  });

  test('the simulator (sandbox) secret is accepted in auto mode', async () => {
    const body = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [] }));
    const res = await post(body, signBody(body, sandboxAppSecret(h.ctx.keyring)));
    assert.equal(res.statusCode, 200);
    await settle();
  });

  test('malformed JSON with a valid signature is stored and dead-lettered, not a 500', async () => {
    const body = Buffer.from('{"object":"whatsapp_business_account","entry":[');
    const res = await post(body);
    assert.equal(res.statusCode, 200);
    await settle();
    const row = (await inboxRows()).at(-1)!;
    assert.equal(row.state, 'dead');
    assert.match(row.last_error!, /malformed JSON/);
  });
});

describe('every fixture end to end', () => {
  const inbound = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && !f.startsWith('status-') && !['account-update.json', 'message-template-status-update.json', 'multi-message-batch.json'].includes(f));

  test('each message fixture lands in the tenant database once, with its typed content', async () => {
    // Messages the fixtures refer to that "we" sent earlier.
    await seedOutbound(dbA, 'wamid.HBgLMTU1NTAwMDAwMDEVAgARGBI3NTg0RDc4NDlFOEYxRUU2ODgA', '15550000001');
    for (const file of inbound) {
      events.length = 0;
      await deliver(fixture(file));
      const value = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')).entry[0].changes[0].value;
      const m = value.messages[0];
      if (m.type === 'reaction') continue; // checked below
      const row = await messageByWamid(dbA, m.id);
      assert.ok(row, `${file}: message stored`);
      assert.equal(row.direction, 'inbound');
      assert.deepEqual(row.raw, m, `${file}: raw kept`);
      const created = events.filter((e) => e.event === 'message.created');
      assert.equal(created.length, 1, `${file}: one message.created`);
      assert.equal(created[0].clientId, a.id);
      const payload = created[0].payload as { conversationId: string; message: { waMessageId: string; createdAt: string; timestamp: string } };
      assert.equal(payload.message.waMessageId, m.id);
      assert.match(payload.message.createdAt, /^\d{4}-\d\d-\d\dT/);
      assert.equal(payload.message.timestamp, new Date(Number(m.timestamp) * 1000).toISOString());
      const conv = events.find((e) => e.event === 'conversation.updated')?.payload as { conversation: { id: string; unreadCount: number; lastInboundAt: string } };
      assert.equal(conv.conversation.id, payload.conversationId);
      assert.ok(conv.conversation.unreadCount >= 1 && typeof conv.conversation.lastInboundAt === 'string');
    }
    const byType = async (file: string) => messageByWamid(dbA, wamidOf(file));
    assert.equal((await byType('text.json')).type, 'text');
    const image = await byType('image.json');
    assert.equal(image.type, 'image');
    assert.equal(image.media_id, '1000000000000101');
    assert.equal(image.media_status !== null, true);
    assert.equal(image.text, 'Foto da caixa que chegou amassada');
    const voice = await byType('audio-voice.json');
    assert.equal(voice.content.voice, true);
    assert.equal(voice.media_mime_type, 'audio/ogg; codecs=opus');
    const doc = await byType('document.json');
    assert.equal(doc.media_filename, 'Comprovante-Pedido-1042.pdf');
    assert.equal((await byType('sticker.json')).content.animated, false);
    const loc = await byType('location.json');
    assert.deepEqual([loc.content.latitude, loc.content.longitude, loc.content.name], [-23.561414, -46.655881, 'MASP']);
    assert.equal((await byType('contacts.json')).type, 'contacts');
    const button = await byType('interactive-button-reply.json');
    assert.deepEqual([button.content.kind, button.content.id, button.content.title], ['button_reply', 'appt_reschedule', 'Remarcar']);
    assert.equal(button.reply_to_wa_id, 'wamid.HBgLMTU1NTAwMDAwMDEVAgARGBJFQUZEOTQwRjlGNURDRjgxMUUA');
    assert.equal((await byType('interactive-list-reply.json')).content.id, 'ship_express');
    const flow = await byType('interactive-nfm-reply.json');
    assert.equal(flow.content.response.flow_token, 'crm-flow-7f3a9c');
    const tb = await byType('template-button.json');
    assert.deepEqual([tb.type, tb.content.payload], ['button', 'track:ORD-1042']);
    assert.equal((await byType('forwarded.json')).is_forwarded, true);
    const order = await byType('order.json');
    assert.equal(order.content.items.length, 2);
    assert.equal((await byType('unsupported.json')).type, 'unsupported');
    assert.ok((await byType('unsupported.json')).error);
    assert.equal((await byType('system-user-changed-number.json')).type, 'system');
    assert.equal((await byType('reply-with-context.json')).reply_to_wa_id, 'wamid.HBgLMTU1NTAwMDAwMDIVAgARGBI0QTNCRkE0Qzg0MEZEREQ2MzMA');

    // Media messages are handed to the archiver at once (a keyed job per message).
    const { rows: jobs } = await h.ctx.controlDb.query(`SELECT data FROM pgboss.job WHERE name = 'media.download-media'`);
    const queued = new Set(jobs.map((j) => j.data.mediaId));
    for (const id of ['1000000000000101', '1000000000000102', '1000000000000103', '1000000000000104', '1000000000000105']) assert.ok(queued.has(id), `media ${id} queued`);

    // Contacts and leads: Ana, Bruno (re-keyed by the system message), Carla (from an ad).
    const { rows: contacts } = await dbA.query('SELECT wa_id, wa_user_id, name FROM contacts WHERE name IS NOT NULL ORDER BY name');
    assert.deepEqual([...new Set(contacts.map((c) => c.name))], ['Ana Souza', 'Bruno Lima', 'Carla Mendes']);
    // The system message re-keyed Bruno's contact (later fixtures still use his old ids, so a new contact appears for them).
    const bruno = contacts.find((c) => c.name === 'Bruno Lima' && c.wa_id === '15550000022');
    assert.equal(bruno?.wa_user_id, 'US.1000000000000000022');
    const { rows: leads } = await dbA.query('SELECT l.source, l.source_details, c.name FROM leads l JOIN contacts c ON c.id = l.contact_id ORDER BY c.name');
    const names = leads.map((l) => l.name);
    assert.ok(names.includes('Ana Souza') && names.includes('Bruno Lima'));
    const { rows: events1 } = await dbA.query(`SELECT data FROM domain_events WHERE type = 'lead_captured'`);
    assert.equal(events1.length, leads.length);
    // Conversation window and unread count.
    const { rows: [conv] } = await dbA.query(`SELECT v.* FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE c.wa_id = '15550000001'`);
    assert.ok(conv.last_inbound_at);
    assert.ok(conv.unread_count >= 6);
  });

  test('the first message from an ad creates a whatsapp_ad lead with the referral', async () => {
    const { rows: [lead] } = await dbA.query(`SELECT l.* FROM leads l JOIN contacts c ON c.id = l.contact_id WHERE c.wa_id = '15550000003'`);
    assert.ok(lead);
    // Carla's first message in this run is document.json (before referral.json), so her lead is plain whatsapp;
    // a fresh contact arriving through an ad is checked with client B.
    events.length = 0;
    await deliver(fixture('referral.json', '100000000000002'), signBody(fixture('referral.json', '100000000000002'), 'client-b-app-secret'));
    const { rows: [adLead] } = await dbB.query(`SELECT l.* FROM leads l JOIN contacts c ON c.id = l.contact_id WHERE c.wa_id = '15550000003'`);
    assert.equal(adLead.source, 'whatsapp_ad');
    assert.equal(adLead.source_details.ctwaClid.slice(0, 10), 'ARAkLkA8rm');
    assert.equal(events.filter((e) => e.event === 'lead.created' && e.clientId === b.id).length, 1);
    const { rows: de } = await dbB.query(`SELECT data FROM domain_events WHERE type = 'lead_captured'`);
    assert.equal(de.length, 1);
    assert.equal(de[0].data.source, 'whatsapp_ad');
  });

  test('reactions attach to their target; a missing emoji removes it', async () => {
    const target = 'wamid.HBgLMTU1NTAwMDAwMDEVAgARGBI3NTg0RDc4NDlFOEYxRUU2ODgA';
    const { rows: [before] } = await dbA.query('SELECT reactions FROM messages WHERE wa_message_id = $1', [target]);
    // The loop above delivered reaction-removed.json before reaction.json (file order): the reaction stands.
    assert.deepEqual(before.reactions, { '15550000001': '👍' });
    await deliver(fixture('reaction-removed.json'));
    assert.deepEqual((await messageByWamid(dbA, target)).reactions, {});
    events.length = 0;
    await deliver(fixture('reaction.json'));
    const { rows: [after1] } = await dbA.query('SELECT reactions FROM messages WHERE wa_message_id = $1', [target]);
    assert.deepEqual(after1.reactions, { '15550000001': '👍' });
    assert.equal(events.filter((e) => e.event === 'message.updated').length, 1);
    events.length = 0;
    await deliver(fixture('reaction.json'));
    assert.equal(inboundEvents().length, 0, `the same reaction again publishes nothing: ${JSON.stringify(events)}`);
    await deliver(fixture('reaction-removed.json'));
    const { rows: [after2] } = await dbA.query('SELECT reactions FROM messages WHERE wa_message_id = $1', [target]);
    assert.deepEqual(after2.reactions, {});
  });

  test('duplicate delivery changes nothing and publishes nothing', async () => {
    const { rows: [before] } = await dbA.query('SELECT count(*)::int AS n, (SELECT sum(unread_count)::int FROM conversations) AS unread FROM messages');
    events.length = 0;
    await deliver(fixture('text.json'));
    await deliver(fixture('image.json'));
    const { rows: [after] } = await dbA.query('SELECT count(*)::int AS n, (SELECT sum(unread_count)::int FROM conversations) AS unread FROM messages');
    assert.deepEqual(after, before);
    assert.equal(inboundEvents().length, 0);
  });
});

describe('statuses', () => {
  const W = 'wamid.HBgLMTU1NTAwMDAwMDMVAgARGBI0OEFCRkU0QkFGRjg1QUE1OTkA';
  test('out of order statuses never regress; every event is kept', async () => {
    await seedOutbound(dbA, W, '15550000003', 'queued', 0);
    events.length = 0;
    await deliver(fixture('status-read.json'));
    assert.equal((await messageByWamid(dbA, W)).status, 'read');
    await deliver(fixture('status-delivered.json'));
    await deliver(fixture('status-sent.json'));
    const m = await messageByWamid(dbA, W);
    assert.equal(m.status, 'read');
    const { rows } = await dbA.query('SELECT status, pricing, applied FROM message_status_events WHERE wa_message_id = $1 ORDER BY status', [W]);
    assert.deepEqual(rows.map((r) => r.status), ['delivered', 'read', 'sent']);
    assert.ok(rows.every((r) => r.applied));
    assert.equal(rows[0].pricing.pricing_model, 'PMP');
    assert.equal(events.filter((e) => e.event === 'message.updated').length, 1);
    // Redelivery of a status: no new event.
    events.length = 0;
    await deliver(fixture('status-read.json'));
    assert.equal(inboundEvents().length, 0);
  });

  test('failed is final and keeps its error', async () => {
    const F = 'wamid.HBgLMTU1NTAwMDAwMDIVAgARGBI0QTNCRkE0Qzg0MEZEREQ2MzMA';
    await seedOutbound(dbA, F, '15550000002');
    await deliver(fixture('status-failed-with-error.json'));
    const m = await messageByWamid(dbA, F);
    assert.equal(m.status, 'failed');
    assert.equal(m.error[0].code, 131047);
    const late = Buffer.from(fixture('status-read.json').toString('latin1').split(W).join(F), 'latin1');
    await deliver(late);
    assert.equal((await messageByWamid(dbA, F)).status, 'failed');
  });

  test('a status for an unknown wamid is parked and applied when the message appears', async () => {
    const P = 'wamid.HBgLMTU1NTAwMDAwMDMVAgARGBIyMjdGN0NEQjhCODk5QkM2MEIA';
    await deliver(fixture('status-sent-free-entry-point.json'));
    const { rows: [parked] } = await dbA.query('SELECT applied, conversation FROM message_status_events WHERE wa_message_id = $1', [P]);
    assert.equal(parked.applied, false);
    assert.equal(parked.conversation.origin.type, 'referral_conversion');
    await seedOutbound(dbA, P, '15550000003', 'queued', 0);
    const { applyRecordedStatuses: applyParkedStatuses } = await import('./statuses.repo.ts');
    const moved = await applyParkedStatuses(dbA, P);
    assert.equal(moved?.status, 'sent');
    assert.equal((await messageByWamid(dbA, P)).status, 'sent');
  });

  test('template status updates change the stored template', async () => {
    await dbA.query(`INSERT INTO whatsapp_templates (wa_template_id, name, language, status) VALUES ('1500000000000001', 'order_update', 'pt_BR', 'PENDING')`);
    await deliver(fixture('message-template-status-update.json'));
    const { rows: [t] } = await dbA.query(`SELECT status FROM whatsapp_templates WHERE name = 'order_update'`);
    assert.equal(t.status, 'APPROVED');
  });
});

describe('routing and failures', () => {
  test('multi-entry body for two clients: each gets only its own entry', async () => {
    const one = JSON.parse(fixture('multi-message-batch.json').toString('utf8'));
    const other = JSON.parse(fixture('text.json', '100000000000002').toString('utf8'));
    other.entry[0].id = '200000000000002';
    other.entry[0].changes[0].value.messages[0].id = 'wamid.client-b-only';
    const body = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [one.entry[0], other.entry[0]] }));
    events.length = 0;
    await deliver(body);
    assert.ok(await messageByWamid(dbA, 'wamid.HBgLMTU1NTAwMDAwMDEVAgASGBRFNEVEOTI1NkFCQzJGMEJEM0FDRgA='));
    assert.ok(await messageByWamid(dbA, 'wamid.HBgLMTU1NTAwMDAwMDIVAgASGBQxRjQwRUNFOURFRTZDRjcxQzRCQwA='));
    assert.ok(await messageByWamid(dbB, 'wamid.client-b-only'));
    assert.equal(await messageByWamid(dbA, 'wamid.client-b-only'), undefined);
    assert.equal(await messageByWamid(dbB, 'wamid.HBgLMTU1NTAwMDAwMDEVAgASGBRFNEVEOTI1NkFCQzJGMEJEM0FDRgA='), undefined);
    const created = events.filter((e) => e.event === 'message.created');
    assert.equal(created.filter((e) => e.clientId === a.id).length, 2);
    assert.equal(created.filter((e) => e.clientId === b.id).length, 1);
    const row = (await inboxRows()).at(-1)!;
    assert.deepEqual([...row.client_ids].sort(), [a.id, b.id].sort());
  });

  test('a per-client app secret only authorises that client\'s entries', async () => {
    const body = fixture('text.json', '100000000000002');
    const forged = Buffer.from(body.toString('latin1').replace('wamid.', 'wamid.forged-'), 'latin1');
    // Client A's secret cannot sign for client B's number.
    assert.equal((await post(forged, signBody(forged, 'client-a-app-secret'))).statusCode, 401);
    // A body naming both numbers, signed by A: only A's change is applied.
    const mixed = JSON.parse(fixture('text.json').toString('utf8'));
    const bEntry = JSON.parse(forged.toString('utf8')).entry[0];
    mixed.entry[0].changes[0].value.messages[0].id = 'wamid.signed-by-a';
    mixed.entry.push(bEntry);
    const raw = Buffer.from(JSON.stringify(mixed));
    await deliver(raw, signBody(raw, 'client-a-app-secret'));
    assert.ok(await messageByWamid(dbA, 'wamid.signed-by-a'));
    const forgedId = bEntry.changes[0].value.messages[0].id;
    assert.equal(await messageByWamid(dbB, forgedId), undefined);
    const row = (await inboxRows()).at(-1)!;
    assert.match(JSON.stringify(row.unroutable), /another client/);
  });

  test('an unknown phone number is unroutable with its reason, not retried', async () => {
    await deliver(fixture('text.json', '999999999999999'));
    const row = (await inboxRows()).at(-1)!;
    assert.equal(row.state, 'unroutable');
    assert.equal(row.attempts, 1);
    assert.match(JSON.stringify(row.unroutable), /unknown phone_number_id/);
    const list = await h.app.inject({ method: 'GET', url: '/api/admin/webhooks?state=unroutable', headers: h.adminHeaders });
    assert.equal(list.statusCode, 200);
    assert.ok(list.json().webhooks.some((w: { id: string }) => w.id === row.id));
  });

  test('a failing client is retried, then dead-lettered, without blocking another client; replay applies it', async () => {
    // Break client B's tenant database for a moment: its messages table is renamed.
    await dbB.query('ALTER TABLE messages RENAME TO messages_away');
    const body = JSON.parse(fixture('text.json').toString('utf8'));
    body.entry[0].changes[0].value.messages[0].id = 'wamid.for-a-while-b-fails';
    const bBody = JSON.parse(fixture('text.json', '100000000000002').toString('utf8'));
    bBody.entry[0].changes[0].value.messages[0].id = 'wamid.b-while-broken';
    body.entry.push(bBody.entry[0]);
    const raw = Buffer.from(JSON.stringify(body));
    const res = await post(raw);
    assert.equal(res.statusCode, 200);
    const dead = await waitFor('dead row', async () => (await inboxRows()).find((r) => r.state === 'dead' && /client/.test(r.last_error ?? '')));
    assert.equal(dead.attempts, 2);
    assert.ok(await messageByWamid(dbA, 'wamid.for-a-while-b-fails'), 'client A applied despite B failing');
    // Meanwhile another delivery for A goes through.
    await dbB.query('ALTER TABLE messages_away RENAME TO messages');
    events.length = 0;
    const replay = await h.app.inject({ method: 'POST', url: `/api/admin/webhooks/${dead.id}/replay`, headers: h.adminHeaders });
    assert.equal(replay.statusCode, 200, replay.body);
    assert.equal(replay.json().previousState, 'dead');
    const { rows: audit } = await h.ctx.controlDb.query(`SELECT actor, details FROM audit_log WHERE action = 'webhook.replay'`);
    assert.ok(audit.some((r) => r.actor === 'admin' && r.details.inboxId === dead.id));
    await settle();
    assert.ok(await messageByWamid(dbB, 'wamid.b-while-broken'));
    const final = (await inboxRows()).find((r) => r.id === dead.id)!;
    assert.equal(final.state, 'done');
    // Client A's share was not applied twice (it was remembered as done).
    assert.equal(events.filter((e) => e.event === 'message.created' && e.clientId === a.id).length, 0);
    assert.equal(events.filter((e) => e.event === 'message.created' && e.clientId === b.id).length, 1);
    const again = await h.app.inject({ method: 'POST', url: '/api/admin/webhooks/999999/replay', headers: h.adminHeaders });
    assert.equal(again.statusCode, 404);
    const noAuth = await h.app.inject({ method: 'POST', url: `/api/admin/webhooks/${dead.id}/replay` });
    assert.equal(noAuth.statusCode, 401);
  });

  test('routing follows a changed phone number at once (cache dropped on secret change)', async () => {
    const body = JSON.parse(fixture('text.json', '100000000000099').toString('utf8'));
    body.entry[0].changes[0].value.messages[0].id = 'wamid.after-number-change';
    const raw = Buffer.from(JSON.stringify(body));
    await deliver(raw);
    assert.equal((await inboxRows()).at(-1)!.state, 'unroutable');
    const res = await h.app.inject({ method: 'POST', url: `/api/clients/${b.code}/secrets`, headers: h.adminHeaders, payload: { whatsappPhoneNumberId: '100000000000099' } });
    assert.equal(res.statusCode, 200);
    const replay = await h.app.inject({ method: 'POST', url: `/api/admin/webhooks/${(await inboxRows()).at(-1)!.id}/replay`, headers: h.adminHeaders });
    assert.equal(replay.statusCode, 200);
    await settle();
    assert.ok(await messageByWamid(dbB, 'wamid.after-number-change'));
    await h.app.inject({ method: 'POST', url: `/api/clients/${b.code}/secrets`, headers: h.adminHeaders, payload: { whatsappPhoneNumberId: '100000000000002' } });
  });

  test('value.errors are recorded for the client, not as messages', async () => {
    const body = JSON.parse(fixture('text.json').toString('utf8'));
    const value = body.entry[0].changes[0].value;
    delete value.messages;
    delete value.contacts;
    value.errors = [{ code: 131000, title: 'Something went wrong', message: 'Something went wrong', error_data: { details: 'x' } }];
    await deliver(Buffer.from(JSON.stringify(body)));
    const { rows } = await dbA.query('SELECT code, title FROM whatsapp_errors');
    assert.deepEqual(rows.map((r) => r.code), [131000]);
  });
});

test('the prune job deletes old applied rows and keeps recent and parked ones', async () => {
  const { rows: [old] } = await h.ctx.controlDb.query(
    `INSERT INTO whatsapp_inbox (body, state, processed_at) VALUES ('{}', 'done', now() - interval '8 days') RETURNING id::text`);
  const { rows: [deadOld] } = await h.ctx.controlDb.query(
    `INSERT INTO whatsapp_inbox (body, state, received_at) VALUES ('{}', 'dead', now() - interval '10 days') RETURNING id::text`);
  const before = (await inboxRows()).length;
  const { pruneInboxJob } = await import('./prune-inbox.job.ts');
  const result = await pruneInboxJob.handler({}, h.ctx, undefined as never, undefined as never) as { deleted: number };
  assert.equal(result.deleted, 1);
  const ids = (await inboxRows()).map((r) => r.id);
  assert.equal(ids.length, before - 1);
  assert.ok(!ids.includes(old.id) && ids.includes(deadOld.id));
});

describe('read API', () => {
  test('conversations newest first with unread counts, search and cursor pagination', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/saas/chat/conversations?limit=2', headers: a.headers });
    assert.equal(res.statusCode, 200, res.body);
    const page1 = res.json();
    assert.equal(page1.conversations.length, 2);
    assert.ok(page1.nextCursor);
    const res2 = await h.app.inject({ method: 'GET', url: `/api/saas/chat/conversations?limit=50&cursor=${page1.nextCursor}`, headers: a.headers });
    const all = [...page1.conversations, ...res2.json().conversations];
    assert.equal(new Set(all.map((c: { id: string }) => c.id)).size, all.length);
    const times = all.map((c: { lastMessageAt: string | null }) => c.lastMessageAt ?? '');
    assert.deepEqual(times, [...times].sort().reverse());
    const ana = all.find((c: { contact: { name: string } }) => c.contact.name === 'Ana Souza');
    assert.ok(ana.unreadCount > 0);
    const search = await h.app.inject({ method: 'GET', url: '/api/saas/chat/conversations?search=souza', headers: a.headers });
    assert.deepEqual(search.json().conversations.map((c: { contact: { name: string } }) => c.contact.name), ['Ana Souza']);
    const byPhone = await h.app.inject({ method: 'GET', url: '/api/saas/chat/conversations?search=%2B1%20555-000-0001', headers: a.headers });
    assert.deepEqual(byPhone.json().conversations.map((c: { contact: { name: string } }) => c.contact.name), ['Ana Souza']);
    const bad = await h.app.inject({ method: 'GET', url: '/api/saas/chat/conversations?cursor=nonsense', headers: a.headers });
    assert.equal(bad.statusCode, 400);
    const noKey = await h.app.inject({ method: 'GET', url: '/api/saas/chat/conversations' });
    assert.equal(noKey.statusCode, 401);
  });

  test('messages of a conversation with statuses, reactions and media; another client gets 404', async () => {
    const list = await h.app.inject({ method: 'GET', url: '/api/saas/chat/conversations?search=Ana', headers: a.headers });
    const conv = list.json().conversations[0];
    const page = await h.app.inject({ method: 'GET', url: `/api/saas/chat/conversations/${conv.id}/messages?limit=3`, headers: a.headers });
    assert.equal(page.statusCode, 200, page.body);
    const p1 = page.json();
    assert.equal(p1.messages.length, 3);
    const rest = await h.app.inject({ method: 'GET', url: `/api/saas/chat/conversations/${conv.id}/messages?limit=100&cursor=${p1.nextCursor}`, headers: a.headers });
    const all = [...p1.messages, ...rest.json().messages];
    assert.equal(new Set(all.map((m: { id: string }) => m.id)).size, all.length);
    const image = all.find((m: { type: string }) => m.type === 'image');
    assert.equal(image.media.id, '1000000000000101');
    const outbound = all.find((m: { direction: string }) => m.direction === 'outbound');
    assert.ok(outbound && typeof outbound.status === 'string' && typeof outbound.reactions === 'object');
    const cross = await h.app.inject({ method: 'GET', url: `/api/saas/chat/conversations/${conv.id}/messages`, headers: b.headers });
    assert.equal(cross.statusCode, 404);
    assert.equal(cross.json().error.code, 'CONVERSATION_NOT_FOUND');
    const bList = await h.app.inject({ method: 'GET', url: '/api/saas/chat/conversations', headers: b.headers });
    assert.ok(!bList.json().conversations.some((c: { id: string }) => c.id === conv.id));
    const badId = await h.app.inject({ method: 'GET', url: '/api/saas/chat/conversations/not-a-uuid/messages', headers: a.headers });
    assert.equal(badId.statusCode, 400);
  });

  test('secrets never appear in logs', () => {
    const logs = h.logs.join('\n');
    for (const secret of [APP_SECRET, 'client-a-app-secret', 'client-b-app-secret', VERIFY_TOKEN, 'client-a-verify-token']) assert.ok(!logs.includes(secret), secret);
  });
});
