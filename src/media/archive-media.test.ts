import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { startGraphMediaServer, type GraphMediaServer } from '../../test/support/graph-media-server.ts';
import { startS3Server, type TestS3Server } from '../../test/support/s3-server.ts';
import { tenantDbById } from '../tenants/index.ts';
import { enqueueMediaDownload, sweepPendingMedia } from './index.ts';
import { signBody } from '../whatsapp/index.ts';

const TOKEN = 'EAAtest-whatsapp-token-7f3a9c';

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function insertMediaMessage(h: TestApp, client: TestClient, input: { type: string; mediaId: string; filename?: string }): Promise<{ id: string; conversationId: string }> {
  const db = await tenantDbById(h.ctx, client.id);
  const waId = `91${Math.floor(Math.random() * 1e10)}`;
  const contact = await db.query<{ id: string }>('INSERT INTO contacts (phone, wa_id, name) VALUES ($1, $1, $2) RETURNING id', [waId, 'Media Tester']);
  const conversation = await db.query<{ id: string }>('INSERT INTO conversations (contact_id, phone_number_id) VALUES ($1, $2) RETURNING id', [contact.rows[0].id, '1000000001']);
  const message = await db.query<{ id: string }>(
    `INSERT INTO messages (conversation_id, contact_id, direction, wa_message_id, type, status, media_id, media_status, media_filename)
     VALUES ($1, $2, 'inbound', $3, $4, 'received', $5, 'pending', $6) RETURNING id`,
    [conversation.rows[0].id, contact.rows[0].id, `wamid.${randomUUID()}`, input.type, input.mediaId, input.filename ?? null],
  );
  return { id: message.rows[0].id, conversationId: conversation.rows[0].id };
}

async function mediaRow(h: TestApp, client: TestClient, messageId: string) {
  const db = await tenantDbById(h.ctx, client.id);
  const { rows } = await db.query('SELECT * FROM messages WHERE id = $1', [messageId]);
  return rows[0] as Record<string, any>;
}

async function settled(h: TestApp, client: TestClient, messageId: string) {
  return waitFor(`media of ${messageId} to settle`, async () => {
    const row = await mediaRow(h, client, messageId);
    return row.media_status !== 'pending' ? row : null;
  });
}

async function setToken(h: TestApp, client: TestClient): Promise<void> {
  const res = await h.app.inject({ method: 'POST', url: `/api/clients/${client.code}/secrets`, headers: h.adminHeaders, payload: { whatsappToken: TOKEN, whatsappPhoneNumberId: '1000000001' } });
  assert.equal(res.statusCode, 200, res.body);
}

let graph: GraphMediaServer;
let s3: TestS3Server;
let jpeg: Buffer;
before(async () => {
  graph = await startGraphMediaServer({ token: TOKEN });
  s3 = await startS3Server();
  jpeg = await sharp({ create: { width: 2400, height: 1200, channels: 3, background: { r: 200, g: 30, b: 90 } } })
    .withMetadata({ exif: { IFD0: { Copyright: 'secret-gps-ish' } } }).jpeg({ quality: 90 }).toBuffer();
});
after(async () => {
  await graph.close();
  await s3.close();
});

