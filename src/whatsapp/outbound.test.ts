/**
 * Outbound WhatsApp over HTTP against the built-in simulator (a real loopback
 * Graph server that sends real signed status webhooks back to this app).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import type { RealtimeEvent } from '../platform/events.ts';
import { simulatorFor } from '../sandbox/index.ts';
import { tenantDbById } from '../tenants/index.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;
let dbA: pg.Pool;
const events: RealtimeEvent[] = [];

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function send(client: TestClient, payload: Record<string, unknown>, headers: Record<string, string> = {}) {
  return h.app.inject({ method: 'POST', url: '/api/saas/chat/messages', headers: { ...client.headers, ...headers }, payload });
}

async function messageRow(db: pg.Pool, id: string) {
  const { rows } = await db.query<{ status: string; wa_message_id: string | null; error: Record<string, unknown> | null; send_attempts: number; media_id: string | null }>(
    'SELECT status, wa_message_id, error, send_attempts, media_id FROM messages WHERE id = $1', [id],
  );
  return rows[0];
}

function waitStatus(db: pg.Pool, id: string, statuses: string[], timeoutMs?: number) {
  return waitFor(`message ${id} to reach ${statuses.join('/')}`, async () => {
    const row = await messageRow(db, id);
    return row && statuses.includes(row.status) ? row : undefined;
  }, timeoutMs);
}

/** A customer writes in through the sandbox; resolves with their conversation id. */
async function customerWrites(client: TestClient, db: pg.Pool, from: string, text = 'hi'): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: '/api/sandbox/inbound', headers: client.headers, payload: { from, text, name: 'Ana' } });
  assert.equal(res.statusCode, 202, res.body);
  return waitFor('the inbound message to be stored', async () => {
    const { rows } = await db.query<{ id: string }>(
      `SELECT v.id FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE c.wa_id = $1 AND v.last_inbound_at IS NOT NULL`, [from],
    );
    return rows[0]?.id;
  });
}

async function outboxCount(client: TestClient, to: string): Promise<number> {
  const res = await h.app.inject({ method: 'GET', url: '/api/sandbox/outbox?limit=500', headers: client.headers });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().items as Array<{ to: string; outcome: string }>).filter((i) => i.to === to && i.outcome === 'accepted').length;
}

before(async () => {
  h = await startTestApp({
    listen: true,
    env: {
      WHATSAPP_MODE: 'auto', SANDBOX_STATUS_DELAYS_MS: '10,10,10', WHATSAPP_GRAPH_TIMEOUT_MS: '700',
      WHATSAPP_RECONCILE_DELAY_MS: '600', WHATSAPP_GRAPH_RETRY_BASE_MS: '20', WHATSAPP_PAIR_BURST: '100',
    },
  });
  const publisher = h.ctx.realtime;
  h.ctx.realtime = { publish: (e) => { events.push(e); publisher.publish(e); } };
  a = await h.createClient('Clinic A');
  b = await h.createClient('Clinic B');
  dbA = await tenantDbById(h.ctx, a.id);
  const sync = await h.app.inject({ method: 'POST', url: '/api/saas/chat/templates/sync', headers: a.headers });
  assert.equal(sync.statusCode, 200, sync.body);
});
after(() => h.close());

