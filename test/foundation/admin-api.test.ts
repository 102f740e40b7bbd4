/** Admin API (`x-core-api-key`): create, list, show, secrets, datasource, rotate-key, delete. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { startTestApp, testServerUrl, TEST_ADMIN_TOKEN, type TestApp } from '../harness.ts';
import { createPool, quoteIdent, withDatabase } from '../../src/platform/db/pool.ts';

let h: TestApp;
const admin = () => h.adminHeaders;

before(async () => {
  h = await startTestApp();
});
after(() => h.close());

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('POST /api/clients', () => {
  it('derives the clientCode from the name as the runbook expects and shows the key once', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/clients', headers: admin(), payload: { name: 'Dr. Sharma Clinic', email: 'contact@sharmaclinic.com' } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.equal(body.clientCode, 'sharmaclinic');
    assert.match(body.apiKey, /^[a-z]+_/);
    assert.ok(body.apiKey.length >= 40);
    assert.equal(body.apiKeyHint.includes(body.apiKey), false);
    assert.equal('api_key_hash' in body || 'apiKeyHash' in body, false);
    // A second client with the same name gets a distinct derived code.
    const again = await h.app.inject({ method: 'POST', url: '/api/clients', headers: admin(), payload: { name: 'Dr. Sharma Clinic', email: 'b@sharmaclinic.com' } });
    assert.equal(again.statusCode, 201);
    assert.equal(again.json().clientCode, 'sharmaclinic2');
  });

  it('keeps a given clientCode and refuses duplicates case-insensitively with 409', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/clients', headers: admin(), payload: { name: 'Acme', email: 'a@acme.test', clientCode: 'AcmeCo' } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().clientCode, 'AcmeCo');
    const dup = await h.app.inject({ method: 'POST', url: '/api/clients', headers: admin(), payload: { name: 'Other', email: 'o@acme.test', clientCode: 'acmeco' } });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'CLIENT_CODE_TAKEN');
    assert.ok(dup.json().error.requestId);
  });

  it('refuses invalid input with a clear 400', async () => {
    const cases = [
      { name: 'X', email: 'not-an-email' },
      { email: 'a@b.test' },
      { name: '', email: 'a@b.test' },
      { name: 'X', email: 'a@b.test', clientCode: 'has space' },
      { name: 'X', email: 'a@b.test', clientCode: '-leadingdash' },
      { name: 'X', email: 'a@b.test', extra: true },
    ];
    for (const payload of cases) {
      const res = await h.app.inject({ method: 'POST', url: '/api/clients', headers: admin(), payload });
      assert.equal(res.statusCode, 400, `${JSON.stringify(payload)} → ${res.body}`);
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
      assert.ok(res.json().error.message.length > 10);
    }
  });

  it('requires the admin key', async () => {
    const none = await h.app.inject({ method: 'POST', url: '/api/clients', payload: { name: 'X', email: 'a@b.test' } });
    assert.equal(none.statusCode, 401);
    const wrong = await h.app.inject({ method: 'POST', url: '/api/clients', headers: { 'x-core-api-key': `${TEST_ADMIN_TOKEN}x` }, payload: { name: 'X', email: 'a@b.test' } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error.code, 'UNAUTHORIZED');
  });
});

describe('GET /api/clients', () => {
  it('pages with a cursor and never shows hashes', async () => {
    for (let i = 0; i < 5; i++) await h.createClient(`Paging Client ${i}`);
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await h.app.inject({ method: 'GET', url, headers: admin() });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { items: Array<Record<string, unknown>>; nextCursor: string | null };
      assert.ok(body.items.length <= 2);
      for (const item of body.items) {
        assert.equal(seen.has(item.clientCode as string), false, 'no client appears twice');
        seen.add(item.clientCode as string);
        assert.equal(JSON.stringify(item).includes('hash'), false);
        assert.equal('apiKey' in item, false);
      }
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    assert.ok(seen.size >= 5);
    assert.ok(pages >= 3);
  });

  it('refuses a bad limit or cursor', async () => {
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/clients?limit=0', headers: admin() })).statusCode, 400);
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/clients?limit=1000', headers: admin() })).statusCode, 400);
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/clients?cursor=abc', headers: admin() })).statusCode, 400);
  });
});

describe('secrets', () => {
  it('stores secrets encrypted, updates partially, and shows only masked hints', async () => {
    const c = await h.createClient('Secret Keeper');
    const token = 'EAAG-super-secret-whatsapp-token-123456';
    const smtpPass = 'smtp-password-very-secret-987';
    const first = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/secrets`, headers: admin(), payload: { whatsappToken: token, whatsappPhoneNumberId: '1234567890', smtpHost: 'smtp.example.com', smtpPort: 587, smtpPass } });
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json().updated.sort(), ['smtpHost', 'smtpPass', 'smtpPort', 'whatsappPhoneNumberId', 'whatsappToken']);
    assert.equal(first.body.includes(token), false);
    assert.equal(first.body.includes(smtpPass), false);

    const partial = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code.toUpperCase()}/secrets`, headers: admin(), payload: { smtpUser: 'mailer@example.com' } });
    assert.equal(partial.statusCode, 200, partial.body);
    assert.deepEqual(partial.json().updated, ['smtpUser']);

    const show = await h.app.inject({ method: 'GET', url: `/api/clients/${c.code}`, headers: admin() });
    assert.equal(show.statusCode, 200);
    const body = show.json();
    assert.deepEqual(Object.keys(body.secrets).sort(), ['smtpHost', 'smtpPass', 'smtpPort', 'smtpUser', 'whatsappPhoneNumberId', 'whatsappToken']);
    assert.equal(body.secrets.whatsappToken.set, true);
    assert.equal(body.secrets.whatsappToken.hint, '••••3456');
    assert.equal(show.body.includes(token), false);
    assert.equal(show.body.includes(smtpPass), false);
    assert.equal(show.body.includes(c.apiKey), false);
    assert.equal(/hash/i.test(show.body), false);

    // At rest: the control database holds envelopes, never the plaintext.
    const { rows } = await h.ctx.controlDb.query<{ envelope: string }>('SELECT envelope FROM client_secrets WHERE client_id = $1', [c.id]);
    assert.equal(rows.length, 6);
    for (const row of rows) {
      assert.match(row.envelope, /^v1:test1:/);
      assert.equal(row.envelope.includes(token) || row.envelope.includes(smtpPass), false);
    }
    const { rows: keyRows } = await h.ctx.controlDb.query<{ api_key_hash: string }>('SELECT api_key_hash FROM clients WHERE id = $1', [c.id]);
    assert.equal(keyRows[0].api_key_hash.includes(c.apiKey), false);
  });

  it('refuses unknown fields, empty bodies, and unknown clients', async () => {
    const c = await h.createClient('Secret Validator');
    const unknown = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/secrets`, headers: admin(), payload: { notASecret: 'x' } });
    assert.equal(unknown.statusCode, 400);
    const empty = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/secrets`, headers: admin(), payload: {} });
    assert.equal(empty.statusCode, 400);
    const badPort = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/secrets`, headers: admin(), payload: { smtpPort: 'abc' } });
    assert.equal(badPort.statusCode, 400);
    const missing = await h.app.inject({ method: 'POST', url: '/api/clients/nosuchclient/secrets', headers: admin(), payload: { smtpUser: 'x' } });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.message, 'ClientCode not found');
  });
});

describe('POST /api/clients/:code/datasource', () => {
  it('answers 422 with the reason when the URI cannot be used', async () => {
    const c = await h.createClient('Datasource Errors');
    const server = new URL(testServerUrl());
    const port = await closedPort();
    const wrongPassword = new URL(server);
    wrongPassword.password = 'definitely-wrong-password';
    const cases: Array<[string, RegExp]> = [
      ['mongodb+srv://user:pass@cluster0.mongodb.net/sharmaclinic', /postgres/],
      ['not a url', /valid URL/],
      [`postgres://postgres:x@127.0.0.1:${port}/db`, /connection refused/],
      [wrongPassword.toString(), /authentication failed/],
      [withDatabase(testServerUrl(), 'no_such_database_here'), /database does not exist/],
    ];
    for (const [dbUri, reason] of cases) {
      const res = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/datasource`, headers: admin(), payload: { dbUri } });
      assert.equal(res.statusCode, 422, `${dbUri} → ${res.body}`);
      assert.equal(res.json().error.code, 'DATASOURCE_UNREACHABLE');
      assert.match(res.json().error.message, reason);
      assert.equal(res.body.includes('definitely-wrong-password'), false);
    }
  });

  it('registers a real separate database that takes effect without restart', async () => {
    const c = await h.createClient('Own Database');
    const name = `${h.database}_own`;
    const adminPool = createPool({ connectionString: testServerUrl(), max: 1, connectTimeoutMs: 5000 });
    try {
      await adminPool.query(`CREATE DATABASE ${quoteIdent(name)}`);
      const uri = withDatabase(testServerUrl(), name);
      const res = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/datasource`, headers: admin(), payload: { dbUri: uri } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().connected, true);
      assert.equal(res.body.includes(new URL(uri).password), false);
      // Takes effect at once: the client's pool now points at the new database, migrated.
      const client = (await h.ctx.controlDb.query('SELECT c.*, d.updated_at::text AS datasource_version FROM clients c JOIN client_datasources d ON d.client_id = c.id WHERE c.id = $1', [c.id])).rows[0];
      const { tenantDb } = await import('../../src/tenants/index.ts');
      const pool = await tenantDb(h.ctx, client);
      const { rows } = await pool.query<{ db: string }>('SELECT current_database() AS db');
      assert.equal(rows[0].db, name);
      const show = (await h.app.inject({ method: 'GET', url: `/api/clients/${c.code}`, headers: admin() })).json();
      assert.equal(show.datasource.provisioned, false);
      assert.match(show.datasource.uri, new RegExp(name));
      assert.equal(JSON.stringify(show).includes(new URL(uri).password), false);
      // The stored URI is encrypted.
      const stored = await h.ctx.controlDb.query<{ uri_envelope: string }>('SELECT uri_envelope FROM client_datasources WHERE client_id = $1', [c.id]);
      assert.match(stored.rows[0].uri_envelope, /^v1:/);
      await h.ctx.tenantPools.evict(c.id);
    } finally {
      await adminPool.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {});
      await adminPool.end();
    }
  });

  it('404s for an unknown client and 400s for a missing dbUri', async () => {
    const missing = await h.app.inject({ method: 'POST', url: '/api/clients/nosuchclient/datasource', headers: admin(), payload: { dbUri: 'postgres://a@b/c' } });
    assert.equal(missing.statusCode, 404);
    const c = await h.createClient('Datasource Validation');
    const bad = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/datasource`, headers: admin(), payload: {} });
    assert.equal(bad.statusCode, 400);
  });
});

describe('rotate-key and delete', () => {
  it('rotation invalidates the old key at once and the new one works', async () => {
    const c = await h.createClient('Rotating Clinic');
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: c.headers })).statusCode, 200);
    const res = await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/rotate-key`, headers: admin() });
    assert.equal(res.statusCode, 200, res.body);
    const newKey = res.json().apiKey as string;
    assert.notEqual(newKey, c.apiKey);
    const old = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: c.headers });
    assert.equal(old.statusCode, 401);
    assert.equal(old.json().error.message, 'Invalid API key');
    const fresh = await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: { ...c.headers, 'x-api-key': newKey } });
    assert.equal(fresh.statusCode, 200);
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/clients/nosuchclient/rotate-key', headers: admin() })).statusCode, 404);
  });

  it('delete offboards: then 404 ClientCode not found everywhere', async () => {
    const c = await h.createClient('Leaving Clinic');
    const res = await h.app.inject({ method: 'DELETE', url: `/api/clients/${c.code}`, headers: admin() });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().deleted, true);
    for (const req of [
      { method: 'GET' as const, url: `/api/clients/${c.code}`, headers: admin() },
      { method: 'DELETE' as const, url: `/api/clients/${c.code}`, headers: admin() },
      { method: 'GET' as const, url: '/api/saas/cors', headers: c.headers },
    ]) {
      const after = await h.app.inject(req);
      assert.equal(after.statusCode, 404, `${req.method} ${req.url}`);
      assert.equal(after.json().error.message, 'ClientCode not found');
    }
  });

  it('show of an unknown client is 404', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/clients/ghost', headers: admin() });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.message, 'ClientCode not found');
  });
});

describe('audit', () => {
  it('records admin actions with the admin actor', async () => {
    const c = await h.createClient('Audited Clinic');
    await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/rotate-key`, headers: admin() });
    const { rows } = await h.ctx.controlDb.query<{ action: string; actor: string }>('SELECT action, actor FROM audit_log WHERE client_code = $1 ORDER BY id', [c.code]);
    assert.deepEqual(rows.map((r) => r.action), ['client.create', 'client.rotate-key']);
    assert.ok(rows.every((r) => r.actor === 'admin'));
  });
});


describe('docs', () => {
  it('the OpenAPI document covers the foundation routes and /docs is served', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json() as { paths: Record<string, Record<string, { tags?: string[]; summary?: string }>> };
    const expected: Array<[string, string]> = [
      ['/api/clients', 'post'], ['/api/clients', 'get'], ['/api/clients/{code}', 'get'], ['/api/clients/{code}', 'delete'],
      ['/api/clients/{code}/secrets', 'post'], ['/api/clients/{code}/datasource', 'post'], ['/api/clients/{code}/rotate-key', 'post'],
      ['/api/saas/cors', 'post'], ['/api/saas/cors', 'get'], ['/api/saas/cors', 'delete'], ['/api/saas/health', 'get'],
    ];
    for (const [path, method] of expected) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
      assert.ok(op.summary && op.tags?.length, `${method.toUpperCase()} ${path} has a summary and tags`);
    }
    const docs = await h.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });
});
