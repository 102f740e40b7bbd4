/**
 * Guards generated from the route table, so every new route is covered
 * without anyone remembering to add a test:
 * - every tenant route refuses requests without credentials, with a wrong key,
 *   and with the admin key instead of a client key;
 * - every admin route refuses a client's key;
 * - every route is in the OpenAPI document;
 * - a route that needs no credentials must be listed in PUBLIC_ROUTES with its reason.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp, type TestClient } from '../harness.ts';

/** Routes reachable without an API key, and why. Patterns are matched against the registered URL. */
const PUBLIC_ROUTES: Array<[RegExp, string]> = [
  [/^\/api\/saas\/health$/, 'health check for load balancers'],
  [/^\/openapi\.json$/, 'API description'],
  [/^\/docs(\/.*)?$/, 'API docs page'],
  [/^\/metrics$/, 'checks the admin token or METRICS_TOKEN itself'],
  [/^\/api\/saas\/whatsapp\/webhook$/, 'Meta: handshake verify token / X-Hub-Signature-256'],
  [/^\/api\/auth\/google\/(connect|callback)$/, 'browser OAuth round trip with a signed state'],
  [/^\/api\/saas\/email\/(unsubscribe|open|click)(\/.*)?$/, 'signed unsubscribe and tracking links (the token is the credential)'],
  [/^\/api\/saas\/media\/files\/.*$/, 'signed, expiring media links'],
  [/^\/console(\/.*)?$/, 'console static files (the console signs in itself)'],
  [/^\/socket\.io\/.*$/, 'Socket.io authenticates at handshake'],
  [/^\/sandbox\/graph(\/.*)?$/, 'built-in WhatsApp simulator (fake Graph API)'],
];

let h: TestApp;
let client: TestClient;
before(async () => {
  h = await startTestApp();
  client = await h.createClient('Route Table Clinic');
});
after(() => h.close());

function concrete(url: string): string {
  return url.replace(/\*$/, 'x').replace(/:([A-Za-z]+)/g, (_m, name: string) => (/id$/i.test(name) ? '00000000-0000-4000-8000-000000000000' : 'sample'));
}

function isPublic(url: string): boolean {
  return PUBLIC_ROUTES.some(([pattern]) => pattern.test(url));
}

function isAdmin(url: string): boolean {
  return url.startsWith('/api/clients') || url.startsWith('/api/admin');
}

test('every route without credentials is either public (listed with a reason) or refused with 401/404', async () => {
  const unexpected: string[] = [];
  for (const route of h.app.routeTable) {
    if (route.method === 'OPTIONS' || isPublic(route.url)) continue;
    const res = await h.app.inject({ method: route.method as 'GET', url: concrete(route.url), payload: ['GET', 'DELETE'].includes(route.method) ? undefined : {} });
    if (![401, 404].includes(res.statusCode) || res.json().error?.code === 'ROUTE_NOT_FOUND') unexpected.push(`${route.method} ${route.url} → ${res.statusCode}`);
  }
  assert.deepEqual(unexpected, [], 'routes answering without credentials (add auth, or list them in PUBLIC_ROUTES with a reason)');
});

test('every tenant route refuses a wrong key and the admin key; every admin route refuses a client key', async () => {
  const problems: string[] = [];
  for (const route of h.app.routeTable) {
    if (route.method === 'OPTIONS' || isPublic(route.url)) continue;
    const url = concrete(route.url);
    const payload = ['GET', 'DELETE'].includes(route.method) ? undefined : {};
    if (isAdmin(route.url)) {
      const res = await h.app.inject({ method: route.method as 'GET', url, headers: client.headers, payload });
      if (res.statusCode !== 401) problems.push(`admin ${route.method} ${route.url} with a client key → ${res.statusCode}`);
    } else {
      const wrong = await h.app.inject({ method: route.method as 'GET', url, headers: { ...client.headers, 'x-api-key': `${client.apiKey.slice(0, -1)}${client.apiKey.endsWith('x') ? 'y' : 'x'}` }, payload });
      if (wrong.statusCode !== 401) problems.push(`tenant ${route.method} ${route.url} with a wrong key → ${wrong.statusCode}`);
      const admin = await h.app.inject({ method: route.method as 'GET', url, headers: { ...h.adminHeaders, 'x-client-code': client.code }, payload });
      if (admin.statusCode !== 401) problems.push(`tenant ${route.method} ${route.url} with the admin key → ${admin.statusCode}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('every route is described in /openapi.json', async () => {
  const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const missing: string[] = [];
  for (const route of h.app.routeTable) {
    if (route.hidden || route.method === 'OPTIONS' || /^\/(docs|console|socket\.io|sandbox\/graph)/.test(route.url)) continue;
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{*}');
    if (!doc.paths[path]?.[route.method.toLowerCase()]) missing.push(`${route.method} ${route.url}`);
  }
  assert.deepEqual(missing, []);
});