describe('sandbox loop', () => {
  test('a customer writes in, the agent replies, the reply moves queued → sent → delivered → read through signed status webhooks', async () => {
    const conversationId = await customerWrites(a, dbA, '15550000001', 'Olá! Vocês entregam em Campinas?');
    const res = await send(a, { conversationId, type: 'text', text: { body: 'Yes! https://example.com/delivery', previewUrl: true } });
    assert.equal(res.statusCode, 202, res.body);
    const message = res.json();
    assert.equal(message.status, 'queued');
    assert.equal(message.direction, 'outbound');
    const row = await waitStatus(dbA, message.id, ['read']);
    assert.match(row.wa_message_id!, /^wamid\./);
    const kinds = events.map((e) => ({ event: e.event, message: (e.payload as { message?: { id: string; status: string } }).message }))
      .filter((e) => e.message?.id === message.id).map((e) => `${e.event}:${e.message!.status}`);
    assert.equal(kinds[0], 'message.created:queued');
    assert.ok(kinds.includes('message.updated:sent'), kinds.join(','));
    // Webhooks are concurrent: read may be applied before delivered is recorded (precedence keeps read).
    const statuses = await waitFor('all three status webhooks', async () => {
      const { rows } = await dbA.query<{ status: string }>('SELECT status FROM message_status_events WHERE wa_message_id = $1 ORDER BY status', [row.wa_message_id]);
      return rows.length === 3 ? rows.map((r) => r.status) : undefined;
    });
    assert.deepEqual(statuses, ['delivered', 'read', 'sent']);
    assert.equal((await messageRow(dbA, message.id)).status, 'read');
    const outbox = await h.app.inject({ method: 'GET', url: '/api/sandbox/outbox', headers: a.headers });
    const sent = outbox.json().items.find((i: { waMessageId: string }) => i.waMessageId === row.wa_message_id);
    assert.deepEqual(sent.payload.text, { body: 'Yes! https://example.com/delivery', preview_url: true });
    assert.equal(sent.payload.biz_opaque_callback_data, `ecodrix:msg:${message.id}`);
  });

  test('the sandbox assigned the client a number and WABA, stored as its secrets (routing works)', async () => {
    const res = await h.app.inject({ method: 'GET', url: `/api/clients/${a.code}`, headers: h.adminHeaders });
    const secrets = res.json().secrets;
    assert.match(secrets.whatsappPhoneNumberId.hint, /^1099\d{11}$/);
    assert.ok(secrets.whatsappBusinessId);
  });

  test('sandbox routes need tenant auth and refuse bad input', async () => {
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/sandbox/inbound', payload: { from: '15550000001', text: 'x' } })).statusCode, 401);
    const bad = await h.app.inject({ method: 'POST', url: '/api/sandbox/inbound', headers: a.headers, payload: { from: '0123456', text: 'x' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /E\.164/);
  });
});

describe('24-hour window and templates', () => {
  test('free-form outside the window is refused up front with a hint to use a template', async () => {
    const res = await send(a, { to: '15550000077', type: 'text', text: { body: 'hello' } });
    assert.equal(res.statusCode, 422);
    assert.equal(res.json().error.code, 'OUTSIDE_24H_WINDOW');
    assert.match(res.json().error.message, /template/);
    const { rowCount } = await dbA.query(`SELECT 1 FROM contacts WHERE wa_id = '15550000077'`);
    assert.equal(rowCount, 0, 'a refused free-form send creates no contact');
    const template = await send(a, { to: '15550000077', type: 'template', template: { name: 'hello_world' } });
    assert.equal(template.statusCode, 202, template.body);
    await dbA.query(`UPDATE conversations SET last_inbound_at = now() - interval '25 hours' WHERE contact_id = (SELECT id FROM contacts WHERE wa_id = '15550000077')`);
    const later = await send(a, { to: '15550000077', type: 'image', image: { link: 'https://example.com/a.jpg' } });
    assert.equal(later.statusCode, 422);
    assert.match(later.json().error.message, /more than 24 hours ago/);
  });

  test('templates sync from the simulator and list with status and components', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/saas/chat/templates', headers: a.headers });
    assert.equal(res.statusCode, 200);
    const items = res.json().items as Array<{ name: string; language: string; status: string; parameterCounts: { body: number } }>;
    const confirmed = items.find((t) => t.name === 'appointment_confirmed');
    assert.equal(confirmed?.language, 'en_US');
    assert.equal(confirmed?.status, 'APPROVED');
    assert.equal(confirmed?.parameterCounts.body, 4);
    assert.ok(items.find((t) => t.name === 'appointment_reminder'));
    assert.equal(items.find((t) => t.name === 'shipping_delay')?.status, 'PAUSED');
  });

  test('a template goes out outside the window; unknown, unapproved and mismatched templates are refused', async () => {
    const ok = await send(a, { to: '+1 555 000 0101', type: 'template', template: { name: 'appointment_confirmed', variables: ['Dhanesh', 'Dr. Arjun', 'Monday 10AM', 'abc-xyz'] } });
    assert.equal(ok.statusCode, 202, ok.body);
    await waitStatus(dbA, ok.json().id, ['read']);
    const unknown = await send(a, { to: '15550000101', type: 'template', template: { name: 'nope', variables: [] } });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.message, 'Template not found');
    const wrongLanguage = await send(a, { to: '15550000101', type: 'template', template: { name: 'appointment_confirmed', language: 'pt_BR', variables: ['a', 'b', 'c', 'd'] } });
    assert.equal(wrongLanguage.statusCode, 404);
    const count = await send(a, { to: '15550000101', type: 'template', template: { name: 'appointment_reminder', variables: ['a', 'b', 'c'] } });
    assert.equal(count.statusCode, 422);
    assert.equal(count.json().error.code, 'TEMPLATE_PARAMETER_MISMATCH');
    assert.match(count.json().error.message, /expects 4 body parameter\(s\), got 3/);
    const header = await send(a, { to: '15550000101', type: 'template', template: { name: 'order_update', language: 'pt_BR', variables: ['Ana', 'R$ 1', 'hoje'], components: [{ type: 'header', parameters: [{ type: 'text', text: 'x' }] }, { type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'ORD-1' }] }] } });
    assert.equal(header.statusCode, 422);
    assert.match(header.json().error.message, /header parameter has type text; the template's header is image/);
    const headerOk = await send(a, { to: '15550000101', type: 'template', template: { name: 'order_update', language: 'pt_BR', variables: ['Ana', 'R$ 1', 'hoje'], components: [{ type: 'header', parameters: [{ type: 'image', image: { link: 'https://example.com/h.jpg' } }] }, { type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'ORD-1' }] }] } });
    assert.equal(headerOk.statusCode, 202, headerOk.body);
    await waitStatus(dbA, headerOk.json().id, ['sent', 'delivered', 'read']);
    const paused = await send(a, { to: '15550000101', type: 'template', template: { name: 'shipping_delay', variables: ['a', 'b'] } });
    assert.equal(paused.statusCode, 422);
    assert.equal(paused.json().error.code, 'TEMPLATE_NOT_APPROVED');
  });

  test('sendTemplateMessage (automations) queues once per idempotency key', async () => {
    const { sendTemplateMessage } = await import('./index.ts');
    const options = { clientId: a.id, phone: '15550000202', templateName: 'appointment_reminder', language: 'en_US', variables: ['A', 'B', 'C', 'D'], idempotencyKey: 'wf:1:run:7', actor: 'workflow:1' };
    const first = await sendTemplateMessage(h.ctx, options);
    const second = await sendTemplateMessage(h.ctx, { ...options, conversationId: 'not-ours-123' });
    assert.equal(first.messageId, second.messageId);
    assert.equal(first.status, 'queued');
    await waitStatus(dbA, first.messageId, ['read']);
    assert.equal(await outboxCount(a, '15550000202'), 1);
    await assert.rejects(sendTemplateMessage(h.ctx, { ...options, idempotencyKey: 'wf:1:run:8', templateName: 'missing' }), /Template not found/);
  });
});

