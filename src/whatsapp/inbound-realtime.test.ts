/** Signed webhook → tenant rows → events on a real socket.io-client, never on another client's socket. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { signBody } from './verify-signature.ts';

const FIXTURES = path.resolve(import.meta.dirname, '__fixtures__');
const SECRET = 'realtime-test-app-secret';
let h: TestApp;
let a: TestClient;
let b: TestClient;
const sockets: Socket[] = [];

async function connect(client: TestClient): Promise<{ socket: Socket; events: Array<{ event: string; payload: any }> }> {
  const socket = io(h.url!, { auth: { clientCode: client.code, apiKey: client.apiKey }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  const events: Array<{ event: string; payload: any }> = [];
  socket.onAny((event: string, payload: unknown) => events.push({ event, payload }));
  await new Promise<void>((resolve, reject) => {
    socket.once('ready', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, events };
}

async function waitFor(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  h = await startTestApp({ listen: true, env: { META_APP_SECRET: SECRET } });
  a = await h.createClient('Realtime A');
  b = await h.createClient('Realtime B');
  for (const [client, phone] of [[a, '100000000000001'], [b, '100000000000002']] as const) {
    const res = await h.app.inject({ method: 'POST', url: `/api/clients/${client.code}/secrets`, headers: h.adminHeaders, payload: { whatsappPhoneNumberId: phone } });
    assert.equal(res.statusCode, 200);
  }
});
after(async () => {
  for (const s of sockets) s.close();
  await h.close();
});

test('a customer message reaches client A\'s dashboards once, and never client B\'s', async () => {
  const sa = await connect(a);
  const sb = await connect(b);
  const raw = readFileSync(path.join(FIXTURES, 'text.json'));
  const post = () => fetch(`${h.url}/api/saas/whatsapp/webhook`, {
    method: 'POST', body: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, SECRET) },
  });
  assert.equal((await post()).status, 200);
  await waitFor('message.created on A', () => sa.events.some((e) => e.event === 'message.created'));
  await waitFor('lead.created on A', () => sa.events.some((e) => e.event === 'lead.created'));
  const created = sa.events.find((e) => e.event === 'message.created')!.payload;
  assert.equal(created.message.text, 'Olá! Vocês entregam em Campinas? Preciso do pedido até sexta.');
  assert.ok(sa.events.some((e) => e.event === 'conversation.updated' && e.payload.conversation.id === created.conversationId));

  // A redelivery publishes nothing.
  const before = sa.events.length;
  assert.equal((await post()).status, 200);
  // Wait until the redelivery's inbox row is applied (events are published before a row is marked done).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await h.ctx.controlDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM whatsapp_inbox WHERE state = 'done'`);
    if (rows[0].n >= 2) break;
    if (Date.now() > deadline) throw new Error('redelivery not processed');
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 100)); // socket frames already sent are still in flight on loopback
  assert.equal(sa.events.filter((e) => e.event === 'message.created').length, 1);
  assert.ok(sa.events.slice(before).every((e) => !['message.created', 'conversation.updated', 'lead.created'].includes(e.event)));
  assert.ok(sb.events.every((e) => !['message.created', 'conversation.updated', 'lead.created', 'message.updated'].includes(e.event)), JSON.stringify(sb.events));
});
