/** Embedded PostgreSQL: cluster reuse across restarts, stale pid files, refusal to initialise over foreign files. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { isAlive, startEmbeddedPostgres } from './embedded-postgres.ts';

let root: string;
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'ecodrix-embedded-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}


it('initialises once, keeps data across stop/start, and survives a stale postmaster.pid', async () => {
  const dir = path.join(root, 'cluster');
  const first = await startEmbeddedPostgres({ dir, settings: { fsync: 'off' } });
  await query(first.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives restarts')");
  const pidBefore = Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const sysid = (await query<{ id: string }>(first.url, 'SELECT system_identifier::text AS id FROM pg_control_system()'))[0].id;
  await first.stop();
  assert.equal(isAlive(pidBefore), false, 'stop() ends the server');
  assert.equal(existsSync(path.join(dir, 'postmaster.pid')), false);

  const second = await startEmbeddedPostgres({ dir, settings: { fsync: 'off' } });
  try {
    assert.deepEqual(await query(second.url, 'SELECT v FROM kept'), [{ v: 'survives restarts' }]);
    const again = (await query<{ id: string }>(second.url, 'SELECT system_identifier::text AS id FROM pg_control_system()'))[0].id;
    assert.equal(again, sysid, 'same cluster, never re-initialised');
  } finally {
    await second.stop();
  }

  // A postmaster.pid left by a crash, naming a pid that no longer exists.
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(gone.stdout);
  assert.equal(isAlive(deadPid), false);
  writeFileSync(path.join(dir, 'postmaster.pid'), `${deadPid}\n${dir}\n1700000000\n5432\n\n127.0.0.1\n  1234567     0\nready   \n`);
  const third = await startEmbeddedPostgres({ dir, settings: { fsync: 'off' } });
  try {
    assert.deepEqual(await query(third.url, 'SELECT v FROM kept'), [{ v: 'survives restarts' }]);
  } finally {
    await third.stop();
  }
});

it('refuses to initialise over a non-empty directory that holds no cluster', async () => {
  const dir = path.join(root, 'foreign');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'important.txt'), 'not a database');
  await assert.rejects(startEmbeddedPostgres({ dir }), /not empty and holds no PostgreSQL cluster/);
  assert.equal(readFileSync(path.join(dir, 'important.txt'), 'utf8'), 'not a database', 'nothing was touched');
});

it('shares the cluster of a live server (the CLI next to it) and takes over from an orphan after kill -9', async () => {
  const dir = path.join(root, 'shared');
  const module = fileURLToPath(new URL('./embedded-postgres.ts', import.meta.url));
  const script = `import { startEmbeddedPostgres } from ${JSON.stringify(module)};
    const pg = await startEmbeddedPostgres({ dir: ${JSON.stringify(dir)}, settings: { fsync: 'off' } });
    process.stdout.write('ready ' + pg.url + '\\n');
    setInterval(() => {}, 1000);`;
  const server = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /ready (\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      server.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    });
    await query(url, "CREATE TABLE shared_marker (v text); INSERT INTO shared_marker VALUES ('from the server')");
    const serverPg = Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);

    const attached = await startEmbeddedPostgres({ dir });
    assert.equal(attached.shared, true, 'attached to the running server instead of stopping it');
    assert.deepEqual(await query(attached.url, 'SELECT v FROM shared_marker'), [{ v: 'from the server' }]);
    await attached.stop();
    assert.ok(isAlive(serverPg), "the server's PostgreSQL keeps running after the CLI is done");
    await query(url, 'SELECT 1');

    // kill -9 the server: its PostgreSQL is orphaned; the next start stops it and starts its own.
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    assert.ok(isAlive(serverPg), 'orphan still running');
    const next = await startEmbeddedPostgres({ dir, settings: { fsync: 'off' } });
    try {
      assert.notEqual(next.shared, true);
      assert.equal(isAlive(serverPg), false, 'the orphan was stopped');
      assert.deepEqual(await query(next.url, 'SELECT v FROM shared_marker'), [{ v: 'from the server' }]);
    } finally {
      await next.stop();
    }
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
});
