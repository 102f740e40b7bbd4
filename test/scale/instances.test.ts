/**
 * Two server processes against the same control database: webhooks delivered
 * to either (and redelivered to both) are stored once, and a dashboard
 * connected to instance B receives every event for messages that arrived
 * through instance A. Then A restarts gracefully under load with nothing lost.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect, type Socket } from 'socket.io-client';
import { createPool, withDatabase } from '../../src/platform/db/pool.ts';
import { createTestDatabase, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY } from '../harness.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

const APP_SECRET = 'instances-test-meta-app-secret';
const PHONE_NUMBER_ID = '100000000000777';
const fixture = JSON.parse(readFileSync(new URL('../../src/whatsapp/__fixtures__/text.json', import.meta.url), 'utf8'));

let dir: string;
let database: string;
let a: ServerProcess | undefined;
let b: ServerProcess | undefined;
let socket: Socket | undefined;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ecodrix-instances-'));
  database = await createTestDatabase('inst');
  env = {
    NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), database),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`,
    BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY,
    META_APP_SECRET: APP_SECRET,
    WHATSAPP_MODE: 'live',
    TENANT_AUTO_PROVISION: 'true',
    REALTIME_ADAPTER: 'postgres',
    DATA_DIR: path.join(dir, 'data'),
  };
  [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
});
after(async () => {
  socket?.disconnect();
  await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
  rmSync(dir, { recursive: true, force: true });
});

function signedBody(id: string, from: string, text: string): { raw: string; signature: string } {
  const payload = structuredClone(fixture);
  const value = payload.entry[0].changes[0].value;
  value.metadata.phone_number_id = PHONE_NUMBER_ID;
  value.contacts = [{ profile: { name: `Customer ${from}` }, wa_id: from }];
  value.messages = [{ ...value.messages[0], from, id, text: { body: text } }];
  delete value.messages[0].from_user_id;
  const raw = JSON.stringify(payload);
  return { raw, signature: `sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}` };
}

async function deliverUntilAcked(url: () => string, id: string, from: string, text: string): Promise<void> {
  const { raw, signature } = signedBody(id, from, text);
  for (let attempt = 0; attempt < 1000; attempt++) {
    try {
      const res = await fetch(`${url()}/api/saas/whatsapp/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body: raw, signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
  throw new Error(`${id} never acknowledged`);
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('webhooks through either instance are stored once and reach a dashboard on the other instance', { timeout: 180_000 }, async () => {
  const admin = { 'x-core-api-key': TEST_ADMIN_TOKEN, 'content-type': 'application/json' };
  const created = await (await fetch(`${a!.url}/api/clients`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Two Instances Clinic', email: 'two@example.com' }) })).json() as { id: string; clientCode: string; apiKey: string };
  assert.equal((await fetch(`${b!.url}/api/clients/${created.clientCode}/secrets`, { method: 'POST', headers: admin, body: JSON.stringify({ whatsappPhoneNumberId: PHONE_NUMBER_ID }) })).status, 200);

  const seen = new Map<string, number>();
  socket = connect(b!.url, { auth: { clientCode: created.clientCode, apiKey: created.apiKey }, transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket!.once('connect', () => resolve());
    socket!.once('connect_error', reject);
  });
  socket.on('message.created', (payload: any) => {
    const wamid = payload?.waMessageId ?? payload?.message?.waMessageId ?? payload?.wa_message_id;
    seen.set(String(wamid), (seen.get(String(wamid)) ?? 0) + 1);
  });

  const N = 40;
  await Promise.all(Array.from({ length: N }, (_, i) => {
    const target = i % 2 === 0 ? a! : b!;
    return deliverUntilAcked(() => target.url, `wamid.instances-${i}`, `1555200${String(i % 5).padStart(4, '0')}`, `hello ${i}`);
  }));
  // Meta redelivers to every subscriber: the first ten again, through the other instance.
  await Promise.all(Array.from({ length: 10 }, (_, i) => {
    const target = i % 2 === 0 ? b! : a!;
    return deliverUntilAcked(() => target.url, `wamid.instances-${i}`, `1555200${String(i % 5).padStart(4, '0')}`, `hello ${i}`);
  }));

  const tenant = createPool({ connectionString: withDatabase(testServerUrl(), `${database}_tenant_${created.id}`), max: 1, connectTimeoutMs: 5000, searchPath: 'ecodrix' });
  try {
    const count = async () => (await tenant.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE wa_message_id LIKE 'wamid.instances-%'").catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n;
    await waitFor(async () => (await count()) >= N, `${N} messages stored`);
    await waitFor(() => seen.size >= N, `${N} message.created events on instance B (got ${seen.size})`);
    assert.equal(await count(), N, 'each message stored once');
    assert.ok([...seen.values()].every((n) => n === 1), 'each event delivered once');

    // A restarts gracefully (SIGTERM) while webhooks keep arriving for it; nothing is lost.
    const port = a!.port;
    let next = N;
    const sending = Promise.all(Array.from({ length: 4 }, async () => {
      while (next < N + 40) {
        const i = next++;
        await deliverUntilAcked(() => `http://127.0.0.1:${port}`, `wamid.instances-${i}`, '15552009999', `during restart ${i}`);
      }
    }));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await a!.stop('SIGTERM'), 0, 'graceful exit');
    a = await startServerProcess(env, { port });
    await sending;
    await waitFor(async () => (await count()) >= N + 40, 'messages sent during the restart stored');
    assert.equal(await count(), N + 40);
  } finally {
    await tenant.end();
  }
});