describe('message types', () => {
  let conversationId: string;
  let inboundId: string;
  before(async () => {
    conversationId = await customerWrites(a, dbA, '15550000300', 'show me');
    const { rows } = await dbA.query<{ id: string }>(`SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'inbound' LIMIT 1`, [conversationId]);
    inboundId = rows[0].id;
  });

  const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF').toString('base64');
  const accepted: Array<[string, Record<string, unknown>]> = [
    ['image by link', { type: 'image', image: { link: 'https://example.com/a.jpg', caption: 'look' } }],
    ['video by link', { type: 'video', video: { link: 'https://example.com/a.mp4' } }],
    ['voice note', { type: 'audio', audio: { link: 'https://example.com/a.ogg', voice: true } }],
    ['document upload (base64)', { type: 'document', document: { data: pdf, mimeType: 'application/pdf', filename: 'quote.pdf', caption: 'Your quote' } }],
    ['sticker upload', { type: 'sticker', sticker: { data: Buffer.from('RIFF....WEBPVP8 ').toString('base64'), mimeType: 'image/webp' } }],
    ['reply buttons', { type: 'interactive', interactive: { type: 'button', body: { text: 'Pick one' }, action: { buttons: [{ type: 'reply', reply: { id: 'yes', title: 'Yes' } }, { type: 'reply', reply: { id: 'no', title: 'No' } }] } } }],
    ['list', { type: 'interactive', interactive: { type: 'list', body: { text: 'Choose a slot' }, action: { button: 'Slots', sections: [{ title: 'Monday', rows: [{ id: 'mon-10', title: '10:00', description: 'Dr. Arjun' }] }] } } }],
    ['cta_url', { type: 'interactive', interactive: { type: 'cta_url', body: { text: 'Pay here' }, action: { name: 'cta_url', parameters: { display_text: 'Pay', url: 'https://pay.example.com/1' } } } }],
    ['location', { type: 'location', location: { latitude: -23.55, longitude: -46.63, name: 'Clinic', address: 'Av. Paulista 1000' } }],
    ['contacts', { type: 'contacts', contacts: [{ name: { formatted_name: 'Dr. Arjun', first_name: 'Arjun' }, phones: [{ phone: '+15550000009', type: 'CELL' }] }] }],
  ];
  for (const [name, payload] of accepted) {
    test(`accepts ${name}`, async () => {
      const res = await send(a, { conversationId, ...payload });
      assert.equal(res.statusCode, 202, res.body);
      const row = await waitStatus(dbA, res.json().id, ['sent', 'delivered', 'read']);
      assert.match(row.wa_message_id!, /^wamid\./);
      if (name.includes('upload')) assert.match(row.media_id!, /^\d+$/);
    });
  }

  test('reply with context and a reaction reference earlier messages', async () => {
    const reply = await send(a, { conversationId, type: 'text', text: { body: 'About that…' }, context: { messageId: inboundId } });
    assert.equal(reply.statusCode, 202, reply.body);
    const sent = await waitStatus(dbA, reply.json().id, ['sent', 'delivered', 'read']);
    const reaction = await send(a, { conversationId, type: 'reaction', reaction: { messageId: inboundId, emoji: '👍' } });
    assert.equal(reaction.statusCode, 202, reaction.body);
    await waitStatus(dbA, reaction.json().id, ['sent']);
    const outbox = (await h.app.inject({ method: 'GET', url: '/api/sandbox/outbox', headers: a.headers })).json().items;
    const quoted = outbox.find((i: { waMessageId: string }) => i.waMessageId === sent.wa_message_id);
    assert.ok(quoted.payload.context.message_id.startsWith('wamid.'));
    const unknownRef = await send(a, { conversationId, type: 'reaction', reaction: { messageId: 'wamid.nope', emoji: '👍' } });
    assert.equal(unknownRef.statusCode, 404);
  });

  const refused: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['four reply buttons', { type: 'interactive', interactive: { type: 'button', body: { text: 'x' }, action: { buttons: ['a', 'b', 'c', 'd'].map((id) => ({ type: 'reply', reply: { id, title: id } })) } } }, 400, /1 to 3 buttons/],
    ['a button title over 20 characters', { type: 'interactive', interactive: { type: 'button', body: { text: 'x' }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'x'.repeat(21) } }] } } }, 400, /at most 20/],
    ['eleven list rows', { type: 'interactive', interactive: { type: 'list', body: { text: 'x' }, action: { button: 'b', sections: [{ title: 's', rows: Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, title: `r${i}` })) }] } } }, 400, /at most 10 rows/],
    ['a caption on audio', { type: 'audio', audio: { link: 'https://example.com/a.ogg', caption: 'no' } }, 400, /cannot have a caption/],
    ['an http media link', { type: 'image', image: { link: 'http://example.com/a.jpg' } }, 400, /https/],
    ['a media type WhatsApp does not take', { type: 'image', image: { data: 'aGVsbG8=', mimeType: 'image/gif' } }, 400, /not accepted by WhatsApp/],
    ['an oversized image', { type: 'image', image: { data: Buffer.alloc(5 * 1024 * 1024 + 10).toString('base64'), mimeType: 'image/jpeg' } }, 413, /at most 5\.0 MB/],
    ['an oversized sticker', { type: 'sticker', sticker: { data: Buffer.alloc(600 * 1024).toString('base64'), mimeType: 'image/webp' } }, 413, /sticker/],
    ['a type without its object', { type: 'text', image: { link: 'https://example.com/a.jpg' } }, 400, /no text object/],
    ['text over 4096 characters', { type: 'text', text: { body: 'x'.repeat(4097) } }, 400, /4096|body/],
    ['a location off the globe', { type: 'location', location: { latitude: 91, longitude: 0 } }, 400, /latitude/],
  ];
  for (const [name, payload, status, message] of refused) {
    test(`refuses ${name}`, async () => {
      const res = await send(a, { conversationId, ...payload });
      assert.equal(res.statusCode, status, res.body);
      assert.match(res.json().error.message, message);
    });
  }

  test('refuses invalid phone numbers with a clear message', async () => {
    for (const to of ['abc', '0044123456', '123', '1234567890123456']) {
      const res = await send(a, { to, type: 'template', template: { name: 'hello_world' } });
      assert.equal(res.statusCode, 400, `${to}: ${res.body}`);
      assert.match(res.json().error.message, /E\.164|phone number/);
    }
    const both = await send(a, { type: 'template', template: { name: 'hello_world' } });
    assert.equal(both.statusCode, 400);
    assert.match(both.json().error.message, /conversationId or to/);
  });
});

