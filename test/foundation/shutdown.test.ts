/** Graceful stop: new connections are refused, in-flight requests finish, then pools close. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { onApiStart } from '../../src/server.ts';
import { startTestApp } from '../harness.ts';

let entered = false;
let release!: () => void;
const released = new Promise<void>((r) => (release = r));

onApiStart((app) => {
  app.get('/test/slow', async () => {
    entered = true;
    await released;
    return { finished: true };
  });
});

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('finishes in-flight requests while refusing new ones, then closes', async () => {
  const h = await startTestApp({ listen: true });
  const inflight = fetch(`${h.url}/test/slow`);
  await until('the slow request reached its handler', () => entered);

  let closed = false;
  const closing = h.close().then(() => (closed = true));
  await until('new requests are refused', async () => {
    try {
      const res = await fetch(`${h.url}/api/saas/health`, { headers: { connection: 'close' } });
      return res.status === 503;
    } catch {
      return true; // connection refused: no longer listening
    }
  });
  assert.equal(closed, false, 'close waits for the in-flight request');

  release();
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { finished: true });
  await closing;
  assert.equal(closed, true);
  assert.equal(h.ctx.tenantPools.stats().pools, 0);
  assert.equal(h.ctx.controlDb.totalCount, 0, 'control pool closed');
});
