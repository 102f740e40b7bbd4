import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { boot } from '../boot.ts';
import { parseConfig } from '../config.ts';
import { withDatabase } from '../platform/db/pool.ts';
import { loggerOptions } from '../platform/logger.ts';
import { startRoles, type RunningServer, type Role } from '../server.ts';
import { startTestApp, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY, type TestApp, type TestClient } from '../../test/harness.ts';
import { startGraphMediaServer } from '../../test/support/graph-media-server.ts';
import { enqueueMediaDownload } from '../media/index.ts';
import { tenantDbById } from '../tenants/index.ts';
import { createRealtimeToken } from './realtime-token.ts';

async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Connected { socket: Socket; events: Array<{ event: string; payload: any }> }

function connect(url: string, auth: Record<string, unknown>): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const socket = connectSocket(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    const events: Connected['events'] = [];
    socket.onAny((event, payload) => events.push({ event, payload }));
    socket.on('ready', () => resolve({ socket, events }));
    socket.on('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

async function connectError(url: string, auth: Record<string, unknown>): Promise<{ message: string; data?: any }> {
  try {
    const { socket } = await connect(url, auth);
    socket.close();
  } catch (err) {
    return err as { message: string; data?: any };
  }
  throw new Error('connection unexpectedly succeeded');
}

async function insertConversation(h: TestApp, client: TestClient): Promise<string> {
  const db = await tenantDbById(h.ctx, client.id);
  const waId = `44${Math.floor(Math.random() * 1e10)}`;
  const contact = await db.query<{ id: string }>('INSERT INTO contacts (phone, wa_id) VALUES ($1, $1) RETURNING id', [waId]);
  const conversation = await db.query<{ id: string }>('INSERT INTO conversations (contact_id) VALUES ($1) RETURNING id', [contact.rows[0].id]);
  return conversation.rows[0].id;
}

/** Boots another instance of the app on the same control database (another "process"). */
async function startPeer(h: TestApp, roles: Role[], env: Record<string, string> = {}): Promise<RunningServer & { ctx: Awaited<ReturnType<typeof boot>>['ctx'] }> {
  const config = parseConfig({
    NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), h.database),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`,
    BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY,
    TENANT_AUTO_PROVISION: 'true',
    LOG_LEVEL: 'warn',
    DATA_DIR: h.ctx.config.dataDir,
    JOB_BACKOFF_SECONDS: '1',
    ...env,
  });
  const logger = pino(loggerOptions(config.logLevel), new Writable({ write: (_c, _e, cb) => cb() }));
  const booted = await boot({ config, logger });
  const server = await startRoles(booted, roles, { port: 0, host: '127.0.0.1' });
  return Object.assign(server, { ctx: booted.ctx });
}

describe('realtime gateway', () => {
  let h: TestApp;
  let a: TestClient;
  let b: TestClient;
  before(async () => {
    h = await startTestApp({ listen: true });
    a = await h.createClient('Realtime A');
    b = await h.createClient('Realtime B');
  });
  after(() => h.close());

  test('a dashboard authenticates with client code and API key', async () => {
    const { socket, events } = await connect(h.url!, { clientCode: a.code, apiKey: a.apiKey });
    assert.deepEqual(events[0], { event: 'ready', payload: { clientCode: a.code } });
    socket.close();
  });

  test('a dashboard authenticates with a short-lived token from POST /api/saas/realtime/token', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/saas/realtime/token', headers: a.headers });
    assert.equal(res.statusCode, 200, res.body);
    const { token, expiresAt } = res.json();
    const ttl = Date.parse(expiresAt) - Date.now();
    assert.ok(ttl > 250_000 && ttl <= 300_000, `ttl ${ttl}`);
    assert.ok(!token.includes(a.apiKey));
    const { socket } = await connect(h.url!, { token });
    socket.close();
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/saas/realtime/token' })).statusCode, 401);
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/saas/realtime/token', headers: { ...a.headers, 'x-api-key': b.apiKey } })).statusCode, 401);
  });

  test('bad credentials are refused with one answer', async () => {
    const cases: Array<Record<string, unknown>> = [
      {},
      { clientCode: a.code, apiKey: b.apiKey },
      { clientCode: a.code, apiKey: 'ecx_live_wrong' },
      { clientCode: 'NOPE_NOT_A_CLIENT', apiKey: a.apiKey },
      { token: 'garbage' },
      { token: createRealtimeToken(h.ctx.keyring, { clientId: a.id, apiKeyHash: 'x', expiresAt: new Date(Date.now() + 60_000) }) },
      { clientCode: a.code },
    ];
    for (const auth of cases) {
      const err = await connectError(h.url!, auth);
      assert.equal(err.message, 'Invalid credentials', JSON.stringify(auth));
      assert.equal(err.data?.code, 'UNAUTHORIZED');
    }
  });

  test('an expired token and a token issued before the API key was rotated are refused', async () => {
    const row = (await h.ctx.controlDb.query<{ api_key_hash: string }>('SELECT api_key_hash FROM clients WHERE id = $1', [a.id])).rows[0];
    const expired = createRealtimeToken(h.ctx.keyring, { clientId: a.id, apiKeyHash: row.api_key_hash, expiresAt: new Date(Date.now() - 1000) });
    assert.equal((await connectError(h.url!, { token: expired })).data?.code, 'UNAUTHORIZED');

    const c = await h.createClient('Realtime Rotating');
    const { token } = (await h.app.inject({ method: 'POST', url: '/api/saas/realtime/token', headers: c.headers })).json();
    const rotate = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/rotate-key`, headers: h.adminHeaders });
    assert.equal(rotate.statusCode, 200, rotate.body);
    assert.equal((await connectError(h.url!, { token })).data?.code, 'UNAUTHORIZED');
  });

  test('a browser origin that is not one of the client\'s CORS origins is refused', async () => {
    const socket = connectSocket(h.url!, { auth: { clientCode: a.code, apiKey: a.apiKey }, transports: ['polling'], reconnection: false, forceNew: true, extraHeaders: { origin: 'https://evil.example' } });
    const err = await new Promise<any>((resolve) => socket.on('connect_error', resolve));
    socket.close();
    assert.equal(err.data?.code, 'CORS_ORIGIN_NOT_ALLOWED');

    const added = await h.app.inject({ method: 'POST', url: '/api/saas/cors', headers: a.headers, payload: { url: 'https://dashboard.clinic-a.example' } });
    assert.equal(added.statusCode, 201, added.body);
    const allowed = connectSocket(h.url!, { auth: { clientCode: a.code, apiKey: a.apiKey }, transports: ['polling'], reconnection: false, forceNew: true, extraHeaders: { origin: 'https://dashboard.clinic-a.example' } });
    await new Promise<void>((resolve, reject) => { allowed.on('ready', () => resolve()); allowed.on('connect_error', reject); });
    allowed.close();
  });

  test('a connection that does not authenticate within 1 s is closed', async () => {
    const ws = new WebSocket(`${h.url!.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const opened = Date.now();
    const frames: string[] = [];
    ws.addEventListener('message', (e) => frames.push(String(e.data)));
    const closedAt = await new Promise<number>((resolve) => ws.addEventListener('close', () => resolve(Date.now())));
    assert.ok(frames[0]?.startsWith('0{'), 'engine.io open packet');
    const elapsed = closedAt - opened;
    assert.ok(elapsed >= 900 && elapsed < 5000, `closed after ${elapsed} ms`);
  });

  test('client A\'s socket never receives client B\'s events, and rooms follow conversations', async () => {
    const sa = await connect(h.url!, { clientCode: a.code, apiKey: a.apiKey });
    const sb = await connect(h.url!, { clientCode: b.code, apiKey: b.apiKey });
    try {
      const convA = await insertConversation(h, a);
      const convB = await insertConversation(h, b);
      assert.deepEqual(await sa.socket.emitWithAck('conversation.join', convA), { ok: true });
      assert.deepEqual(await sa.socket.emitWithAck('conversation.join', convB), { ok: false, error: 'NOT_FOUND' });
      assert.deepEqual(await sa.socket.emitWithAck('conversation.join', 'not-a-uuid'), { ok: false, error: 'NOT_FOUND' });
      assert.deepEqual(await sb.socket.emitWithAck('conversation.join', convB), { ok: true });

      for (let i = 0; i < 5; i++) {
        h.ctx.realtime.publish({ clientId: a.id, event: 'message.created', payload: { n: i, owner: 'a' }, conversationId: convA });
        h.ctx.realtime.publish({ clientId: b.id, event: 'message.created', payload: { n: i, owner: 'b' }, conversationId: convB });
      }
      h.ctx.realtime.publish({ clientId: b.id, event: 'lead.created', payload: { owner: 'b' } });
      await waitFor('all events', () => sa.events.filter((e) => e.event === 'message.created').length === 5 && sb.events.filter((e) => e.event !== 'ready').length === 6);
      await new Promise((r) => setTimeout(r, 200));
      const ofA = sa.events.filter((e) => e.event !== 'ready');
      const ofB = sb.events.filter((e) => e.event !== 'ready');
      assert.deepEqual(ofA.map((e) => e.payload.n), [0, 1, 2, 3, 4], 'once each, in order (client + conversation rooms deduplicated)');
      assert.ok(ofA.every((e) => e.payload.owner === 'a'));
      assert.ok(ofB.every((e) => e.payload.owner === 'b'));
    } finally {
      sa.socket.close();
      sb.socket.close();
    }
  });
});

describe('realtime across processes', () => {
  let h: TestApp;
  let a: TestClient;
  const peers: RunningServer[] = [];
  before(async () => {
    h = await startTestApp({ listen: true, roles: ['api'] });
    a = await h.createClient('Realtime Multi');
  });
  after(async () => {
    for (const peer of peers) await peer.stop();
    await h.close();
  });

  test('events published by a worker-only process reach dashboards on the API process, large ones too', async () => {
    const worker = await startPeer(h, ['worker']);
    peers.push(worker);
    assert.equal(worker.app, undefined);
    const s = await connect(h.url!, { clientCode: a.code, apiKey: a.apiKey });
    try {
      worker.ctx.realtime.publish({ clientId: a.id, event: 'lead.created', payload: { id: 'small' } });
      const big = 'x'.repeat(20_000);
      worker.ctx.realtime.publish({ clientId: a.id, event: 'message.created', payload: { id: 'big', text: big } });
      worker.ctx.realtime.publish({ clientId: a.id, event: 'lead.updated', payload: { id: 'after-big' } });
      await waitFor('three events', () => s.events.length >= 4);
      assert.deepEqual(s.events.slice(1).map((e) => e.payload.id), ['small', 'big', 'after-big'], 'in publication order');
      assert.equal(s.events[2].payload.text, big);
    } finally {
      s.socket.close();
    }
  });

  test('a media job run by the worker-only process notifies the dashboard on the API process', async () => {
    const token = 'EAAworker-token-123';
    const graph = await startGraphMediaServer({ token });
    const worker = await startPeer(h, ['worker'], { GRAPH_API_BASE_URL: graph.url });
    peers.push(worker);
    const s = await connect(h.url!, { clientCode: a.code, apiKey: a.apiKey });
    try {
      await h.app.inject({ method: 'POST', url: `/api/clients/${a.code}/secrets`, headers: h.adminHeaders, payload: { whatsappToken: token } });
      graph.media.set('m1', { bytes: Buffer.from('%PDF-1.4 cross-process'), mimeType: 'application/pdf' });
      const db = await tenantDbById(h.ctx, a.id);
      const conversationId = await insertConversation(h, a);
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO messages (conversation_id, contact_id, direction, type, status, media_id, media_status)
         SELECT id, contact_id, 'inbound', 'document', 'received', 'm1', 'pending' FROM conversations WHERE id = $1 RETURNING id`, [conversationId]);
      await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: rows[0].id, mediaId: 'm1' });
      const update = await waitFor('message.updated from the worker', () => s.events.find((e) => e.event === 'message.updated' && e.payload.messageId === rows[0].id), 30_000);
      assert.equal(update.payload.media.status, 'stored');
      const link = await fetch(`${h.url}/api/saas/media/${rows[0].id}`, { headers: a.headers });
      assert.equal(link.status, 200);
      const file = await fetch(((await link.json()) as { url: string }).url);
      assert.equal(await file.text(), '%PDF-1.4 cross-process');
    } finally {
      s.socket.close();
      await graph.close();
    }
  });

  test('with the postgres adapter an event published on one API instance reaches sockets on another', async () => {
    assert.equal(h.ctx.config.realtime.adapter, 'auto');
    const api2 = await startPeer(h, ['api']);
    peers.push(api2);
    const s1 = await connect(h.url!, { clientCode: a.code, apiKey: a.apiKey });
    const s2 = await connect(api2.url!, { clientCode: a.code, apiKey: a.apiKey });
    try {
      // The adapter discovers peers by heartbeat; publish until the far socket hears it.
      let n = 0;
      await waitFor('cross-instance delivery', () => {
        api2.ctx.realtime.publish({ clientId: a.id, event: 'conversation.updated', payload: { n: n++ } });
        return s1.events.some((e) => e.event === 'conversation.updated');
      });
      const big = 'y'.repeat(12_000);
      h.ctx.realtime.publish({ clientId: a.id, event: 'message.created', payload: { big } });
      await waitFor('large cross-instance event', () => s2.events.some((e) => e.event === 'message.created' && e.payload.big === big));
    } finally {
      s1.socket.close();
      s2.socket.close();
    }
  });
});

describe('realtime with the in-memory adapter', () => {
  let h: TestApp;
  before(async () => {
    h = await startTestApp({ listen: true, env: { REALTIME_ADAPTER: 'memory' } });
  });
  after(() => h.close());

  test('events are delivered to the client room', async () => {
    const a = await h.createClient('Memory A');
    const s = await connect(h.url!, { clientCode: a.code, apiKey: a.apiKey });
    try {
      h.ctx.realtime.publish({ clientId: a.id, event: 'lead.updated', payload: { id: 'lead-1' } });
      const got = await waitFor('lead.updated', () => s.events.find((e) => e.event === 'lead.updated'));
      assert.deepEqual(got.payload, { id: 'lead-1' });
    } finally {
      s.socket.close();
    }
  });
});