describe('idempotency and tenancy', () => {
  test('the same idempotency key (body or header) returns the same message and sends once', async () => {
    const body = { to: '15550000400', type: 'template', template: { name: 'hello_world' } };
    const first = await send(a, body, { 'idempotency-key': 'order-42-confirmation' });
    const second = await send(a, body, { 'idempotency-key': 'order-42-confirmation' });
    assert.equal(first.statusCode, 202);
    assert.equal(second.statusCode, 202);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(first.json().id, second.json().id);
    await waitStatus(dbA, first.json().id, ['read']);
    const third = await send(a, { ...body, idempotencyKey: 'order-42-confirmation' });
    assert.equal(third.json().id, first.json().id);
    assert.equal(await outboxCount(a, '15550000400'), 1);
  });

  test('client B cannot send into, read, or act on client A\'s conversation', async () => {
    const conversationId = await customerWrites(a, dbA, '15550000500');
    const res = await send(b, { conversationId, type: 'text', text: { body: 'sneaky' } });
    assert.equal(res.statusCode, 404);
    for (const action of ['read', 'close', 'reopen']) {
      const r = await h.app.inject({ method: 'POST', url: `/api/saas/chat/conversations/${conversationId}/${action}`, headers: b.headers });
      assert.equal(r.statusCode, 404, action);
    }
    assert.equal((await h.app.inject({ method: 'GET', url: `/api/saas/chat/conversations/${conversationId}/contact`, headers: b.headers })).statusCode, 404);
    const { rows } = await dbA.query<{ id: string }>(`SELECT id FROM messages WHERE conversation_id = $1 LIMIT 1`, [conversationId]);
    assert.equal((await h.app.inject({ method: 'POST', url: `/api/saas/chat/messages/${rows[0].id}/read`, headers: b.headers })).statusCode, 404);
    assert.equal((await send({ ...b, headers: { ...b.headers, 'x-api-key': a.apiKey } }, { conversationId, type: 'text', text: { body: 'x' } })).statusCode, 401);
  });
});

