/**
 * Per-number pacing holds across instances: two server processes share one
 * control database and send from the same WhatsApp number, each to its own
 * local Graph API (so the arrivals tell which instance sent). Pacing is a GCRA
 * bucket in the control database (src/whatsapp/send-pace.ts), so together they
 * stay within WHATSAPP_NUMBER_RATE_PER_SECOND; per-process buckets would let
 * each instance send at the full rate.
 *
 * The check cannot be passed by luck or failed by a slow machine: from a fresh
 * bucket at t0, the i-th send (0-based, by arrival) cannot arrive before
 * t0 + (i - burst + 1) / rate, whatever the delays (a delay only makes sends later).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { withDatabase } from '../../src/platform/db/pool.ts';
import { createTestDatabase, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY } from '../harness.ts';
import { startGraphSendServer, type GraphSendServer } from '../support/graph-send-server.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

const RATE = 2;
const SENDS = 30;
const PHONE_NUMBER_ID = '100000000000888';

let dir: string;
let graphA: GraphSendServer;
let graphB: GraphSendServer;
let a: ServerProcess | undefined;
let b: ServerProcess | undefined;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ecodrix-send-pacing-'));
  const database = await createTestDatabase('pace');
  [graphA, graphB] = await Promise.all([startGraphSendServer(), startGraphSendServer()]);
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), database),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`,
    BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY,
    WHATSAPP_MODE: 'live',
    TENANT_AUTO_PROVISION: 'true',
    WHATSAPP_NUMBER_RATE_PER_SECOND: String(RATE),
    WHATSAPP_PAIR_INTERVAL_MS: '0',
    // One job per fetch and one loop: each instance reserves slots for its own share of the sends
    // (with big batches, whichever instance fetched first would reserve nearly all of them).
    WHATSAPP_SEND_BATCH: '1',
    WHATSAPP_SEND_LOOPS: '1',
    DATA_DIR: path.join(dir, 'data'),
  };
  [a, b] = await Promise.all([startServerProcess({ ...env, GRAPH_API_BASE_URL: graphA.url }), startServerProcess({ ...env, GRAPH_API_BASE_URL: graphB.url })]);
});
after(async () => {
  await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
  await Promise.all([graphA?.close(), graphB?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two instances sending from one number together stay within its rate', { timeout: 180_000 }, async () => {
  const admin = { 'x-core-api-key': TEST_ADMIN_TOKEN, 'content-type': 'application/json' };
  const created = await (await fetch(`${a!.url}/api/clients`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Paced Clinic', email: 'paced@example.com' }) })).json() as { clientCode: string; apiKey: string };
  const secrets = await fetch(`${a!.url}/api/clients/${created.clientCode}/secrets`, {
    method: 'POST', headers: admin, body: JSON.stringify({ whatsappToken: 'pace-token', whatsappPhoneNumberId: PHONE_NUMBER_ID, whatsappBusinessId: '200000000000888' }),
  });
  assert.equal(secrets.status, 200);
  const headers = { 'x-client-code': created.clientCode, 'x-api-key': created.apiKey, 'content-type': 'application/json' };
  const sync = await fetch(`${a!.url}/api/saas/chat/templates/sync`, { method: 'POST', headers });
  assert.equal(sync.status, 200, await sync.text());

  const sends = () => [...graphA.requests.map((r) => ({ ...r, via: 'a' })), ...graphB.requests.map((r) => ({ ...r, via: 'b' }))]
    .filter((r) => r.method === 'POST' && r.path === `/v26.0/${PHONE_NUMBER_ID}/messages`);
  // The bucket row does not exist yet, so no slot of this number can lie before t0.
  const t0 = Date.now();
  const accepted = await Promise.all(Array.from({ length: SENDS }, async (_, i) => {
    const res = await fetch(`${(i % 2 === 0 ? a! : b!).url}/api/saas/chat/messages`, {
      method: 'POST', headers,
      body: JSON.stringify({ to: `1555300${String(i).padStart(4, '0')}`, type: 'template', template: { name: 'welcome_back', variables: ['Ana', `CODE${i}`] } }),
    });
    assert.equal(res.status, 202, await res.text());
    return res;
  }));
  assert.equal(accepted.length, SENDS);
  await waitFor(() => sends().length >= SENDS, `${SENDS} sends at the Graph API (got ${sends().length})`);

  const arrivals = sends().map((r) => r.at).sort((x, y) => x - y);
  assert.equal(arrivals.length, SENDS, 'each message sent once');
  const byA = sends().filter((r) => r.via === 'a').length;
  assert.ok(byA > 0 && byA < SENDS, `both instances sent (a: ${byA}, b: ${SENDS - byA})`);
  // GCRA with burst = rate: the i-th send is due no earlier than t0 + (i - RATE + 1) / RATE seconds.
  const intervalMs = 1000 / RATE;
  const early = arrivals.map((at, i) => ({ i, earlyMs: t0 + (i - RATE + 1) * intervalMs - at })).filter((x) => x.earlyMs > 50);
  assert.deepEqual(early, [], 'no send ahead of the number\'s combined pace');
  // The same in words: after the burst, the combined rate did not exceed the setting.
  const combined = (SENDS - RATE) / ((arrivals[SENDS - 1] - t0) / 1000);
  assert.ok(combined <= RATE * 1.05, `combined rate ${combined.toFixed(1)}/s within ${RATE}/s`);
});