describe('media archiving to local disk', () => {
  let h: TestApp;
  let a: TestClient;
  let b: TestClient;
  before(async () => {
    h = await startTestApp({
      listen: true,
      env: { GRAPH_API_BASE_URL: graph.url, MEDIA_MAX_DOCUMENT_BYTES: '100000', MEDIA_CONNECT_TIMEOUT_MS: '2000', MEDIA_DOWNLOAD_TIMEOUT_MS: '10000' },
    });
    a = await h.createClient('Media Clinic A');
    b = await h.createClient('Media Clinic B');
    await setToken(h, a);
    await setToken(h, b);
  });
  after(() => h.close());

  test('an image is downloaded with the token, checked, resized, stored with its original, and dashboards are told', async () => {
    graph.media.set('img-1', { bytes: jpeg, mimeType: 'image/jpeg' });
    const message = await insertMediaMessage(h, a, { type: 'image', mediaId: 'img-1' });
    const socket: Socket = connectSocket(h.url!, { auth: { clientCode: a.code, apiKey: a.apiKey }, transports: ['websocket'], reconnection: false });
    const updates: any[] = [];
    socket.on('message.updated', (payload) => updates.push(payload));
    await new Promise<void>((resolve, reject) => { socket.on('ready', () => resolve()); socket.on('connect_error', reject); });
    try {
      await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'img-1' });
      const row = await settled(h, a, message.id);
      assert.equal(row.media_status, 'stored', row.media_error);
      assert.equal(row.media_mime_type, 'image/jpeg');
      const prefix = `clients/${a.id}/media/${message.id}/`;
      assert.match(row.media_storage_key, new RegExp(`^${prefix}[0-9a-f]{64}\\.jpg$`));
      const originalSha = createHash('sha256').update(jpeg).digest('hex');
      assert.equal(row.media_original_key, `${prefix}${originalSha}.jpg`);
      const root = path.join(h.ctx.config.dataDir, 'media');
      const stored = readFileSync(path.join(root, ...row.media_storage_key.split('/')));
      assert.equal(createHash('sha256').update(stored).digest('hex'), row.media_sha256);
      assert.equal(Number(row.media_size), stored.length);
      const meta = await sharp(stored).metadata();
      assert.equal(Math.max(meta.width!, meta.height!), 1600);
      assert.equal(meta.exif, undefined, 'metadata stripped by re-encoding');
      assert.deepEqual(readFileSync(path.join(root, ...row.media_original_key.split('/'))), jpeg);
      // The token went to the Graph metadata and download endpoints only, and always with the token.
      assert.ok(graph.requests.length >= 2 && graph.requests.every((r) => r.authorized));
      const update = await waitFor('message.updated', async () => updates.find((u) => u.messageId === message.id && u.media?.status === 'stored'));
      assert.equal(update.conversationId, message.conversationId);
      assert.equal(update.media.url, `/api/saas/media/${message.id}`);
      assert.equal(update.message.media.status, 'stored');

      // Signed access: JSON, then the file through the signed link, without any other credentials.
      const link = await fetch(`${h.url}/api/saas/media/${message.id}`, { headers: a.headers });
      assert.equal(link.status, 200);
      const body = await link.json() as any;
      assert.ok(body.url.startsWith(`${h.url}/api/saas/media/files/`), body.url);
      assert.equal(body.mimeType, 'image/jpeg');
      assert.equal(body.size, stored.length);
      assert.ok(Date.parse(body.expiresAt) > Date.now());
      const file = await fetch(body.url);
      assert.equal(file.status, 200);
      assert.equal(file.headers.get('content-type'), 'image/jpeg');
      assert.equal(file.headers.get('x-content-type-options'), 'nosniff');
      assert.deepEqual(Buffer.from(await file.arrayBuffer()), stored);
      const redirect = await h.app.inject({ method: 'GET', url: `/api/saas/media/${message.id}?redirect=1`, headers: a.headers });
      assert.equal(redirect.statusCode, 302);
      assert.match(String(redirect.headers.location), /\/api\/saas\/media\/files\//);

      // Another client's key never reaches this message's media.
      const cross = await h.app.inject({ method: 'GET', url: `/api/saas/media/${message.id}`, headers: b.headers });
      assert.equal(cross.statusCode, 404);
      assert.equal(cross.json().error.code, 'MEDIA_NOT_FOUND');
      // A tampered link is refused.
      const tampered = body.url.replace(/.$/, (c: string) => (c === 'A' ? 'B' : 'A'));
      assert.equal((await fetch(tampered)).status, 403);
    } finally {
      socket.close();
    }
    assert.ok(!h.logs.some((line) => line.includes(TOKEN)), 'the token never appears in logs');
  });

  test('a signed link stops working when it expires', async () => {
    graph.media.set('doc-exp', { bytes: Buffer.from('%PDF-1.4 expiring'), mimeType: 'application/pdf' });
    const message = await insertMediaMessage(h, a, { type: 'document', mediaId: 'doc-exp' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'doc-exp' });
    const row = await settled(h, a, message.id);
    assert.equal(row.media_status, 'stored');
    const url = `${h.url}${await h.ctx.storage.signedUrl(row.media_storage_key, 3)}`;
    assert.equal((await fetch(url)).status, 200);
    const status = await waitFor('the link to expire', async () => {
      const res = await fetch(url);
      await res.arrayBuffer();
      return res.status !== 200 ? res.status : null;
    }, 10_000);
    assert.equal(status, 403);
  });

  test('a document keeps its bytes and its filename as data only', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(5000)]);
    graph.media.set('doc-1', { bytes: pdf, mimeType: 'application/pdf' });
    const filename = '../../etc/pass"wd\u202e.pdf';
    const message = await insertMediaMessage(h, a, { type: 'document', mediaId: 'doc-1', filename });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'doc-1' });
    const row = await settled(h, a, message.id);
    assert.equal(row.media_status, 'stored');
    assert.equal(row.media_storage_key, `clients/${a.id}/media/${message.id}/${createHash('sha256').update(pdf).digest('hex')}.pdf`);
    assert.equal(row.media_original_key, null);
    const link = await (await fetch(`${h.url}/api/saas/media/${message.id}`, { headers: a.headers })).json() as any;
    assert.equal(link.filename, filename);
    const file = await fetch(link.url);
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), pdf);
    const disposition = file.headers.get('content-disposition')!;
    assert.ok(!disposition.includes('/') || disposition.startsWith('inline; filename="'), disposition);
    assert.ok(!/[\u202e"]wd/.test(disposition.split(';')[1]), disposition);
  });

  test('the same message is archived once even when enqueued twice', async () => {
    graph.media.set('doc-twice', { bytes: Buffer.from('%PDF-1.4 twice'), mimeType: 'application/pdf' });
    const message = await insertMediaMessage(h, a, { type: 'document', mediaId: 'doc-twice' });
    const before = graph.requests.filter((r) => r.path === '/v26.0/doc-twice').length;
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'doc-twice' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'doc-twice' });
    assert.equal((await settled(h, a, message.id)).media_status, 'stored');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(graph.requests.filter((r) => r.path === '/v26.0/doc-twice').length - before, 1);
  });

  test('a sha256 mismatch marks the media failed without touching the message', async () => {
    graph.media.set('bad-sha', { bytes: Buffer.from('%PDF-1.4 real'), mimeType: 'application/pdf', sha256: 'a'.repeat(64) });
    const message = await insertMediaMessage(h, a, { type: 'document', mediaId: 'bad-sha' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'bad-sha' });
    const row = await settled(h, a, message.id);
    assert.equal(row.media_status, 'failed');
    assert.match(row.media_error, /sha256 mismatch/);
    assert.equal(row.media_storage_key, null);
    assert.equal(row.status, 'received');
    const link = await h.app.inject({ method: 'GET', url: `/api/saas/media/${message.id}`, headers: a.headers });
    assert.equal(link.statusCode, 409);
    assert.equal(link.json().error.details.status, 'failed');
  });

  test('a body larger than the limit is cut off while streaming even when the metadata lies', async () => {
    graph.media.set('huge', { bytes: Buffer.alloc(150_000, 7), mimeType: 'application/pdf', fileSize: 1000 });
    const message = await insertMediaMessage(h, a, { type: 'document', mediaId: 'huge' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'huge' });
    const row = await settled(h, a, message.id);
    assert.equal(row.media_status, 'failed');
    assert.match(row.media_error, /too large/);
  });

  test('metadata announcing an oversized file fails before downloading', async () => {
    graph.media.set('huge-declared', { bytes: Buffer.alloc(200_000, 1), mimeType: 'application/pdf' });
    const message = await insertMediaMessage(h, a, { type: 'document', mediaId: 'huge-declared' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'huge-declared' });
    const row = await settled(h, a, message.id);
    assert.equal(row.media_status, 'failed');
    assert.match(row.media_error, /too large: 200000 bytes/);
    assert.equal(graph.requests.filter((r) => r.path === '/download/huge-declared').length, 0);
  });

  test('a redirect to a host outside the allowlist is refused and the token is not sent there', async () => {
    const hits: string[] = [];
    const evil = await import('node:http').then(({ createServer }) => createServer((req, res) => { hits.push(String(req.headers.authorization)); res.end('x'); }));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const port = (evil.address() as { port: number }).port;
    try {
      graph.media.set('redirected', { bytes: Buffer.from('x'), mimeType: 'application/pdf', redirectTo: `http://127.0.0.1:${port}/steal` });
      graph.media.set('elsewhere', { bytes: Buffer.from('x'), mimeType: 'application/pdf', url: `http://127.0.0.1:${port}/direct` });
      const m1 = await insertMediaMessage(h, a, { type: 'document', mediaId: 'redirected' });
      const m2 = await insertMediaMessage(h, a, { type: 'document', mediaId: 'elsewhere' });
      await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: m1.id, mediaId: 'redirected' });
      await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: m2.id, mediaId: 'elsewhere' });
      for (const m of [m1, m2]) {
        const row = await settled(h, a, m.id);
        assert.equal(row.media_status, 'failed');
        assert.match(row.media_error, /media host not allowed/);
      }
      assert.deepEqual(hits, []);
    } finally {
      evil.close();
    }
  });

  test('a type outside the allowlist is refused', async () => {
    graph.media.set('html', { bytes: Buffer.from('<script>alert(1)</script>'), mimeType: 'text/html; charset=utf-8' });
    const message = await insertMediaMessage(h, a, { type: 'document', mediaId: 'html' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'html' });
    const row = await settled(h, a, message.id);
    assert.equal(row.media_status, 'failed');
    assert.match(row.media_error, /text\/html is not accepted/);
  });

  test('transient Graph failures are retried with backoff until the media is stored', async () => {
    graph.media.set('flaky', { bytes: Buffer.from('OggS flaky voice note'), mimeType: 'audio/ogg; codecs=opus', failMetadataTimes: 2 });
    const message = await insertMediaMessage(h, a, { type: 'audio', mediaId: 'flaky' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 'flaky' });
    const row = await waitFor('flaky media stored', async () => {
      const r = await mediaRow(h, a, message.id);
      return r.media_status === 'stored' ? r : null;
    }, 45_000);
    assert.equal(row.media_mime_type, 'audio/ogg');
    assert.match(row.media_storage_key, /\.ogg$/);
  });

  test('a client without a WhatsApp token (sandbox) gets media marked unavailable at once', async () => {
    const c = await h.createClient('Sandbox Clinic');
    const message = await insertMediaMessage(h, c, { type: 'image', mediaId: 'whatever' });
    await enqueueMediaDownload(h.ctx, { clientId: c.id, messageId: message.id, mediaId: 'whatever' });
    const row = await settled(h, c, message.id);
    assert.equal(row.media_status, 'unavailable');
  });

  test('the sweep queues media left pending by a lost enqueue, and only old enough ones', async () => {
    graph.media.set('lost', { bytes: Buffer.from('%PDF-1.4 lost enqueue'), mimeType: 'application/pdf' });
    const old = await insertMediaMessage(h, a, { type: 'document', mediaId: 'lost' });
    const fresh = await insertMediaMessage(h, a, { type: 'document', mediaId: 'lost' });
    const db = await tenantDbById(h.ctx, a.id);
    await db.query(`UPDATE messages SET created_at = now() - interval '20 minutes' WHERE id = $1`, [old.id]);
    const result = await sweepPendingMedia(h.ctx);
    assert.ok(result.queued >= 1);
    assert.equal((await settled(h, a, old.id)).media_status, 'stored');
    assert.equal((await mediaRow(h, a, fresh.id)).media_status, 'pending');
  });

  test('media routes refuse bad input and missing credentials', async () => {
    assert.equal((await h.app.inject({ method: 'GET', url: `/api/saas/media/${randomUUID()}` })).statusCode, 401);
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/saas/media/not-a-uuid', headers: a.headers })).statusCode, 404);
    assert.equal((await h.app.inject({ method: 'GET', url: `/api/saas/media/${randomUUID()}`, headers: a.headers })).statusCode, 404);
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/saas/media/files/garbage.token' })).statusCode, 403);
  });
});