describe('conversation handling', () => {
  test('mark read, assign, close, reopen and the contact profile', async () => {
    const conversationId = await customerWrites(a, dbA, '15550000600', 'hello there');
    const url = (action: string) => `/api/saas/chat/conversations/${conversationId}/${action}`;
    const read = await h.app.inject({ method: 'POST', url: url('read'), headers: a.headers });
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.json().unreadCount, 0);
    const assign = await h.app.inject({ method: 'POST', url: url('assign'), headers: a.headers, payload: { assignedTo: 'agent@clinic.example' } });
    assert.equal(assign.json().assignedTo, 'agent@clinic.example');
    assert.equal((await h.app.inject({ method: 'POST', url: url('close'), headers: a.headers })).json().status, 'closed');
    assert.equal((await h.app.inject({ method: 'POST', url: url('reopen'), headers: a.headers })).json().status, 'open');
    const contact = await h.app.inject({ method: 'GET', url: url('contact'), headers: a.headers });
    assert.equal(contact.statusCode, 200);
    assert.equal(contact.json().waId, '15550000600');
    assert.equal(contact.json().name, 'Ana');
    const { rows } = await dbA.query<{ id: string }>(`SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'inbound'`, [conversationId]);
    const readMessage = await h.app.inject({ method: 'POST', url: `/api/saas/chat/messages/${rows[0].id}/read`, headers: a.headers });
    assert.equal(readMessage.statusCode, 200, readMessage.body);
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/saas/chat/conversations/00000000-0000-4000-8000-000000000000/close', headers: a.headers })).statusCode, 404);
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/saas/chat/conversations/not-a-uuid/close', headers: a.headers })).statusCode, 400);
  });
});

