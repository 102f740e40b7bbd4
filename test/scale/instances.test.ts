/**
 * Two server processes against the same control database: webhooks delivered
 * to either (and redelivered to both) are stored once, and a dashboard
 * connected to instance B receives every event for messages that arrived
 * through instance A. Then A restarts gracefully under a stream of webhooks and
 * trigger calls, and every acknowledged one is processed exactly once.
 * Each cron slot runs once across both instances; failed authentications
 * counted on one instance are refused on the other.
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
import { startReceiver, type Receiver } from '../../src/workflows/test-support/receiver.ts';

const APP_SECRET = 'instances-test-meta-app-secret';
const PHONE_NUMBER_ID = '100000000000777';
const fixture = JSON.parse(readFileSync(new URL('../../src/whatsapp/__fixtures__/text.json', import.meta.url), 'utf8'));

let dir: string;
let database: string;
let a: ServerProcess | undefined;
let b: ServerProcess | undefined;
let socket: Socket | undefined;
let env: Record<string, string>;
let rx: Receiver | undefined;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ecodrix-instances-'));
  database = await createTestDatabase('inst');
  rx = await startReceiver();
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
    SSRF_ALLOW_HOSTS: '127.0.0.1',
    // Cron passes every 2 s instead of 30 s: slots are seen sooner and the instances race harder.
    JOB_CRON_PASS_SECONDS: '2',
  };
  [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
});
after(async () => {
  socket?.disconnect();
  await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
  await rx?.close();
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

/** Fires a trigger (retried, like a caller whose request failed, under the same idempotency key) until accepted. */
async function triggerUntilAcked(url: () => string, headers: Record<string, string>, i: number): Promise<void> {
  const body = JSON.stringify({ trigger: 'product_purchased', phone: '15552008888', variables: [`restart-${i}`], idempotencyKey: `restart-${i}` });
  for (let attempt = 0; attempt < 1000; attempt++) {
    try {
      const res = await fetch(`${url()}/api/saas/workflows/trigger`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 202) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
  throw new Error(`trigger ${i} never accepted`);
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
  const tenantHeaders = { 'x-api-key': created.apiKey, 'x-client-code': created.clientCode };
  // An automation whose webhook action reaches the loopback receiver: one POST per processed trigger.
  const automation = await fetch(`${b!.url}/api/crm/automations`, {
    method: 'POST', headers: { ...tenantHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Order hook', trigger: 'product_purchased', triggerConfig: {}, actions: [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx!.url}/order` } }] }),
  });
  assert.equal(automation.status, 201, await automation.text());

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

    // A restarts gracefully (SIGTERM) while webhooks keep arriving for it and trigger calls keep
    // arriving for both (workflow jobs run on both workers); every acknowledged item is processed once.
    const port = a!.port;
    const urlOfA = () => `http://127.0.0.1:${port}`;
    let next = N;
    const TRIGGERS = 30;
    let nextTrigger = 0;
    const sending = Promise.all([
      ...Array.from({ length: 4 }, async () => {
        while (next < N + 40) {
          const i = next++;
          await deliverUntilAcked(urlOfA, `wamid.instances-${i}`, '15552009999', `during restart ${i}`);
        }
      }),
      ...Array.from({ length: 2 }, async () => {
        while (nextTrigger < TRIGGERS) {
          const i = nextTrigger++;
          await triggerUntilAcked(i % 2 === 0 ? urlOfA : () => b!.url, tenantHeaders, i);
        }
      }),
    ]);
    await waitFor(() => next > N + 2 && nextTrigger > 2, 'the stream under way');
    assert.equal(await a!.stop('SIGTERM'), 0, 'graceful exit');
    a = await startServerProcess(env, { port });
    await sending;
    await waitFor(async () => (await count()) >= N + 40, 'messages sent during the restart stored');
    assert.equal(await count(), N + 40);
    const jobs = async () => (await tenant.query<{ status: string; n: number }>(
      "SELECT status, count(*)::int AS n FROM workflow_jobs WHERE variables->>0 LIKE 'restart-%' GROUP BY status")).rows;
    await waitFor(async () => (await jobs()).some((r) => r.status === 'completed' && r.n >= TRIGGERS), `${TRIGGERS} triggered workflow jobs completed`, 60_000);
    assert.deepEqual(await jobs(), [{ status: 'completed', n: TRIGGERS }], 'one job per accepted trigger, all completed');
    const delivered = new Map<string, number>();
    for (const request of rx!.requests) {
      const tag = (JSON.parse(request.body) as { variables: string[] }).variables[0];
      delivered.set(tag, (delivered.get(tag) ?? 0) + 1);
    }
    assert.equal(delivered.size, TRIGGERS, 'every accepted trigger reached the receiver');
    assert.deepEqual([...delivered].filter(([, n]) => n !== 1), [], 'each exactly once');
  } finally {
    await tenant.end();
  }
});

test('each cron slot runs once across the instances', { timeout: 120_000 + Number(process.env.CRON_TEST_SLOTS ?? 2) * 60_000 }, async () => {
  // Both processes run the cron role (and A restarted above, so its start-up cron pass raced B's).
  // pg-boss files one job per schedule per 60-second slot (its finest resolution): a pass inserts a
  // `__pgboss__send-it` job singleton-keyed by (schedule, slot), which is forwarded as the real job.
  // Over consecutive slots of the every-minute schedules (CRON_TEST_SLOTS, 2 by default: the start-up
  // slot both instances raced for, and at least one minute boundary passed with both running; more
  // slots cost a minute each), each slot must have exactly one send-it row, and each queue exactly one
  // job per slot.
  const control = createPool({ connectionString: withDatabase(testServerUrl(), database), max: 1, connectTimeoutMs: 5000 });
  try {
    const everyMinute = (await control.query<{ name: string }>("SELECT name FROM pgboss.schedule WHERE cron = '* * * * *' ORDER BY name")).rows.map((r) => r.name);
    assert.ok(everyMinute.length >= 2, `every-minute schedules registered (${everyMinute.join(', ')})`);
    // One statement, so the filed slots and the forwarded jobs are read from the same snapshot.
    let rows: Array<{ name: string; slot: string; n: number }> = [];
    let perQueue = new Map<string, number>();
    const read = async () => {
      const { rows: [row] } = await control.query<{ slots: typeof rows; queues: Array<{ name: string; n: number }> }>(
        `SELECT
           (SELECT coalesce(json_agg(s ORDER BY s.slot), '[]') FROM (
              SELECT data->>'name' AS name, data->>'slot' AS slot, count(*)::int AS n FROM pgboss.job
              WHERE name = '__pgboss__send-it' AND data->>'name' = ANY($1) GROUP BY 1, 2) s) AS slots,
           (SELECT coalesce(json_agg(q), '[]') FROM (
              SELECT name, count(*)::int AS n FROM pgboss.job WHERE name = ANY($1) GROUP BY name) q) AS queues`, [everyMinute]);
      rows = row.slots;
      perQueue = new Map(row.queues.map((q) => [q.name, q.n]));
    };
    const SLOTS = Number(process.env.CRON_TEST_SLOTS ?? 2);
    await waitFor(async () => {
      await read();
      return everyMinute.every((name) => rows.filter((r) => r.name === name).length >= SLOTS);
    }, `${SLOTS} cron slots of every every-minute schedule`, (SLOTS + 1) * 60_000);
    // Forwarding (send-it → queue) runs on a worker poll: wait until every filed slot has its job.
    await waitFor(async () => {
      await read();
      return everyMinute.every((name) => (perQueue.get(name) ?? 0) >= rows.filter((r) => r.name === name).length);
    }, 'every filed slot forwarded to its queue', 60_000);
    for (const name of everyMinute) {
      const mine = rows.filter((r) => r.name === name);
      assert.deepEqual(mine.filter((r) => r.n !== 1), [], `${name}: one send-it job per slot`);
      const minutes = mine.map((r) => Date.parse(`${r.slot.replace(' ', 'T')}Z`) / 60_000);
      assert.ok(minutes.every((m, i) => i === 0 || m === minutes[i - 1] + 1), `${name}: consecutive slots, none skipped (${mine.map((r) => r.slot).join(', ')})`);
      assert.equal(perQueue.get(name), mine.length, `${name}: one job per slot in the queue`);
    }
  } finally {
    await control.end();
  }
});

test('failed authentications on one instance count on the other (shared limiter, 429 with Retry-After)', { timeout: 60_000 }, async () => {
  // Default AUTH_FAILURE_LIMIT (10) per address and per (address, client code), shared through the
  // control database. Failures alternate between the instances: counted per process, neither would
  // reach the limit. Last in this file: it blocks 127.0.0.1 on both instances for the window.
  const limit = 10;
  const attempt = (server: ServerProcess) => fetch(`${server.url}/api/saas/cors`, { headers: { 'x-client-code': 'no-such-clinic', 'x-api-key': 'ecx_wrong' } });
  for (let i = 0; i < limit; i++) {
    const res = await attempt(i % 2 === 0 ? a! : b!);
    assert.notEqual(res.status, 429, `failure ${i + 1} of ${limit} is answered, not rate limited`);
    await res.arrayBuffer();
  }
  for (const server of [a!, b!]) {
    const res = await attempt(server);
    assert.equal(res.status, 429, 'over the limit counted across both instances');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `retry-after ${retryAfter}`);
  }
  // Admin tokens count per address on the same shared rows: 127.0.0.1 is over the limit everywhere.
  const admin = await fetch(`${b!.url}/api/clients`, { headers: { 'x-core-api-key': 'wrong-admin-token' } });
  assert.equal(admin.status, 429);
  assert.ok(admin.headers.get('retry-after'));
  // Socket.io handshakes count on the same keys: a wrong key on B's socket is refused as rate limited.
  const refused = connect(b!.url, { auth: { clientCode: 'no-such-clinic', apiKey: 'ecx_wrong' }, transports: ['websocket'], reconnection: false });
  try {
    const err = await new Promise<Error & { data?: { code?: string } }>((resolve, reject) => {
      refused.once('connect_error', resolve);
      refused.once('connect', () => reject(new Error('connected with a wrong key')));
    });
    assert.equal(err.data?.code, 'RATE_LIMITED');
  } finally {
    refused.disconnect();
  }
});
