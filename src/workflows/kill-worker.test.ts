/**
 * A worker process `kill -9`ed in the middle of a workflow action: another server on the same
 * databases notices the missing heartbeat and re-runs the job; the receiver sees the same
 * delivery id twice (it dedupes), the job history shows the abandoned attempt and the good one.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestDatabase, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY } from '../../test/harness.ts';
import { startServerProcess, type ServerProcess } from '../../test/support/server-process.ts';
import { withDatabase } from '../platform/db/pool.ts';
import { startReceiver, waitFor, type Receiver } from './test-support/receiver.ts';

let env: Record<string, string>;
let rx: Receiver;
const servers: ServerProcess[] = [];

before(async () => {
  const database = await createTestDatabase('ecxkill');
  env = {
    NODE_ENV: 'test', DATABASE_URL: withDatabase(testServerUrl(), database), CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`, BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY, TENANT_AUTO_PROVISION: 'true',
    DATA_DIR: `/tmp/ecodrix-test-data/${database}`, SSRF_ALLOW_HOSTS: '127.0.0.1',
    JOB_HEARTBEAT_SECONDS: '10', JOB_SUPERVISE_SECONDS: '1', JOB_TIMEOUT_SECONDS: '600', JOB_BACKOFF_SECONDS: '1',
  };
  rx = await startReceiver();
});
after(async () => {
  for (const s of servers) await s.stop('SIGKILL').catch(() => {});
  await rx?.close();
});

async function call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${base}${path}`, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: await res.json() as any };
}

it('re-runs a job whose worker was killed mid-attempt', async () => {
  const first = await startServerProcess(env);
  servers.push(first);
  const admin = { 'x-core-api-key': TEST_ADMIN_TOKEN };
  const created = await call(first.url, 'POST', '/api/clients', admin, { name: 'Kill Clinic', email: 'kill@example.com' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const headers = { 'x-api-key': created.body.apiKey, 'x-client-code': created.body.clientCode };
  const auto = await call(first.url, 'POST', '/api/crm/automations', headers, {
    name: 'Hook', trigger: 'product_purchased', triggerConfig: {}, actions: [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}/order` } }],
  });
  assert.equal(auto.status, 201, JSON.stringify(auto.body));
  rx.respond = (_req, i) => (i === 0 ? 'hang' : { status: 200, body: '{}' });
  const trig = await call(first.url, 'POST', '/api/saas/workflows/trigger', headers, { trigger: 'product_purchased', phone: '918143963821', variables: [], idempotencyKey: 'order-1' });
  assert.equal(trig.status, 202, JSON.stringify(trig.body));
  const jobId = trig.body.jobs[0].id;
  await waitFor(() => rx.requests.length === 1, { timeoutMs: 30_000, what: 'the first attempt reaching the receiver' });
  await first.stop('SIGKILL');

  const second = await startServerProcess(env);
  servers.push(second);
  const done = await waitFor(async () => {
    const j = await call(second.url, 'GET', `/api/saas/workflows/jobs/${jobId}`, headers);
    return j.body.status === 'completed' ? j.body : undefined;
  }, { timeoutMs: 60_000, intervalMs: 250, what: 'the job re-run by the surviving server' });
  assert.equal(done.attempts, 2);
  assert.deepEqual(done.attemptHistory.map((a: { outcome: string }) => a.outcome), ['failed', 'succeeded']);
  assert.equal(rx.requests.length, 2);
  assert.equal(rx.requests[0].headers['webhook-id'], rx.requests[1].headers['webhook-id']);
});