describe('bad paths from Meta', () => {
  test('131026 (not on WhatsApp) and 131047 (window closed on Meta\'s side) arrive as failed statuses', async () => {
    const undeliverable = await send(a, { to: '15559990001', type: 'template', template: { name: 'hello_world' } });
    assert.equal(undeliverable.statusCode, 202);
    const failed = await waitStatus(dbA, undeliverable.json().id, ['failed']);
    assert.equal((failed.error as unknown as Array<{ code: number }>)[0].code, 131026);
    // Our record says the customer wrote in, the simulator never saw it: Meta's side refuses (async 131047).
    const conversationId = await customerWrites(a, dbA, '15550000700');
    await h.ctx.controlDb.query(`DELETE FROM sandbox_inbound WHERE wa_id = '15550000700'`);
    const res = await send(a, { conversationId, type: 'text', text: { body: 'late' } });
    assert.equal(res.statusCode, 202);
    const late = await waitStatus(dbA, res.json().id, ['failed']);
    assert.equal((late.error as unknown as Array<{ code: number }>)[0].code, 131047);
  });

  test('130429 (throughput) is retried, then sent', async () => {
    const simulator = await simulatorFor(h.ctx);
    simulator.inject({ code: 130429, times: 2 });
    const res = await send(a, { to: '15550000800', type: 'template', template: { name: 'hello_world' } });
    const row = await waitStatus(dbA, res.json().id, ['sent', 'delivered', 'read']);
    assert.match(row.wa_message_id!, /^wamid\./);
    assert.ok(h.logs.some((l) => l.includes('retrying Graph request') && l.includes('130429')));
  });

  test('a non-retryable error fails the message with Meta\'s code and ours', async () => {
    const simulator = await simulatorFor(h.ctx);
    simulator.inject({ code: 132001 });
    const res = await send(a, { to: '15550000801', type: 'template', template: { name: 'hello_world' } });
    const row = await waitStatus(dbA, res.json().id, ['failed']);
    assert.equal(row.error!.code, 132001);
    assert.equal(row.error!.ourCode, 'TEMPLATE_NOT_FOUND');
    assert.equal(row.send_attempts, 1);
  });

  test('Meta answers too late: the send is unknown, then reconciled from its status webhook, not sent twice', async () => {
    const simulator = await simulatorFor(h.ctx);
    simulator.inject({ delayMs: 1500 });
    const res = await send(a, { to: '15550000900', type: 'template', template: { name: 'hello_world' } });
    await waitStatus(dbA, res.json().id, ['unknown']);
    const row = await waitStatus(dbA, res.json().id, ['sent', 'delivered', 'read']);
    assert.match(row.wa_message_id!, /^wamid\./);
    assert.equal(row.send_attempts, 1);
    assert.equal(await outboxCount(a, '15550000900'), 1);
    assert.ok(h.logs.some((l) => l.includes('unknown send reconciled')));
  });

  test('Meta never answers and no status arrives: sent once more after the reconcile delay', async () => {
    const simulator = await simulatorFor(h.ctx);
    simulator.inject({ hangMs: 1500 });
    const res = await send(a, { to: '15550000901', type: 'template', template: { name: 'hello_world' } });
    await waitStatus(dbA, res.json().id, ['unknown']);
    const row = await waitStatus(dbA, res.json().id, ['sent', 'delivered', 'read']);
    assert.equal(row.send_attempts, 2);
    assert.equal(await outboxCount(a, '15550000901'), 1);
  });

  test('a send job that runs before the API committed waits for the row, retries, and gives up only on its last attempt', async () => {
    const { performSend } = await import('./send-message.job.ts');
    const missing = { clientId: a.id, messageId: '00000000-0000-4000-8000-00000000abcd' };
    await assert.rejects(performSend(h.ctx, missing, false), /not committed yet/);
    assert.deepEqual(await performSend(h.ctx, missing, true), { skipped: 'missing' });
  });

  test('the daily cron fans out one keyed template sync per client and prunes old simulator records', async () => {
    const { syncTemplatesJob } = await import('./sync-templates.job.ts');
    await h.ctx.controlDb.query(`INSERT INTO sandbox_outbox (phone_number_id, payload, outcome, created_at) VALUES ('old', '{}', 'accepted', now() - interval '8 days')`);
    const result = await syncTemplatesJob.handler({}, h.ctx, undefined as never, { number: 1, isLast: true }) as { enqueued: number };
    assert.equal(result.enqueued, 2);
    const { rowCount } = await h.ctx.controlDb.query(`SELECT 1 FROM sandbox_outbox WHERE phone_number_id = 'old'`);
    assert.equal(rowCount, 0);
    const synced = await waitFor('client B\'s templates from the cron', async () => {
      const { rows } = await (await tenantDbById(h.ctx, b.id)).query('SELECT count(*)::int AS n FROM whatsapp_templates');
      return rows[0].n > 0 ? rows[0].n : undefined;
    });
    assert.ok(synced >= 2);
  });

  test('secrets never appear in logs', () => {
    assert.ok(!h.logs.some((l) => l.includes(a.apiKey) || l.includes('sandbox-token')));
  });
});
