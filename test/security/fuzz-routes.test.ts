/**
 * Property-based fuzzing of every route in the route table (new routes are
 * covered automatically): hostile JSON bodies, query strings and path values
 * sent with valid credentials must never produce a 5xx, and the server keeps
 * serving afterwards. Also raw hostile bodies: invalid UTF-8, deep nesting,
 * prototype keys, huge numbers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestApp, type TestApp, type TestClient } from '../harness.ts';

let h: TestApp;
let client: TestClient;
before(async () => {
  // Google configured (with a fake client) so the OAuth callback validates its state instead of answering 503 'not configured'.
  h = await startTestApp({ env: { GOOGLE_CLIENT_ID: 'fuzz-client-id', GOOGLE_CLIENT_SECRET: 'fuzz-client-secret' } });
  client = await h.createClient('Fuzz Clinic');
});
after(() => h.close());

const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
/** Routes whose happy path has outside effects the fuzzer must not trigger. */
const SKIP = [/^\/docs/, /^\/console/, /^\/socket\.io/, /^\/openapi\.json$/, /^\/api\/clients\/:code$/];

function headersFor(url: string): Record<string, string> {
  if (url.startsWith('/api/clients') || url.startsWith('/api/admin') || url === '/metrics') return h.adminHeaders;
  return client.headers;
}

const hostileString = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.constantFrom('__proto__', 'constructor', '../../etc/passwd', '%00', '\u0000', '<script>alert(1)</script>', "' OR 1=1 --", 'a'.repeat(5000), '😀'.repeat(50), '-1', '1e400', '9007199254740993'),
);
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype')), tie('value'), { maxKeys: 5 })),
})).value;

function concrete(url: string, value: string): string {
  return url.replace(/\*$/, encodeURIComponent(value)).replace(/:([A-Za-z]+)/g, () => encodeURIComponent(value) || 'x');
}

test('no route answers 5xx to hostile bodies, queries or path values', async () => {
  const failures: string[] = [];
  const routes = h.app.routeTable.filter((r) => r.method !== 'OPTIONS' && !SKIP.some((p) => p.test(r.url)));
  for (const route of routes) {
    await fc.assert(fc.asyncProperty(hostileValue, hostileString, fc.dictionary(fc.string({ maxLength: 12 }), hostileString, { maxKeys: 4 }), async (body, pathValue, query) => {
      const qs = new URLSearchParams(query as Record<string, string>).toString();
      const res = await h.app.inject({
        method: route.method as 'POST',
        url: `${concrete(route.url, pathValue)}${qs ? `?${qs}` : ''}`,
        headers: { ...headersFor(route.url), 'content-type': 'application/json' },
        payload: ['GET', 'DELETE'].includes(route.method) ? undefined : JSON.stringify(body),
      });
      if (res.statusCode >= 500) {
        failures.push(`${route.method} ${route.url} → ${res.statusCode} ${res.body.slice(0, 200)} for ${JSON.stringify(body).slice(0, 200)}`);
        return false;
      }
      return true;
    }), { numRuns: RUNS, endOnFailure: true }).catch(() => {});
  }
  assert.deepEqual(failures, []);
  const health = await h.app.inject({ method: 'GET', url: '/api/saas/health' });
  assert.equal(health.statusCode, 200, 'still serving');
});

test('raw hostile bodies get a clear 4xx: invalid UTF-8, deep nesting, prototype keys, truncated JSON', async () => {
  const bodies: Array<[string, string | Buffer]> = [
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x75, 0x72, 0x6c, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d])],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['__proto__ key', '{"url":"https://a.example","__proto__":{"polluted":true}}'],
    ['constructor.prototype', '{"constructor":{"prototype":{"polluted":true}}}'],
    ['truncated', '{"url": "https://a.exa'],
    ['not JSON', 'url=https://a.example'],
  ];
  for (const [name, payload] of bodies) {
    const res = await h.app.inject({ method: 'POST', url: '/api/saas/cors', headers: { ...client.headers, 'content-type': 'application/json' }, payload });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${name}: ${res.statusCode} ${res.body}`);
    assert.equal(typeof res.json().error.message, 'string', name);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted');
});
