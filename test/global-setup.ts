/**
 * Runs once per `npm test`: one embedded PostgreSQL for the whole run (fsync
 * off, in a temporary directory), plus a migrated control-database template
 * that each test file clones (see test/harness.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/platform/db/embedded-postgres.ts';
import { CONTROL_MIGRATIONS, migrate } from '../src/platform/db/migrate.ts';
import { createPool, withDatabase } from '../src/platform/db/pool.ts';
import { PgBoss } from 'pg-boss';

let server: EmbeddedPostgres | undefined;
let dir: string | undefined;

export const TEMPLATE_DB = 'ecodrix_test_template';

export async function globalSetup(): Promise<void> {
  // Node's on-disk compile cache (keyed by file content) for every test file process and every
  // ECODrIx process the tests spawn: each one loads the whole app, and compiling it is about half
  // of a process's start-up time.
  process.env.NODE_COMPILE_CACHE ??= path.join(tmpdir(), 'ecodrix-test-compile-cache');
  if (process.env.ECODRIX_TEST_PG_URL) return; // an outer runner already started one
  dir = mkdtempSync(path.join(tmpdir(), 'ecodrix-test-'));
  server = await startEmbeddedPostgres({
    dir: path.join(dir, 'pg'),
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '500' },
  });
  const admin = createPool({ connectionString: server.url, max: 2, connectTimeoutMs: 5000 });
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  const template = createPool({ connectionString: withDatabase(server.url, TEMPLATE_DB), max: 2, connectTimeoutMs: 5000 });
  await migrate(template, CONTROL_MIGRATIONS, 'public');
  await template.end();
  // Install pg-boss's schema in the template too, so each test file's queue starts fast.
  const boss = new PgBoss({ connectionString: withDatabase(server.url, TEMPLATE_DB), schema: 'pgboss', supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.stop({ graceful: false, close: true });
  process.env.ECODRIX_TEST_PG_URL = server.url;
}

export async function globalTeardown(): Promise<void> {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