describe('media archiving to an S3-compatible server', () => {
  let h: TestApp;
  let a: TestClient;
  before(async () => {
    h = await startTestApp({ listen: true, env: { GRAPH_API_BASE_URL: graph.url, ...s3.env } });
    a = await h.createClient('S3 Clinic');
    await setToken(h, a);
  });
  after(() => h.close());

  test('media is stored in the bucket and served by presigned URLs that expire', async () => {
    assert.equal(h.ctx.storage.kind, 's3');
    graph.media.set('s3-img', { bytes: jpeg, mimeType: 'image/jpeg' });
    const message = await insertMediaMessage(h, a, { type: 'image', mediaId: 's3-img' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: message.id, mediaId: 's3-img' });
    const row = await settled(h, a, message.id);
    assert.equal(row.media_status, 'stored', row.media_error);
    const stored = s3.objects.get(row.media_storage_key);
    assert.ok(stored, 'processed image in the bucket');
    assert.equal(stored.contentType, 'image/jpeg');
    assert.equal(createHash('sha256').update(stored.body).digest('hex'), row.media_sha256);
    assert.deepEqual(s3.objects.get(row.media_original_key)?.body, jpeg);
    assert.ok(s3.requests.filter((r) => r.method === 'PUT').every((r) => r.authorized));

    const link = (await h.app.inject({ method: 'GET', url: `/api/saas/media/${message.id}`, headers: a.headers })).json();
    assert.ok(link.url.startsWith(`${s3.url}/${s3.bucket}/clients/${a.id}/media/`), link.url);
    assert.match(link.url, /X-Amz-Signature=[0-9a-f]{64}/);
    const file = await fetch(link.url);
    assert.equal(file.status, 200);
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), stored.body);

    const short = await h.ctx.storage.signedUrl(row.media_storage_key, 3);
    assert.equal((await fetch(short)).status, 200);
    const status = await waitFor('the presigned URL to expire', async () => {
      const res = await fetch(short);
      await res.arrayBuffer();
      return res.status !== 200 ? res.status : null;
    }, 10_000);
    assert.equal(status, 403);
    const unsigned = await fetch(`${s3.url}/${s3.bucket}/${row.media_storage_key}`);
    assert.equal(unsigned.status, 403);

    // A document travels as a stream with its length.
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(20_000)]);
    graph.media.set('s3-doc', { bytes: pdf, mimeType: 'application/pdf' });
    const doc = await insertMediaMessage(h, a, { type: 'document', mediaId: 's3-doc' });
    await enqueueMediaDownload(h.ctx, { clientId: a.id, messageId: doc.id, mediaId: 's3-doc' });
    const docRow = await settled(h, a, doc.id);
    assert.equal(docRow.media_status, 'stored', docRow.media_error);
    assert.deepEqual(s3.objects.get(docRow.media_storage_key)?.body, pdf);
    // Reading back through the storage interface.
    const object = await h.ctx.storage.get(docRow.media_storage_key);
    const chunks: Buffer[] = [];
    for await (const chunk of object!.body) chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), pdf);
    await h.ctx.storage.delete(docRow.media_storage_key);
    assert.equal(s3.objects.has(docRow.media_storage_key), false);
    assert.equal(await h.ctx.storage.get(docRow.media_storage_key), null);
    assert.ok(existsSync(h.ctx.config.dataDir) || true);
  });
});

