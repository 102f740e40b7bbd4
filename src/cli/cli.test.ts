/** The `ecodrix` CLI, spawned as a real process against a test control database. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPool, quoteIdent, withDatabase } from '../platform/db/pool.ts';
import { hashApiKey } from '../platform/crypto/api-keys.ts';
import { runCli, type CliRun } from '../../test/support/run-cli.ts';
import { childEnvBase, createTestDatabase, testServerUrl, TEST_ADMIN_TOKEN, TEST_ENCRYPTION_KEY, TEST_BLIND_INDEX_KEY } from '../../test/harness.ts';

let database: string;
let dataDir: string;
let db: ReturnType<typeof createPool>;
let env: Record<string, string>;

function run(args: string[], options: { node?: string } = {}): Promise<CliRun> {
  return runCli(args, env, options);
}

async function json(args: string[]): Promise<any> {
  const r = await run([...args, '--json']);
  assert.equal(r.code, 0, `ecodrix ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

before(async () => {
  database = await createTestDatabase('cli');
  dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-cli-'));
  db = createPool({ connectionString: withDatabase(testServerUrl(), database), max: 2, connectTimeoutMs: 5000 });
  env = {
    ...childEnvBase(),
    NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), database),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`,
    BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY,
    DATA_DIR: dataDir,
  };
});
after(async () => {
  await db.end();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ecodrix CLI', () => {
  it('prints help (exit 0) and refuses bad usage with exit 2', async () => {
    // Independent invocations: run side by side (each is a whole process start).
    const [help, groupHelp, none, unknown, missing, badFlag] = await Promise.all([
      run(['--help']), run(['clients', '--help']), run([]), run(['frobnicate']), run(['clients', 'create', '--name', 'X']), run(['clients', 'list', '--bogus']),
    ]);
    assert.equal(help.code, 0);
    for (const group of ['clients', 'secrets', 'datasource']) assert.match(help.stdout, new RegExp(`\\b${group}\\b`));
    assert.equal(groupHelp.code, 0);
    assert.match(groupHelp.stdout, /rotate-key/);
    assert.equal(none.code, 2);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--email is required/);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /bogus/);
  });

  it('runs under a system Node without type stripping by re-executing with the pinned Node 24', async (t) => {
    const system = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p));
    const version = system ? spawnSync(system, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
    if (!system || Number(version.slice(1).split('.')[0]) >= 23) return t.skip('no older system Node here');
    const r = await run(['clients', 'list', '--json'], { node: system });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Array.isArray(JSON.parse(r.stdout).items));
  });

  it('creates, lists, shows, sets secrets and datasource, rotates and deletes, like the admin API', async () => {
    const created = await json(['clients', 'create', '--name', 'Dr. Sharma Clinic', '--email', 'contact@sharmaclinic.com']);
    assert.equal(created.clientCode, 'sharmaclinic');
    assert.match(created.apiKey, /^ecx_live_/);
    const stored = await db.query<{ api_key_hash: string }>('SELECT api_key_hash FROM clients WHERE code = $1', ['sharmaclinic']);
    assert.equal(stored.rows[0].api_key_hash, hashApiKey(created.apiKey));

    const human = await run(['clients', 'create', '--name', 'Beta Dental', '--email', 'b@beta.test', '--code', 'BetaDental']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /Created client BetaDental/);
    assert.match(human.stdout, /API key \(shown once/);

    const dup = await run(['clients', 'create', '--name', 'Again', '--email', 'x@y.test', '--code', 'SHARMACLINIC']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already taken/);

    const list = await json(['clients', 'list']);
    assert.deepEqual(list.items.map((c: { clientCode: string }) => c.clientCode).sort(), ['BetaDental', 'sharmaclinic']);
    assert.equal(JSON.stringify(list).includes(created.apiKey), false);
    const humanList = await run(['clients', 'list', '--limit', '1']);
    assert.match(humanList.stdout, /More: ecodrix clients list --cursor \d+/);

    const token = 'EAAG-cli-secret-token-abcdef';
    const secrets = await run(['secrets', 'set', '--client', 'sharmaclinic', '--whatsappToken', token, '--smtpPort', '587', '--whatsappPhoneNumberId', '4455']);
    assert.equal(secrets.code, 0, secrets.stderr);
    assert.match(secrets.stdout, /Updated/);
    assert.equal(secrets.stdout.includes(token), false);
    const badSecret = await run(['secrets', 'set', '--client', 'sharmaclinic', '--notAField', 'x']);
    assert.equal(badSecret.code, 2);
    const noSecret = await run(['secrets', 'set', '--client', 'sharmaclinic']);
    assert.equal(noSecret.code, 2);

    const show = await json(['clients', 'show', 'SharmaClinic']);
    assert.deepEqual(Object.keys(show.secrets).sort(), ['smtpPort', 'whatsappPhoneNumberId', 'whatsappToken']);
    assert.equal(JSON.stringify(show).includes(token), false);
    const humanShow = await run(['clients', 'show', 'sharmaclinic']);
    assert.match(humanShow.stdout, /whatsappToken\s+••••cdef/);

    const mongo = await run(['datasource', 'set', '--client', 'sharmaclinic', '--uri', 'mongodb+srv://u:p@cluster0.mongodb.net/x']);
    assert.equal(mongo.code, 1);
    assert.match(mongo.stderr, /postgres/);
    const own = `${database}_own`;
    const admin = createPool({ connectionString: testServerUrl(), max: 1, connectTimeoutMs: 5000 });
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(own)}`);
      const ds = await json(['datasource', 'set', '--client', 'sharmaclinic', '--uri', withDatabase(testServerUrl(), own)]);
      assert.equal(ds.connected, true);
      assert.equal(JSON.stringify(ds).includes(new URL(testServerUrl()).password), false);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(own)} WITH (FORCE)`).catch(() => {});
      await admin.end();
    }

    const rotated = await json(['clients', 'rotate-key', 'sharmaclinic']);
    assert.notEqual(rotated.apiKey, created.apiKey);
    const after = await db.query<{ api_key_hash: string }>('SELECT api_key_hash FROM clients WHERE code = $1', ['sharmaclinic']);
    assert.equal(after.rows[0].api_key_hash, hashApiKey(rotated.apiKey));

    const unconfirmed = await run(['clients', 'delete', 'sharmaclinic']);
    assert.equal(unconfirmed.code, 2);
    assert.match(unconfirmed.stderr, /--yes/);
    const deleted = await json(['clients', 'delete', 'sharmaclinic', '--yes']);
    assert.equal(deleted.deleted, true);
    const gone = await run(['clients', 'show', 'sharmaclinic', '--json']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /ClientCode not found/);
    assert.equal(JSON.parse(gone.stdout).error.code, 'CLIENT_NOT_FOUND');

    const audit = await db.query<{ action: string; actor: string }>("SELECT action, actor FROM audit_log WHERE client_code = 'sharmaclinic' ORDER BY id");
    assert.deepEqual(audit.rows.map((r) => r.action), ['client.create', 'secrets.set', 'datasource.set', 'client.rotate-key', 'client.delete']);
    assert.ok(audit.rows.every((r) => r.actor === 'cli'));
  });

  it('reports configuration problems with exit 1', async () => {
    const saved = env;
    env = { ...env, NODE_ENV: 'production', CORE_API_TOKEN: '', ENCRYPTION_KEYS: '' };
    try {
      const r = await run(['clients', 'list']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /CORE_API_TOKEN/);
    } finally {
      env = saved;
    }
  });
});
