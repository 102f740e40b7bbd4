/** The Socket.io postgres adapter's pool guard: nothing it holds or acquires late survives shutdown. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, testServerUrl } from '../../test/harness.ts';
import { createPool, withDatabase } from '../platform/db/pool.ts';
import { releaseDeadClients } from './gateway.ts';

let url: string;
let admin: pg.Pool;
before(async () => {
  url = withDatabase(testServerUrl(), await createTestDatabase('rtpool'));
  admin = createPool({ connectionString: testServerUrl(), max: 1, connectTimeoutMs: 5000 });
});
after(() => admin.end());

async function backends(applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  return rows[0].n;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('shutdown destroys a LISTEN client still checked out, and a checkout after it never connects', async () => {
  const name = 'ecodrix-rt-guard-test';
  const pool = releaseDeadClients(createPool({ connectionString: url, max: 2, connectTimeoutMs: 5000, applicationName: name }));
  const held = await pool.connect();
  await held.query('LISTEN "socket.io#/"');
  let reconnects = 0;
  held.on('end', () => reconnects++); // what the adapter does: schedule a reconnection
  assert.equal(await backends(name), 1);

  pool.shutdown();
  let late = false;
  void pool.connect().then(() => (late = true));
  const ended = pool.end();
  await until('the held connection is gone', async () => (await backends(name)) === 0);
  await ended;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(late, false, 'a checkout after shutdown stays pending');
  assert.equal(reconnects, 0, 'the adapter is not told to reconnect');
  assert.equal(pool.totalCount, 0);
});

test('a client whose connection dies is released, so pool.end() returns', async () => {
  const name = 'ecodrix-rt-guard-dead';
  const pool = releaseDeadClients(createPool({ connectionString: url, max: 2, connectTimeoutMs: 5000, applicationName: name, onError: () => {} }));
  const client = await pool.connect();
  client.on('error', () => {});
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
  await until('the dead client is released', async () => pool.totalCount === 0);
  await pool.end();
});