describe('media end to end from a signed webhook', () => {
  let h: TestApp;
  const APP_SECRET = 'media-e2e-app-secret';
  before(async () => {
    h = await startTestApp({ listen: true, env: { GRAPH_API_BASE_URL: graph.url, META_APP_SECRET: APP_SECRET, WHATSAPP_INBOX_POLL_MS: '50' } });
  });
  after(() => h.close());

  test('the image fixture posted by Meta ends archived, and the dashboard hears message.created then the media update', async () => {
    const raw = readFileSync(path.join(import.meta.dirname, '../whatsapp/__fixtures__/image.json'));
    const fixture = JSON.parse(raw.toString('utf8'));
    const value = fixture.entry[0].changes[0].value;
    const image = value.messages[0].image;
    const client = await h.createClient('Webhook Media Clinic');
    const secrets = await h.app.inject({ method: 'POST', url: `/api/clients/${client.code}/secrets`, headers: h.adminHeaders, payload: { whatsappToken: TOKEN, whatsappPhoneNumberId: value.metadata.phone_number_id } });
    assert.equal(secrets.statusCode, 200, secrets.body);
    // The fixture's webhook hash (base64) belongs to bytes we do not have; the Graph metadata reports the real hex digest.
    graph.media.set(image.id, { bytes: jpeg, mimeType: image.mime_type });
    const socket: Socket = connectSocket(h.url!, { auth: { clientCode: client.code, apiKey: client.apiKey }, transports: ['websocket'], reconnection: false });
    const events: Array<{ event: string; payload: any }> = [];
    socket.onAny((event, payload) => events.push({ event, payload }));
    await new Promise<void>((resolve, reject) => { socket.on('ready', () => resolve()); socket.on('connect_error', reject); });
    try {
      const res = await fetch(`${h.url}/api/saas/whatsapp/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, APP_SECRET) }, body: raw });
      assert.equal(res.status, 200);
      const created = await waitFor('message.created', async () => events.find((e) => e.event === 'message.created'));
      const messageId = created.payload.message.id;
      assert.equal(created.payload.message.media.status, 'pending');
      const updated = await waitFor('media stored', async () => events.find((e) => e.event === 'message.updated' && e.payload.messageId === messageId && e.payload.media?.status === 'stored'));
      assert.equal(updated.payload.media.mimeType, 'image/jpeg');
      const link = await (await fetch(`${h.url}/api/saas/media/${messageId}`, { headers: client.headers })).json() as any;
      const file = await fetch(link.url);
      assert.equal(file.status, 200);
      const meta = await sharp(Buffer.from(await file.arrayBuffer())).metadata();
      assert.equal(meta.width, 1600);
    } finally {
      socket.close();
    }
  });
});
