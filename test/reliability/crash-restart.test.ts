/**
 * Nothing acknowledged is lost: a steady load of signed webhooks (the sender
 * retries whatever was not acknowledged, as Meta does) while the server is
 * killed with SIGKILL and restarted, and while PostgreSQL itself is restarted.
 * Afterwards every message is stored exactly once. Real processes, a
 * PostgreSQL of its own (so restarting it disturbs no other test).
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/platform/db/embedded-postgres.ts';
import { createPool, withDatabase } from '../../src/platform/db/pool.ts';
import { TEST_ADMIN_TOKEN, TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEY } from '../harness.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

const APP_SECRET = 'crash-test-meta-app-secret';
const PHONE_NUMBER_ID = '100000000000001';
const TOTAL = Number(process.env.CRASH_TEST_MESSAGES ?? 300);
const fixture = JSON.parse(readFileSync(new URL('../../src/whatsapp/__fixtures__/text.json', import.meta.url), 'utf8'));

let dir: string;
let pg: EmbeddedPostgres;
let server: ServerProcess | undefined;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ecodrix-crash-'));
  pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  const admin = createPool({ connectionString: pg.url, max: 1, connectTimeoutMs: 5000 });
  await admin.query('CREATE DATABASE ecodrix');
  await admin.end();
  env = {
    NODE_ENV: 'test',
    DATABASE_URL: withDatabase(pg.url, 'ecodrix'),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`,
    BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY,
    META_APP_SECRET: APP_SECRET,
    WHATSAPP_MODE: 'live',
    TENANT_AUTO_PROVISION: 'true',
    DATA_DIR: path.join(dir, 'data'),
    DB_CONNECT_TIMEOUT_MS: '2000',
  };
});
after(async () => {
  await server?.stop('SIGKILL');
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function body(i: number, prefix: string): string {
  const payload = structuredClone(fixture);
  const value = payload.entry[0].changes[0].value;
  const from = `1555${String(1000000 + (i % 25)).padStart(7, '0')}`;
  value.metadata.phone_number_id = PHONE_NUMBER_ID;
  value.contacts = [{ profile: { name: `Customer ${i % 25}` }, wa_id: from }];
  value.messages = [{ ...value.messages[0], from, id: `${prefix}${i}`, text: { body: `message ${i} — olá` } }];
  delete value.messages[0].from_user_id;
  return JSON.stringify(payload);
}

async function deliver(url: () => string, i: number, prefix: string): Promise<number> {
  const raw = body(i, prefix);
  const signature = `sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${url()}/api/saas/whatsapp/webhook`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body: raw,
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      if (res.status === 200) return attempt;
    } catch {}
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
    if (attempt > 2000) throw new Error(`message ${i} never acknowledged`);
  }
}

async function scenario(restartPostgres: boolean): Promise<void> {
  server = await startServerProcess(env);
  const port = server.port;
  const admin = { 'x-core-api-key': TEST_ADMIN_TOKEN, 'content-type': 'application/json' };
  const created = await (await fetch(`${server.url}/api/clients`, { method: 'POST', headers: admin, body: JSON.stringify({ name: `Crash Clinic ${restartPostgres ? 'pg' : 'kill'}`, email: 'crash@example.com' }) })).json() as { id: string; clientCode: string };
  const prefix = restartPostgres ? 'wamid.crash-pg-' : 'wamid.crash-kill-';
  const secrets = await fetch(`${server.url}/api/clients/${created.clientCode}/secrets`, { method: 'POST', headers: admin, body: JSON.stringify({ whatsappPhoneNumberId: PHONE_NUMBER_ID }) });
  assert.equal(secrets.status, 200);

  const url = () => `http://127.0.0.1:${port}`;
  let acked = 0;
  let next = 0;
  const chaos = (async () => {
    while (acked < TOTAL * 0.3) await new Promise((r) => setTimeout(r, 20));
    await server!.stop('SIGKILL');
    process.stderr.write(`# killed the server after ${acked} acknowledgements\n`);
    server = await startServerProcess(env, { port });
    process.stderr.write(`# restarted the server\n`);
    if (!restartPostgres) return;
    while (acked < TOTAL * 0.6) await new Promise((r) => setTimeout(r, 20));
    await pg.stop();
    process.stderr.write(`# stopped PostgreSQL after ${acked} acknowledgements\n`);
    pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
    process.stderr.write(`# restarted PostgreSQL\n`);
    assert.equal(pg.url, env.DATABASE_URL.replace('/ecodrix', '/postgres'), 'PostgreSQL came back on the same port');
  })();
  await Promise.all(Array.from({ length: 12 }, async () => {
    while (next < TOTAL) {
      const i = next++;
      await deliver(url, i, prefix);
      acked++;
      if (acked % 50 === 0) process.stderr.write(`# acked ${acked}\n`);
    }
  }));
  await chaos;

  const tenant = createPool({ connectionString: withDatabase(pg.url, `ecodrix_tenant_${created.id}`), max: 1, connectTimeoutMs: 5000, searchPath: 'ecodrix' });
  try {
    const deadline = Date.now() + 90_000;
    let count = 0;
    while (Date.now() < deadline) {
      const { rows } = await tenant.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE wa_message_id LIKE $1', [`${prefix}%`]).catch(() => ({ rows: [{ n: -1 }] }));
      count = rows[0].n;
      if (count >= TOTAL) break;
      if (Date.now() % 5000 < 260) process.stderr.write(`# stored ${count}\n`);
      await new Promise((r) => setTimeout(r, 250));
    }
    if (count !== TOTAL) {
      const control = createPool({ connectionString: env.DATABASE_URL, max: 1, connectTimeoutMs: 5000 });
      const { rows: states } = await control.query('SELECT state, count(*)::int AS n, max(attempts) AS attempts, max(last_error) AS error, min(locked_until) AS lmin, max(locked_until) AS lmax, now() AS now FROM whatsapp_inbox GROUP BY state');
      const probe = await control.connect();
      await probe.query('BEGIN');
      const { rows: lockable } = await probe.query("SELECT id FROM whatsapp_inbox WHERE state = 'processing' AND locked_until < now() FOR UPDATE SKIP LOCKED");
      await probe.query('ROLLBACK');
      probe.release();
      process.stderr.write(`# lockable expired rows: ${lockable.length}\n`);
      const { rows: activity } = await control.query("SELECT pid, application_name, state, now() - xact_start AS age, left(query, 120) AS query FROM pg_stat_activity WHERE datname = 'ecodrix' AND state <> 'idle'");
      await control.end();
      process.stderr.write(`# activity ${JSON.stringify(activity)}\n# server ${server?.output().slice(-2500).replace(/\n/g, "\n# ")}\n`);
      assert.fail(`stored ${count} of ${TOTAL}; inbox: ${JSON.stringify(states)}\n${server?.output().slice(-3000)}`);
    }
    const { rows: dupes } = await tenant.query<{ n: number }>("SELECT count(*)::int AS n FROM (SELECT wa_message_id FROM messages GROUP BY wa_message_id HAVING count(*) > 1) d");
    assert.equal(dupes[0].n, 0);
    const { rows: contacts } = await tenant.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts');
    assert.equal(contacts[0].n, 25, 'one contact per customer');
  } finally {
    await tenant.end();
  }
  const log = server!.output();
  const released = log.split('inbox batch did not finish in time').length - 1;
  const warnings = log.split('\n').filter((l) => /"level":(40|50)/.test(l)).length;
  process.stderr.write(`# restarted server: ${warnings} warnings/errors logged, ${released} inbox batches released by the deadline\n`);
  assert.equal(await server!.stop('SIGTERM'), 0, 'clean exit after the storm');
  server = undefined;
}

// Both scenarios run in the default suite (each ~25–50 s, in real processes with a PostgreSQL of their own).
// CRASH_TEST_MESSAGES raises the load for a longer soak.
test(`${TOTAL} signed webhooks survive kill -9 of the server mid-load, stored exactly once`, { timeout: 240_000 }, () => scenario(false));

test(`${TOTAL} signed webhooks survive a PostgreSQL restart mid-load, stored exactly once`, { timeout: 240_000 }, () => scenario(true));
