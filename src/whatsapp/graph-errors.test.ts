/**
 * Outbound against a scripted local Graph API with a real client token (live
 * path): template paging and deletion, Meta's error fixtures (190 pauses the
 * client, 132001 is a template error, 5xx retried), the token in use.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { graphFixture, startGraphSendServer, type GraphSendServer } from '../../test/support/graph-send-server.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tenantDbById } from '../tenants/index.ts';
import { sandboxAppSecret } from './sandbox-secret.ts';
import { signBody } from './verify-signature.ts';

let h: TestApp;
let graph: GraphSendServer;
let a: TestClient;
let b: TestClient;
let dbA: pg.Pool;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function setSecrets(client: TestClient, secrets: Record<string, string>) {
  const res = await h.app.inject({ method: 'POST', url: `/api/clients/${client.code}/secrets`, headers: h.adminHeaders, payload: secrets });
  assert.equal(res.statusCode, 200, res.body);
}

function sendTemplate(client: TestClient, to: string, name = 'welcome_back', variables = ['Ana', 'BACK10']) {
  return h.app.inject({ method: 'POST', url: '/api/saas/chat/messages', headers: client.headers, payload: { to, type: 'template', template: { name, language: 'en_US', variables } } });
}

function waitStatus(id: string, statuses: string[]) {
  return waitFor(`message ${id} to reach ${statuses.join('/')}`, async () => {
    const { rows } = await dbA.query<{ status: string; wa_message_id: string | null; error: Record<string, unknown> | null; send_attempts: number }>(
      'SELECT status, wa_message_id, error, send_attempts FROM messages WHERE id = $1', [id],
    );
    return rows[0] && statuses.includes(rows[0].status) ? rows[0] : undefined;
  });
}

const sends = () => graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));

before(async () => {
  graph = await startGraphSendServer();
  h = await startTestApp({ env: { GRAPH_API_BASE_URL: graph.url, WHATSAPP_MODE: 'auto', WHATSAPP_GRAPH_RETRY_BASE_MS: '10' } });
  a = await h.createClient('Live A');
  b = await h.createClient('Live B');
  await setSecrets(a, { whatsappToken: 'token-a-first', whatsappPhoneNumberId: '100000000000001', whatsappBusinessId: '200000000000001' });
  dbA = await tenantDbById(h.ctx, a.id);
});
after(async () => {
  await h.close();
  await graph.close();
});

describe('template sync against the Graph API', () => {
  test('pages through every template (all statuses) with the client\'s token', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/saas/chat/templates/sync', headers: a.headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { synced: 6, deleted: 0, pages: 2 });
    const lists = graph.requests.filter((r) => r.path.includes('/message_templates'));
    assert.ok(lists.every((r) => r.authorization === 'Bearer token-a-first' && r.path.startsWith('/v26.0/200000000000001/')));
    const items = (await h.app.inject({ method: 'GET', url: '/api/saas/chat/templates', headers: a.headers })).json().items as Array<{ name: string; status: string; parameterCounts: Record<string, unknown> }>;
    assert.deepEqual(items.map((t) => `${t.name}:${t.status}`).sort(), ['appointment_reminder:PENDING', 'flash_sale:REJECTED', 'login_code:APPROVED', 'order_update:APPROVED', 'shipping_delay:PAUSED', 'welcome_back:APPROVED']);
    const approved = (await h.app.inject({ method: 'GET', url: '/api/saas/chat/templates?status=approved', headers: a.headers })).json().items;
    assert.equal(approved.length, 3);
  });

  test('templates Meta no longer lists are marked deleted', async () => {
    graph.onlyFirstPage = true;
    const res = await h.app.inject({ method: 'POST', url: '/api/saas/chat/templates/sync', headers: a.headers });
    graph.onlyFirstPage = false;
    assert.equal(res.json().deleted, 3);
    const live = (await h.app.inject({ method: 'GET', url: '/api/saas/chat/templates', headers: a.headers })).json().items;
    assert.equal(live.length, 3);
    const all = (await h.app.inject({ method: 'GET', url: '/api/saas/chat/templates?includeDeleted=true', headers: a.headers })).json().items;
    assert.equal(all.filter((t: { status: string }) => t.status === 'DELETED').length, 3);
    await h.app.inject({ method: 'POST', url: '/api/saas/chat/templates/sync', headers: a.headers });
  });

  test('client B sees none of A\'s templates; a client without credentials gets a clear error', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/saas/chat/templates', headers: b.headers });
    assert.deepEqual(res.json().items, []);
    await setSecrets(b, { whatsappToken: 'token-b' });
    const sync = await h.app.inject({ method: 'POST', url: '/api/saas/chat/templates/sync', headers: b.headers });
    assert.equal(sync.statusCode, 422);
    assert.match(sync.json().error.message, /whatsappPhoneNumberId|whatsappBusinessId/);
  });
});

describe('template status webhooks', () => {
  test('a message_template_status_update re-syncs the client\'s templates', async () => {
    const lists = () => graph.requests.filter((r) => r.path.includes('/message_templates')).length;
    const before = lists();
    const raw = readFileSync(path.resolve(import.meta.dirname, '__fixtures__/message-template-status-update.json'));
    const res = await h.app.inject({ method: 'POST', url: '/api/saas/whatsapp/webhook', payload: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, sandboxAppSecret(h.ctx.keyring)) } });
    assert.equal(res.statusCode, 200, res.body);
    await waitFor('a template re-sync after the status webhook', async () => lists() > before);
  });
});

describe('sending through the Graph API', () => {
  test('a named template goes out with parameter names and the client token', async () => {
    const res = await sendTemplate(a, '15550000003');
    assert.equal(res.statusCode, 202, res.body);
    const row = await waitStatus(res.json().id, ['sent']);
    assert.match(row.wa_message_id!, /^wamid\./);
    const request = sends().at(-1)!;
    assert.equal(request.authorization, 'Bearer token-a-first');
    assert.equal(request.path, '/v26.0/100000000000001/messages');
    assert.deepEqual((request.body as { template: unknown }).template, {
      name: 'welcome_back', language: { code: 'en_US' },
      components: [{ type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Ana' }, { type: 'text', parameter_name: 'code', text: 'BACK10' }] }],
    });
  });

  test('5xx is retried; 130429 is retried', async () => {
    graph.script.push({ status: 500, body: { error: { message: 'Internal', type: 'OAuthException', code: 2 } } }, { status: 400, body: graphFixture('error-130429') });
    const res = await sendTemplate(a, '15550000004');
    const row = await waitStatus(res.json().id, ['sent']);
    assert.equal(row.send_attempts, 1);
  });

  test('132001 from Meta is a template error (no retry) and refreshes the template cache', async () => {
    const listsBefore = graph.requests.filter((r) => r.path.includes('/message_templates')).length;
    graph.script.push({ status: 404, body: graphFixture('error-132001') });
    const res = await sendTemplate(a, '15550000005');
    const row = await waitStatus(res.json().id, ['failed']);
    assert.equal(row.error!.code, 132001);
    assert.equal(row.error!.ourCode, 'TEMPLATE_NOT_FOUND');
    assert.equal(row.error!.fbtraceId, 'AfakeTrace132001pR5');
    await waitFor('a template re-sync', async () => graph.requests.filter((r) => r.path.includes('/message_templates')).length > listsBefore);
  });

  test('190 marks the client as needing a token, pauses its sends, and a new token resumes them', async () => {
    graph.script.push({ status: 401, body: graphFixture('error-190') });
    const res = await sendTemplate(a, '15550000006');
    const row = await waitStatus(res.json().id, ['failed']);
    assert.equal(row.error!.ourCode, 'WHATSAPP_REAUTH_REQUIRED');
    const client = (await h.app.inject({ method: 'GET', url: `/api/clients/${a.code}`, headers: h.adminHeaders })).json();
    assert.equal(client.whatsappStatus, 'needs_token');
    assert.match(client.whatsappStatusReason, /190/);
    const before = sends().length;
    const paused = await sendTemplate(a, '15550000007');
    assert.equal(paused.statusCode, 409);
    assert.equal(paused.json().error.code, 'WHATSAPP_REAUTH_REQUIRED');
    assert.equal(sends().length, before);
    assert.ok(!JSON.stringify(paused.json()).includes('token-a-first'));
    await setSecrets(a, { whatsappToken: 'token-a-second' });
    assert.equal((await h.app.inject({ method: 'GET', url: `/api/clients/${a.code}`, headers: h.adminHeaders })).json().whatsappStatus, 'ok');
    const resumed = await sendTemplate(a, '15550000007');
    assert.equal(resumed.statusCode, 202, resumed.body);
    await waitStatus(resumed.json().id, ['sent']);
    assert.equal(sends().at(-1)!.authorization, 'Bearer token-a-second');
  });

  test('the sandbox routes refuse a client connected to WhatsApp', async () => {
    const outbox = await h.app.inject({ method: 'GET', url: '/api/sandbox/outbox', headers: a.headers });
    assert.equal(outbox.statusCode, 409);
    assert.equal(outbox.json().error.code, 'SANDBOX_DISABLED');
    const inbound = await h.app.inject({ method: 'POST', url: '/api/sandbox/inbound', headers: a.headers, payload: { from: '15550000001', text: 'hi' } });
    assert.equal(inbound.statusCode, 409);
  });

  test('tokens never appear in logs', () => {
    assert.ok(!h.logs.some((l) => l.includes('token-a-first') || l.includes('token-a-second')));
  });
});
