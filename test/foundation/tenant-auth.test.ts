/** Tenant authentication, failure rate limiting, per-client CORS, bad input, request ids, secrets never logged. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, testServerUrl, TEST_ADMIN_TOKEN, type TestApp, type TestClient } from '../harness.ts';
import { createPool, quoteIdent, withDatabase } from '../../src/platform/db/pool.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;

before(async () => {
  h = await startTestApp();
  a = await h.createClient('Clinic Alpha');
  b = await h.createClient('Clinic Beta');
});
after(() => h.close());

async function stillServing(): Promise<void> {
  const res = await h.app.inject({ method: 'GET', url: '/api/saas/health' });
  assert.equal(res.statusCode, 200, `server still serving: ${res.body}`);
  const cors = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: a.headers });
  assert.equal(cors.statusCode, 200);
}

describe('tenant authentication', () => {
  it('accepts the right key and code, with the code case-insensitive', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { ...a.headers, 'x-client-code': a.code.toUpperCase() } });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { origins: [] });
  });

  it('refuses missing headers with 401', async () => {
    for (const headers of [{}, { 'x-api-key': a.apiKey }, { 'x-client-code': a.code }]) {
      const res = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers });
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(res.json().error.code, 'INVALID_API_KEY');
    }
  });

  it('unknown code → 404 ClientCode not found; wrong key → 401 Invalid API key', async () => {
    const unknown = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { 'x-api-key': a.apiKey, 'x-client-code': 'nosuchclient' } });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.message, 'ClientCode not found');
    const wrong = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { ...a.headers, 'x-api-key': `${a.apiKey.slice(0, -1)}${a.apiKey.endsWith('x') ? 'y' : 'x'}` } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error.message, 'Invalid API key');
    const garbage = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { ...a.headers, 'x-api-key': 'short' } });
    assert.equal(garbage.statusCode, 401);
  });

  it("client A's key does not open client B", async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { 'x-api-key': a.apiKey, 'x-client-code': b.code } });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.message, 'Invalid API key');
  });

  it('the admin key does not open tenant routes and a tenant key does not open admin routes', async () => {
    const adminOnly = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: h.adminHeaders });
    assert.equal(adminOnly.statusCode, 401);
    const adminAsKey = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { 'x-api-key': TEST_ADMIN_TOKEN, 'x-client-code': a.code } });
    assert.equal(adminAsKey.statusCode, 401);
    const tenantOnAdmin = await h.app.inject({ method: 'GET', url: '/api/clients', headers: a.headers });
    assert.equal(tenantOnAdmin.statusCode, 401);
    const tenantAsAdmin = await h.app.inject({ method: 'GET', url: '/api/clients', headers: { 'x-core-api-key': a.apiKey } });
    assert.equal(tenantAsAdmin.statusCode, 401);
  });
});

describe('failure rate limiting', () => {
  it('answers 429 with Retry-After after AUTH_FAILURE_LIMIT failures, per address and client', async () => {
    const limited = await startTestApp({ env: { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '60' } });
    try {
      const c = await limited.createClient('Limited Clinic');
      const bad = { ...c.headers, 'x-api-key': `${c.apiKey}zz` };
      for (let i = 0; i < 3; i++) {
        assert.equal((await limited.app.inject({ method: 'GET', url: '/api/saas/cors', headers: bad })).statusCode, 401);
      }
      const blocked = await limited.app.inject({ method: 'GET', url: '/api/saas/cors', headers: bad });
      assert.equal(blocked.statusCode, 429);
      assert.equal(blocked.json().error.code, 'RATE_LIMITED');
      const retryAfter = Number(blocked.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 60, `retry-after ${retryAfter}`);
      // Even the right key from that address waits until the window ends.
      assert.equal((await limited.app.inject({ method: 'GET', url: '/api/saas/cors', headers: c.headers })).statusCode, 429);
      // Another address is not affected.
      const elsewhere = await limited.app.inject({ method: 'GET', url: '/api/saas/cors', headers: c.headers, remoteAddress: '10.1.2.3' });
      assert.equal(elsewhere.statusCode, 200, elsewhere.body);
      // Admin failures are limited too.
      for (let i = 0; i < 3; i++) await limited.app.inject({ method: 'GET', url: '/api/clients', headers: { 'x-core-api-key': 'nope' }, remoteAddress: '10.9.9.9' });
      const adminBlocked = await limited.app.inject({ method: 'GET', url: '/api/clients', headers: limited.adminHeaders, remoteAddress: '10.9.9.9' });
      assert.equal(adminBlocked.statusCode, 429);
      assert.ok(adminBlocked.headers['retry-after']);
      // Counters live in the shared control table; a huge client-code header is counted under a hash.
      const huge = await limited.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { 'x-client-code': 'x'.repeat(8000), 'x-api-key': c.apiKey }, remoteAddress: '10.7.7.7' });
      assert.equal(huge.statusCode, 404);
      const { rows } = await limited.ctx.controlDb.query<{ key: string; count: number }>("SELECT key, count FROM auth_failures WHERE key LIKE 'ip:10.7.7.7%' OR key LIKE 'sha256:%' OR key = 'ip:10.9.9.9' ORDER BY key");
      assert.deepEqual(rows.map((r) => [r.key.startsWith('sha256:') ? 'sha256:…' : r.key, r.count]), [['ip:10.7.7.7', 1], ['ip:10.9.9.9', 3], ['sha256:…', 1]]);
    } finally {
      await limited.close();
    }
  });

  it('counts a failure first seen by another process (shared counters): over the limit is 429 at once', async () => {
    const limited = await startTestApp({ env: { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '60' } });
    try {
      // As another instance would have left it: the address already at the limit.
      await limited.ctx.controlDb.query("INSERT INTO auth_failures (key, count, reset_at) VALUES ('ip:10.4.4.4', 3, now() + interval '30 seconds')");
      const first = await limited.app.inject({ method: 'GET', url: '/api/clients', headers: { 'x-core-api-key': 'nope' }, remoteAddress: '10.4.4.4' });
      assert.equal(first.statusCode, 429, 'this process had seen no failure from the address');
      const retryAfter = Number(first.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 30, `retry-after ${retryAfter} from the shared window`);
      // An expired window starts over.
      await limited.ctx.controlDb.query("INSERT INTO auth_failures (key, count, reset_at) VALUES ('ip:10.5.5.5', 50, now() - interval '1 second')");
      assert.equal((await limited.app.inject({ method: 'GET', url: '/api/clients', headers: { 'x-core-api-key': 'nope' }, remoteAddress: '10.5.5.5' })).statusCode, 401);
      const { rows } = await limited.ctx.controlDb.query<{ count: number }>("SELECT count FROM auth_failures WHERE key = 'ip:10.5.5.5'");
      assert.equal(rows[0].count, 1);
    } finally {
      await limited.close();
    }
  });
});

describe('per-client CORS', () => {
  it('normalises origins and refuses paths, wildcards and non-http schemes', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/saas/cors', headers: a.headers, payload: { url: 'HTTPS://App.Alpha-Clinic.COM:443/' } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().origin, 'https://app.alpha-clinic.com');
    const port = await h.app.inject({ method: 'POST', url: '/api/saas/cors', headers: a.headers, payload: { url: 'http://localhost:5173' } });
    assert.equal(port.json().origin, 'http://localhost:5173');
    for (const url of ['https://alpha.com/dashboard', 'https://*.alpha.com', '*', 'ftp://alpha.com', 'javascript:alert(1)', 'alpha.com', 'https://user:pw@alpha.com', 'https://alpha.com/?q=1']) {
      const bad = await h.app.inject({ method: 'POST', url: '/api/saas/cors', headers: a.headers, payload: { url } });
      assert.equal(bad.statusCode, 400, `${url} → ${bad.body}`);
      assert.equal(bad.json().error.code, 'VALIDATION_FAILED');
    }
    const list = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: a.headers });
    assert.deepEqual(list.json().origins, ['http://localhost:5173', 'https://app.alpha-clinic.com']);
  });

  it('answers preflights for registered origins only', async () => {
    await h.app.inject({ method: 'POST', url: '/api/saas/cors', headers: b.headers, payload: { url: 'https://beta.example' } });
    const preflight = await h.app.inject({ method: 'OPTIONS', url: '/api/saas/cors', headers: { origin: 'https://beta.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key, x-client-code, content-type' } });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://beta.example');
    assert.match(String(preflight.headers['access-control-allow-headers']), /x-client-code/);
    const unknown = await h.app.inject({ method: 'OPTIONS', url: '/api/saas/cors', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(unknown.headers['access-control-allow-origin'], undefined);
    assert.notEqual(unknown.statusCode, 204);
  });

  it("refuses a real request whose origin belongs to another client (403) and allows the client's own", async () => {
    const foreign = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { ...a.headers, origin: 'https://beta.example' } });
    assert.equal(foreign.statusCode, 403);
    assert.equal(foreign.json().error.code, 'CORS_ORIGIN_NOT_ALLOWED');
    const own = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { ...b.headers, origin: 'https://beta.example' } });
    assert.equal(own.statusCode, 200);
    assert.equal(own.headers['access-control-allow-origin'], 'https://beta.example');
    const unknown = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { ...b.headers, origin: 'https://evil.example' } });
    assert.equal(unknown.statusCode, 403);
  });

  it('lists and deletes only within the client', async () => {
    const listB = (await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: b.headers })).json();
    assert.deepEqual(listB.origins, ['https://beta.example']);
    // A cannot delete B's origin.
    const cross = await h.app.inject({ method: 'DELETE', url: '/api/saas/cors', headers: a.headers, payload: { url: 'https://beta.example' } });
    assert.equal(cross.statusCode, 200);
    assert.equal(cross.json().removed, false);
    assert.deepEqual((await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: b.headers })).json().origins, ['https://beta.example']);
    const own = await h.app.inject({ method: 'DELETE', url: '/api/saas/cors', headers: b.headers, payload: { url: 'https://BETA.example/' } });
    assert.equal(own.json().removed, true);
    assert.deepEqual((await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: b.headers })).json().origins, []);
    const bad = await h.app.inject({ method: 'DELETE', url: '/api/saas/cors', headers: b.headers, payload: { url: 'https://*.x' } });
    assert.equal(bad.statusCode, 400);
  });

  it('never adds CORS headers to admin routes', async () => {
    await h.app.inject({ method: 'POST', url: '/api/saas/cors', headers: a.headers, payload: { url: 'https://admin-probe.example' } });
    const res = await h.app.inject({ method: 'GET', url: '/api/clients', headers: { ...h.adminHeaders, origin: 'https://admin-probe.example' } });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });
});

describe('bad input', () => {
  const post = (payload: string, contentType = 'application/json') =>
    h.app.inject({ method: 'POST', url: '/api/clients', headers: { ...h.adminHeaders, 'content-type': contentType }, payload });

  it('malformed JSON → 400', async () => {
    const res = await post('{"name": "x",');
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'MALFORMED_JSON');
    await stillServing();
  });

  it('body over BODY_LIMIT_BYTES → 413', async () => {
    const res = await post(JSON.stringify({ name: 'x'.repeat(h.ctx.config.bodyLimitBytes + 10), email: 'a@b.test' }));
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error.code, 'PAYLOAD_TOO_LARGE');
    await stillServing();
  });

  it('unknown route → 404 JSON', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/nothing/here?x=1' });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(res.json().error.code, 'ROUTE_NOT_FOUND');
    assert.ok(res.json().error.requestId);
    await stillServing();
  });

  it('wrong content type → 415', async () => {
    const res = await post('name=x', 'text/plain');
    assert.equal(res.statusCode, 415);
    assert.equal(res.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
    await stillServing();
  });

  it('__proto__ and constructor.prototype keys → 400', async () => {
    for (const body of ['{"name":"x","email":"a@b.test","__proto__":{"admin":true}}', '{"name":"x","email":"a@b.test","constructor":{"prototype":{"admin":true}}}']) {
      const res = await post(body);
      assert.equal(res.statusCode, 400, res.body);
    }
    assert.equal(({} as Record<string, unknown>).admin, undefined);
    await stillServing();
  });

  it('JSON nested 40 deep → 400', async () => {
    const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
    const res = await post(`{"name":"x","email":"a@b.test","deep":${deep}}`);
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error.message, /nested/);
    await stillServing();
  });

  it('every response carries a request id, and a given one is echoed', async () => {
    for (const req of [
      { method: 'GET' as const, url: '/api/saas/health' },
      { method: 'GET' as const, url: '/api/nowhere' },
      { method: 'GET' as const, url: '/api/saas/cors', headers: a.headers },
      { method: 'GET' as const, url: '/api/saas/cors' },
    ]) {
      const res = await h.app.inject(req);
      assert.ok(res.headers['x-request-id'], `${req.url} has x-request-id`);
    }
    const echoed = await h.app.inject({ method: 'GET', url: '/api/saas/health', headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(echoed.headers['x-request-id'], 'trace-abc.123');
    const unsafe = await h.app.inject({ method: 'GET', url: '/api/saas/health', headers: { 'x-request-id': 'bad id with spaces' } });
    assert.notEqual(unsafe.headers['x-request-id'], 'bad id with spaces');
  });
});

describe('secrets never reach the logs', () => {
  it('API keys, the admin token, secret values and database passwords are absent from every log line', async () => {
    const c = await h.createClient('Logged Clinic');
    const whatsappToken = 'EAAB-log-probe-whatsapp-token-5f5f5f5f';
    const smtpPass = 'log-probe-smtp-pass-7a7a7a';
    const webhookToken = 'log-probe-verify-token-8b8b';
    await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/secrets`, headers: h.adminHeaders, payload: { whatsappToken, smtpPass, whatsappWebhookToken: webhookToken } });
    await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: c.headers });
    await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { ...c.headers, 'x-api-key': `${c.apiKey}wrong` } });
    await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/secrets`, headers: { ...h.adminHeaders, 'content-type': 'application/json' }, payload: `{"smtpPass":"${smtpPass}",` });
    const rotated = (await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/rotate-key`, headers: h.adminHeaders })).json().apiKey as string;
    // A datasource with a password: one that works, one that fails authentication.
    const password = new URL(testServerUrl()).password;
    assert.ok(password.length >= 6, 'the test server URL has a password');
    const name = `${h.database}_logged`;
    const adminPool = createPool({ connectionString: testServerUrl(), max: 1, connectTimeoutMs: 5000 });
    try {
      await adminPool.query(`CREATE DATABASE ${quoteIdent(name)}`);
      await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/datasource`, headers: h.adminHeaders, payload: { dbUri: withDatabase(testServerUrl(), name) } });
      const wrong = new URL(testServerUrl());
      wrong.password = 'log-probe-wrong-db-password';
      await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/datasource`, headers: h.adminHeaders, payload: { dbUri: wrong.toString() } });
    } finally {
      await h.ctx.tenantPools.evict(c.id);
      await adminPool.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {});
      await adminPool.end();
    }
    const logs = h.logs.join('\n');
    assert.ok(logs.includes(c.code), 'requests were logged');
    for (const [label, secret] of Object.entries({ apiKey: c.apiKey, rotated, adminToken: TEST_ADMIN_TOKEN, whatsappToken, smtpPass, webhookToken, dbPassword: password, wrongDbPassword: 'log-probe-wrong-db-password' })) {
      assert.equal(logs.includes(secret), false, `${label} appears in the logs`);
    }
  });
});
