/** Health: 200 with database status, version and uptime; 503 when the control database is unreachable. */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, it } from 'node:test';
import { createHttpApp } from '../../src/platform/http/app.ts';
import { createPool } from '../../src/platform/db/pool.ts';
import { registerHealthRoutes } from '../../src/health/routes.ts';
import { startTestApp, type TestApp } from '../harness.ts';

let h: TestApp;
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

it('200 with database status, version and uptime', async () => {
  const res = await h.app.inject({ method: 'GET', url: '/api/saas/health' });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.status, 'ok');
  assert.equal(body.database, 'ok');
  assert.equal(body.version, h.ctx.config.version);
  assert.equal(typeof body.uptimeSeconds, 'number');
  assert.equal(typeof body.databaseLatencyMs, 'number');
});

it('503 when the control database is unreachable, and the server keeps answering', async () => {
  const port = await closedPort();
  const controlDb = createPool({ connectionString: `postgres://postgres:x@127.0.0.1:${port}/gone`, max: 1, connectTimeoutMs: 1000 });
  const ctx = { ...h.ctx, controlDb };
  const app = await createHttpApp({ bodyLimit: 1024, logLevel: 'silent', version: ctx.config.version });
  await registerHealthRoutes(app, ctx);
  try {
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ method: 'GET', url: '/api/saas/health' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().database, 'down');
      assert.equal(res.json().status, 'degraded');
      assert.equal(res.json().version, ctx.config.version);
    }
  } finally {
    await app.close();
    await controlDb.end();
  }
});
