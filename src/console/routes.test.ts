/**
 * The console's static files: served with their types and a strict CSP, the
 * socket.io browser client from the installed package, and nothing outside
 * console/ (traversal, dotfiles, unknown types are 404s). The console itself is
 * driven in Chromium by test/console/console.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startTestApp, type TestApp } from '../../test/harness.ts';

let h: TestApp;
before(async () => { h = await startTestApp(); });
after(() => h.close());

test('/console redirects to /console/, which serves index.html with a strict CSP', async () => {
  const redirect = await h.app.inject({ method: 'GET', url: '/console' });
  assert.equal(redirect.statusCode, 302);
  assert.equal(redirect.headers.location, '/console/');
  const page = await h.app.inject({ method: 'GET', url: '/console/' });
  assert.equal(page.statusCode, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.body, await readFile(new URL('../../console/index.html', import.meta.url), 'utf8'));
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline or eval scripts');
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
});

test('serves the app, its styles and the socket.io browser client with their types', async () => {
  for (const [url, type] of [
    ['/console/app.js', 'text/javascript; charset=utf-8'],
    ['/console/styles.css', 'text/css; charset=utf-8'],
    ['/console/vendor/socket.io.min.js', 'text/javascript; charset=utf-8'],
  ]) {
    const res = await h.app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, url);
    assert.equal(res.headers['content-type'], type, url);
    assert.ok(res.body.length > 1000, `${url} has content`);
  }
  const io = await h.app.inject({ method: 'GET', url: '/console/vendor/socket.io.min.js' });
  assert.match(io.body, /Socket\.IO/);
});

test('nothing outside console/ is served: traversal, dotfiles, unknown types and missing files are 404s', async () => {
  for (const url of [
    '/console/../package.json', '/console/%2e%2e/package.json', '/console/..%2fpackage.json', '/console/%2e%2e%2fsrc%2fconfig.ts',
    '/console/.env', '/console/vendor/.hidden.js', '/console/missing.js', '/console/app.ts', '/console/vendor/socket.io.js',
  ]) {
    const res = await h.app.inject({ method: 'GET', url });
    assert.ok(res.statusCode === 404 || res.statusCode === 400, `${url}: ${res.statusCode}`);
    assert.doesNotMatch(res.body, /"name":\s*"ecodrix|import /, `${url} leaked a file`);
  }
});
