/**
 * Crash and resume without duplicates: a worker process is killed (SIGKILL)
 * while the SMTP server holds its replies; a new instance on the same database
 * takes over through the queue and finishes the campaign. Every message whose
 * data reached the server counts as delivered (worst case), so "at most once"
 * is checked strictly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApp, testServerUrl, TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY, type TestApp } from '../../test/harness.ts';
import { startSmtpSink, type SmtpSink } from '../../test/smtp-sink.ts';
import { withDatabase } from '../platform/db/pool.ts';
import { tenantDbById } from '../tenants/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mailEnv = { SMTP_ALLOW_HOSTS: '127.0.0.1', SMTP_TLS_VERIFY: 'false', EMAIL_RATE_PER_SECOND: '0', EMAIL_BATCH_SIZE: '12', JOB_HEARTBEAT_SECONDS: '10', JOB_SUPERVISE_SECONDS: '1' };

let sink: SmtpSink;
let h1: TestApp;
let h2: TestApp | undefined;
let child: ChildProcess | undefined;

before(async () => {
  sink = await startSmtpSink();
  h1 = await startTestApp({ roles: ['api'], env: mailEnv });
});
after(async () => {
  child?.kill('SIGKILL');
  await h2?.close();
  await h1.close();
  await sink.close();
});

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a worker killed mid-campaign: a new instance finishes it and nobody gets a second copy', { timeout: 240_000 }, async () => {
  const client = await h1.createClient('Crash Clinic');
  const secrets = await h1.app.inject({ method: 'POST', url: `/api/clients/${client.code}/secrets`, headers: h1.adminHeaders, payload: { smtpHost: '127.0.0.1', smtpPort: String(sink.port), smtpFrom: 'news@crash.test' } });
  assert.equal(secrets.statusCode, 200);
  const emails = Array.from({ length: 30 }, (_, i) => `r${i}@example.test`);
  const created = await h1.app.inject({ method: 'POST', url: '/api/saas/email/campaigns', headers: client.headers, payload: { name: 'Crash', subject: 'Hi {{firstName|there}}', text: 'Hello', audience: { type: 'list', emails } } });
  const id = created.json().id as string;
  const db = await tenantDbById(h1.ctx, client.id);
  const count = async (status: string) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM email_recipients WHERE campaign_id = $1 AND status = $2', [id, status])).rows[0].n;

  // Phase 1: the first 6 messages get their 250; every later one is held (no reply) until the worker is dead.
  let holding = true;
  const held: Array<() => void> = [];
  sink.onData = () => {
    if (!holding || sink.accepted + held.length < 6) return undefined;
    return new Promise((resolve) => held.push(() => resolve(undefined)));
  };

  const database = withDatabase(testServerUrl(), h1.database);
  child = spawn(process.execPath, ['src/main.ts', '--services=worker'], {
    cwd: root,
    env: {
      ...process.env, ...mailEnv, NODE_ENV: 'test', DATABASE_URL: database, CORE_API_TOKEN: TEST_ADMIN_TOKEN, ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`,
      BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY, TENANT_AUTO_PROVISION: 'true', LOG_LEVEL: 'warn', DATA_DIR: `/tmp/ecodrix-test-data/${h1.database}-child`, PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let childErr = '';
  child.stderr!.on('data', (d: Buffer) => { childErr += d.toString(); });

  const sent = await h1.app.inject({ method: 'POST', url: `/api/saas/email/campaigns/${id}/send`, headers: client.headers });
  assert.equal(sent.statusCode, 200);
  await until('6 accepted, 3 held, 6 recorded as sent', async () => sink.accepted >= 6 && held.length >= 3 && (await count('sent')) >= 6, 60_000).catch((err) => {
    throw new Error(`${(err as Error).message}; child stderr: ${childErr.slice(-2000)}`);
  });
  const inFlight = await count('sending');
  assert.ok(inFlight >= 3, `rows in sending at the crash: ${inFlight}`);
  child.kill('SIGKILL');
  await new Promise((resolve) => child!.once('exit', resolve));
  child = undefined;
  // The server now answers the held messages (the client is gone); treat them as delivered.
  holding = false;
  for (const release of held.splice(0)) release();

  // Phase 2: a fresh instance on the same database; the queue retries the dead worker's job.
  h2 = await startTestApp({ env: { ...mailEnv, DATABASE_URL: database, EMAIL_SENDING_LEASE_SECONDS: '1' } });
  const db2 = await tenantDbById(h2.ctx, client.id);
  const recoveryStarted = Date.now();
  await until('campaign finished', async () => (await db2.query<{ status: string }>('SELECT status FROM email_campaigns WHERE id = $1', [id])).rows[0].status === 'finished', 180_000);

  if (process.env.DEBUG_LOGS) process.stderr.write(`recovery took ${Date.now() - recoveryStarted} ms\n`);
  const perRecipient = new Map<string, number>();
  for (const to of sink.dataTo) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
  for (const [to, n] of perRecipient) assert.equal(n, 1, `${to} received ${n} copies`);

  const rows = (await db2.query<{ email: string; status: string; last_code: string | null }>('SELECT email, status, last_code FROM email_recipients WHERE campaign_id = $1', [id])).rows;
  assert.equal(rows.length, 30);
  const byStatus = (s: string) => rows.filter((r) => r.status === s);
  assert.equal(byStatus('sent').length + byStatus('unknown').length, 30, JSON.stringify(rows.map((r) => r.status)));
  for (const r of byStatus('sent')) assert.equal(perRecipient.get(r.email), 1, `${r.email} sent but not received`);
  // Rows the dead worker had claimed are unknown (reported, not re-sent); the rest went out after recovery.
  assert.equal(byStatus('unknown').length, inFlight);
  assert.ok(byStatus('unknown').every((r) => r.last_code === 'CRASHED'));
  assert.ok(byStatus('sent').length >= 30 - inFlight);
  const api = await h2.app.inject({ method: 'GET', url: `/api/saas/email/campaigns/${id}`, headers: client.headers });
  assert.equal(api.json().counts.unknown, inFlight);
});
