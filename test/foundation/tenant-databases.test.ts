/**
 * Tenant database routing through real routes: auto-provisioning, a registered
 * datasource, one unreachable tenant database not affecting others (503 with
 * Retry-After, then recovery), `No tenant connection for <code>` when
 * auto-provisioning is off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAuthHooks } from '../../src/auth/auth-hooks.ts';
import { createPool, quoteIdent, withDatabase } from '../../src/platform/db/pool.ts';
import { onApiStart } from '../../src/server.ts';
import { startTestApp, testServerUrl, type TestApp } from '../harness.ts';

// A tenant route that touches the client's database (registered on every app this file starts).
onApiStart((app, booted) => {
  const auth = createAuthHooks(booted.ctx);
  app.get('/test/tenant-ping', { preHandler: auth.tenant }, async (request) => {
    const db = await request.tenantDb();
    const { rows } = await db.query<{ db: string }>('SELECT current_database() AS db');
    return { db: rows[0].db };
  });
});

let h: TestApp;
let admin: ReturnType<typeof createPool>;
const created: string[] = [];

async function createDatabase(suffix: string): Promise<string> {
  const name = `${h.database}_${suffix}`;
  await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  created.push(name);
  return name;
}

async function block(name: string): Promise<void> {
  await admin.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
}

async function unblock(name: string): Promise<void> {
  await admin.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS true`);
}

async function eventually<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  assert.fail(`${what}: condition not met in ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

before(async () => {
  admin = createPool({ connectionString: testServerUrl(), max: 2, connectTimeoutMs: 5000 });
  h = await startTestApp();
});
after(async () => {
  await h.close();
  for (const name of created) {
    await admin.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS true`).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {});
  }
  await admin.end();
});

describe('tenant databases', () => {
  it('auto-provisions a database for a client without a datasource', async () => {
    const c = await h.createClient('Provisioned Clinic');
    const res = await h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: c.headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().db, `${h.database}_tenant_${c.id}`);
    created.push(res.json().db);
    const show = (await h.app.inject({ method: 'GET', url: `/api/clients/${c.code}`, headers: h.adminHeaders })).json();
    assert.equal(show.datasource.provisioned, true);
  });

  it('concurrent first requests of a new client share one provisioned database', async () => {
    const c = await h.createClient('Rush Clinic');
    const responses = await Promise.all(Array.from({ length: 8 }, () => h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: c.headers })));
    assert.ok(responses.every((r) => r.statusCode === 200), responses.map((r) => r.body).join('\n'));
    assert.equal(new Set(responses.map((r) => r.json().db)).size, 1);
    created.push(responses[0].json().db);
  });

  it('one unreachable tenant database gets 503 with Retry-After while others keep working, then recovers', async () => {
    const healthy = await h.createClient('Healthy Clinic');
    const fragile = await h.createClient('Fragile Clinic');
    const name = await createDatabase('fragile');
    const reg = await h.app.inject({ method: 'POST', url: `/api/clients/${fragile.code}/datasource`, headers: h.adminHeaders, payload: { dbUri: withDatabase(testServerUrl(), name) } });
    assert.equal(reg.statusCode, 200, reg.body);
    assert.equal((await h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: fragile.headers })).json().db, name);
    const healthyDb = (await h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: healthy.headers })).json().db;
    created.push(healthyDb);

    await block(name);
    try {
      // With its pool cached (connections killed under it) ...
      const down = await h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: fragile.headers });
      assert.equal(down.statusCode, 503, down.body);
      assert.equal(down.json().error.code, 'TENANT_DB_UNAVAILABLE');
      assert.ok(Number(down.headers['retry-after']) > 0);
      assert.equal(down.body.includes(name), false, 'no internals in the message');
      // ... and with a fresh pool (as after a restart).
      await h.ctx.tenantPools.evict(fragile.id);
      const fresh = await h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: fragile.headers });
      assert.equal(fresh.statusCode, 503, fresh.body);
      assert.equal(fresh.json().error.code, 'TENANT_DB_UNAVAILABLE');
      assert.ok(fresh.headers['retry-after']);
      // Everyone else is unaffected, in parallel too.
      const others = await Promise.all(Array.from({ length: 10 }, () => h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: healthy.headers })));
      assert.ok(others.every((r) => r.statusCode === 200 && r.json().db === healthyDb));
      assert.equal((await h.app.inject({ method: 'GET', url: '/api/saas/health' })).statusCode, 200);
      // Routes that do not need the tenant database keep working for the affected client.
      assert.equal((await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: fragile.headers })).statusCode, 200);
      // The operator's health check says so, per client, without the URI or its credentials.
      const sick = await h.app.inject({ method: 'GET', url: `/api/clients/${fragile.code}/datasource/health`, headers: h.adminHeaders });
      assert.equal(sick.statusCode, 200, sick.body);
      assert.equal(sick.json().ok, false);
      assert.ok(sick.json().detail.length > 0);
      assert.equal(sick.body.includes(name) || sick.body.includes('postgres://'), false, 'no URI in the report');
      const fine = await h.app.inject({ method: 'GET', url: `/api/clients/${healthy.code}/datasource/health`, headers: h.adminHeaders });
      assert.deepEqual({ ...(fine.json() as object), latencyMs: 0 }, { ok: true, latencyMs: 0, detail: 'reachable and migrated' });
      // Admin only: a tenant's own key is refused; an unknown client is 404.
      assert.equal((await h.app.inject({ method: 'GET', url: `/api/clients/${healthy.code}/datasource/health`, headers: healthy.headers })).statusCode, 401);
      assert.equal((await h.app.inject({ method: 'GET', url: '/api/clients/nosuchclient/datasource/health', headers: h.adminHeaders })).statusCode, 404);
    } finally {
      await unblock(name);
    }
    await eventually('fragile client recovers', () => h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: fragile.headers }), (r) => r.statusCode === 200);
    await eventually('its health check recovers', () => h.app.inject({ method: 'GET', url: `/api/clients/${fragile.code}/datasource/health`, headers: h.adminHeaders }), (r) => r.json().ok === true);
  });

  it('a registered tenant database that disappeared is a 503 too', async () => {
    const c = await h.createClient('Closed Port Clinic');
    const name = await createDatabase('moving');
    await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/datasource`, headers: h.adminHeaders, payload: { dbUri: withDatabase(testServerUrl(), name) } });
    assert.equal((await h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: c.headers })).statusCode, 200);
    // Simulate the database server going away: drop it from under the registered datasource.
    await h.ctx.tenantPools.evict(c.id);
    await admin.query(`DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`);
    const res = await h.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: c.headers });
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error.code, 'TENANT_DB_UNAVAILABLE');
  });
});

describe('TENANT_AUTO_PROVISION=false', () => {
  it('answers 503 `No tenant connection for <code>` until a datasource is registered, which then takes effect at once', async () => {
    const strict = await startTestApp({ env: { TENANT_AUTO_PROVISION: 'false' } });
    try {
      const c = await strict.createClient('Unregistered Clinic');
      const res = await strict.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: c.headers });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().error.code, 'NO_TENANT_CONNECTION');
      assert.equal(res.json().error.message, `No tenant connection for ${c.code}`);
      const name = await createDatabase('registered');
      const reg = await strict.app.inject({ method: 'POST', url: `/api/clients/${c.code}/datasource`, headers: strict.adminHeaders, payload: { dbUri: withDatabase(testServerUrl(), name) } });
      assert.equal(reg.statusCode, 200, reg.body);
      const ok = await strict.app.inject({ method: 'GET', url: '/test/tenant-ping', headers: c.headers });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().db, name);
    } finally {
      await strict.close();
    }
  });
});
