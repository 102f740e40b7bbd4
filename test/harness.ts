/**
 * Whole-app test harness. Each call gets a fresh control database cloned from
 * the migrated template on the run's single embedded PostgreSQL (see
 * global-setup.ts), boots the real app on it with fixed test secrets, and
 * captures every log line (so tests can prove secrets never appear).
 *
 *   const h = await startTestApp();           // in before()
 *   after(() => h.close());
 *   const a = await h.createClient('Clinic A');
 *   await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: a.headers });
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { boot, type Booted } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import type { AppContext } from '../src/context.ts';
import { createPool, withDatabase } from '../src/platform/db/pool.ts';
import { loggerOptions } from '../src/platform/logger.ts';
import { startRoles, type Role } from '../src/server.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const TEST_ENCRYPTION_KEY = '11'.repeat(32);
export const TEST_BLIND_INDEX_KEY = '22'.repeat(32);

export interface TestClient {
  id: string;
  code: string;
  apiKey: string;
  /** `x-api-key` + `x-client-code` headers for tenant routes. */
  headers: Record<string, string>;
}

export interface TestApp {
  ctx: AppContext;
  booted: Booted;
  app: FastifyInstance;
  /** Base URL when started with `listen: true` (http://127.0.0.1:<port>). */
  url?: string;
  adminHeaders: Record<string, string>;
  /** Every log line written so far (JSON strings). */
  logs: string[];
  /** Name of this test's control database. */
  database: string;
  createClient(name?: string, extra?: { email?: string; clientCode?: string }): Promise<TestClient>;
  close(): Promise<void>;
}

export interface StartTestAppOptions {
  /** Extra environment variables (override the test defaults). */
  env?: Record<string, string>;
  /** Roles to run; default api + worker (no cron). */
  roles?: Role[];
  /** Listen on a real loopback port (needed for Socket.io, webhooks from simulators). */
  listen?: boolean;
}

export function testServerUrl(): string {
  const url = process.env.ECODRIX_TEST_PG_URL;
  if (!url) throw new Error('ECODRIX_TEST_PG_URL is not set: run tests through `npm test` (global setup starts PostgreSQL)');
  return url;
}

/**
 * Base environment for ECODrIx processes a test spawns with an otherwise explicit environment:
 * PATH, HOME and the run's module compile cache (set by global-setup.ts), so each spawn skips
 * re-compiling the app.
 */
export function childEnvBase(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  if (process.env.NODE_COMPILE_CACHE) env.NODE_COMPILE_CACHE = process.env.NODE_COMPILE_CACHE;
  return env;
}

/** Creates a fresh database cloned from the migrated control template. */
export async function createTestDatabase(prefix = 'ecx'): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = createPool({ connectionString: testServerUrl(), max: 1, connectTimeoutMs: 5000 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ecodrix_test_template`);
        break;
      } catch (err) {
        // "source database is being accessed by other users": another file is cloning at the same moment.
        if (attempt > 50 || (err as { code?: string }).code !== '55006') throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.end();
  }
  return name;
}

export async function startTestApp(options: StartTestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const config = parseConfig({
    NODE_ENV: 'test',
    DATABASE_URL: withDatabase(testServerUrl(), database),
    CORE_API_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEYS: `test1:${TEST_ENCRYPTION_KEY}`,
    BLIND_INDEX_KEY: TEST_BLIND_INDEX_KEY,
    TENANT_AUTO_PROVISION: 'true',
    LOG_LEVEL: 'info',
    DATA_DIR: `/tmp/ecodrix-test-data/${database}`,
    AUTH_FAILURE_LIMIT: '1000',
    JOB_BACKOFF_SECONDS: '1',
    ...options.env,
  });
  const logger = pino(loggerOptions(config.logLevel), sink);
  const booted = await boot({ config, logger });
  const roles = options.roles ?? ['api', 'worker'];
  const server = await startRoles(booted, roles, options.listen ? { port: 0, host: '127.0.0.1' } : { port: 0, host: '127.0.0.1' });
  const app = server.app!;
  const adminHeaders = { 'x-core-api-key': TEST_ADMIN_TOKEN };
  let counter = 0;
  return {
    ctx: booted.ctx,
    booted,
    app,
    url: server.url,
    adminHeaders,
    logs,
    database,
    async createClient(name, extra = {}) {
      counter++;
      const response = await app.inject({
        method: 'POST', url: '/api/clients', headers: adminHeaders,
        payload: { name: name ?? `Test Client ${counter}`, email: extra.email ?? `client${counter}@example.com`, ...(extra.clientCode ? { clientCode: extra.clientCode } : {}) },
      });
      if (response.statusCode !== 201) throw new Error(`createClient failed: ${response.statusCode} ${response.body}`);
      const body = response.json() as { id: string; clientCode: string; apiKey: string };
      return { id: body.id, code: body.clientCode, apiKey: body.apiKey, headers: { 'x-api-key': body.apiKey, 'x-client-code': body.clientCode } };
    },
    async close() {
      await server.stop();
    },
  };
}
