/**
 * Client databases spread over two PostgreSQL servers (the run's shared one and
 * a second embedded server started here): routing, one connection budget
 * across both, and a server going down affecting only its own clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/platform/db/embedded-postgres.ts';
import { createPool, withDatabase } from '../../src/platform/db/pool.ts';
import { startTestApp, type TestApp, type TestClient } from '../harness.ts';

let h: TestApp;
let second: EmbeddedPostgres;
let dir: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ecodrix-second-pg-'));
  second = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), settings: { fsync: 'off' } });
  h = await startTestApp({ env: { TENANT_CONNECTION_BUDGET: '6', TENANT_POOL_MAX: '2', DB_CONNECT_TIMEOUT_MS: '1500' } });
});
after(async () => {
  await h?.close();
  await second?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function createDatabaseOn(url: string, name: string): Promise<string> {
  const admin = createPool({ connectionString: url, max: 1, connectTimeoutMs: 5000 });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return withDatabase(url, name);
}

async function register(client: TestClient, dbUri: string): Promise<void> {
  const res = await h.app.inject({ method: 'POST', url: `/api/clients/${client.code}/datasource`, headers: h.adminHeaders, payload: { dbUri } });
  assert.equal(res.statusCode, 200, res.body);
}

/** A tenant route that needs the client's database. */
async function touchTenantDb(client: TestClient): Promise<number> {
  const { tenantDbById } = await import('../../src/tenants/index.ts');
  try {
    const pool = await tenantDbById(h.ctx, client.id);
    await pool.query('SELECT count(*) FROM contacts');
    return 200;
  } catch (err) {
    return (err as { status?: number }).status ?? 500;
  }
}

test('clients on two servers are routed to their own server; one server down affects only its clients', async () => {
  const onFirst: TestClient[] = [];
  const onSecond: TestClient[] = [];
  for (let i = 0; i < 4; i++) {
    const a = await h.createClient(`First Server ${i}`);
    onFirst.push(a); // auto-provisioned on the run's server
    const b = await h.createClient(`Second Server ${i}`);
    await register(b, await createDatabaseOn(second.url, `second_${i}_${Date.now() % 100000}`));
    onSecond.push(b);
  }
  for (const c of [...onFirst, ...onSecond]) assert.equal(await touchTenantDb(c), 200);

  // Each client's rows are on its own server.
  const { tenantDbById } = await import('../../src/tenants/index.ts');
  const poolB = await tenantDbById(h.ctx, onSecond[0].id);
  await poolB.query("INSERT INTO contacts (phone, name) VALUES ('15550009999', 'Only on the second server')");
  const direct = createPool({ connectionString: second.url, max: 1, connectTimeoutMs: 5000 });
  const { rows: dbs } = await direct.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'second_%'");
  assert.equal(dbs.length, 4);
  await direct.end();

  // The budget holds across both servers: at most 6 tenant connections at any time.
  assert.ok(h.ctx.tenantPools.stats().connections <= 6, `connections ${h.ctx.tenantPools.stats().connections}`);

  // The second server goes down: its clients get 503, the first server's clients keep working.
  await second.stop();
  for (const c of onSecond) await h.ctx.tenantPools.evict(c.id);
  for (const c of onSecond) assert.equal(await touchTenantDb(c), 503);
  for (const c of onFirst) assert.equal(await touchTenantDb(c), 200);
  assert.ok(h.ctx.tenantPools.stats().connections <= 6);

  // It comes back (same data directory, same port): its clients recover without a restart of ours.
  second = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), settings: { fsync: 'off' } });
  for (const c of onSecond) assert.equal(await touchTenantDb(c), 200);
  const { rows } = await (await tenantDbById(h.ctx, onSecond[0].id)).query<{ name: string }>("SELECT name FROM contacts WHERE phone = '15550009999'");
  assert.equal(rows[0]?.name, 'Only on the second server');
});
