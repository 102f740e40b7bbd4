/** `npm run test:worker` and `ecodrix jobs`, spawned as real processes against a running test app. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { childEnvBase, startTestApp, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY, type TestApp, type TestClient } from '../../test/harness.ts';
import { withDatabase } from '../platform/db/pool.ts';
import { runCli } from '../../test/support/run-cli.ts';

let h: TestApp;
let a: TestClient;
let env: Record<string, string>;

function run(args: string[]) {
  return runCli(args, env);
}

before(async () => {
  h = await startTestApp({ env: { WHATSAPP_MODE: 'sandbox', SANDBOX_STATUS_DELAYS_MS: '10,10,10' } });
  a = await h.createClient('CLI Clinic');
  const sync = await h.app.inject({ method: 'POST', url: '/api/saas/chat/templates/sync', headers: a.headers });
  assert.equal(sync.statusCode, 200, sync.body);
  env = {
    ...childEnvBase(), NODE_ENV: 'test', WHATSAPP_MODE: 'sandbox',
    DATABASE_URL: withDatabase(testServerUrl(), h.database), CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`, BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY, DATA_DIR: `/tmp/ecodrix-test-data/${h.database}`,
    ECODRIX_TEST_WATCH_INTERVAL_MS: '200',
  };
});
after(() => h.close());

it('test:worker schedules a send and --watch prints each state change until completed', async () => {
  const r = await run(['test-worker', '--clientCode', a.code, '--phone', '918143963821', '--template', 'appointment_confirmed', '--watch']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^Scheduled job [0-9a-f-]{36}: appointment_confirmed to 918143963821 at .* \(pending\)$/);
  assert.match(lines.at(-1)!, /completed\s+attempts 1\s+message [0-9a-f-]{36}$/);
  const outbox = await h.app.inject({ method: 'GET', url: '/api/sandbox/outbox', headers: a.headers });
  const sent = outbox.json().items.filter((i: { to: string; outcome: string }) => i.to === '918143963821' && i.outcome === 'accepted');
  assert.equal(sent.length, 1);
});

it('test:worker --delay schedules ahead, and refuses bad input', async () => {
  // Independent invocations, side by side.
  const [r, bad, usage] = await Promise.all([
    run(['test-worker', '--clientCode', a.code, '--phone', '918143963821', '--template', 'appointment_confirmed', '--delay', '300', '--json']),
    run(['test-worker', '--clientCode', a.code, '--phone', '+918143963821', '--template', 'x']),
    run(['test-worker', '--phone', '918143963821']),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const job = JSON.parse(r.stdout);
  assert.ok(Math.abs(Date.parse(job.runAt) - (Date.now() + 300_000)) < 20_000);
  assert.equal(job.status, 'pending');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /E\.164/);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--clientCode is required/);
});

it('ecodrix jobs stats, list, show, cancel', async () => {
  const [stats, human] = await Promise.all([run(['jobs', 'stats', '--json']), run(['jobs', 'stats'])]);
  assert.equal(stats.code, 0, stats.stderr);
  const parsed = JSON.parse(stats.stdout);
  const runs = parsed.queues.find((q: { name: string }) => q.name === 'workflows.run-action');
  assert.ok(runs.completed >= 1 && runs.created >= 1, JSON.stringify(runs));
  assert.match(human.stdout, /workflows\.run-action/);
  const list = await run(['jobs', 'list', '--queue', 'workflows.run-action', '--state', 'created', '--json']);
  const [pending] = JSON.parse(list.stdout).items;
  assert.ok(pending);
  const show = await run(['jobs', 'show', pending.id]);
  assert.match(show.stdout, new RegExp(`${pending.id}\\s+workflows\\.run-action\\s+created`));
  const cancel = await run(['jobs', 'cancel', pending.id, '--json']);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.equal(JSON.parse(cancel.stdout).state, 'cancelled');
  const again = await run(['jobs', 'cancel', pending.id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /cancelled; only queued or running/);
  const [nope, weird] = await Promise.all([run(['jobs', 'show', 'nope']), run(['jobs', 'list', '--state', 'weird'])]);
  assert.equal(nope.code, 1);
  assert.equal(weird.code, 2);
});
