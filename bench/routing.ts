/**
 * Benchmark: the cost of authenticating and routing a tenant request (API key
 * check, client lookup by code, tenant pool lookup, one query on the client's
 * database) with 10 clients versus 10,000 clients, in the same run.
 *
 * Two control databases on one embedded PostgreSQL (own temp dir): one with 10
 * clients, one with 10 + 9,990 bulk-inserted clients, each with its own app.
 * Requests alternate between the two (A B, B A, ...), so load from anything
 * else on the machine hits both sides equally. Checks that the client lookup
 * uses its index. BENCH_REQUESTS tunes the number of requests per side.
 * Prints one JSON line: { bench, clients10: {p50, p95, rps}, clients10000: {...}, ratio }.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createAuthHooks } from '../src/auth/auth-hooks.ts';
import { boot, type Booted } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import { buildHttpApp } from '../src/http.ts';
import { withDatabase } from '../src/platform/db/pool.ts';
import { createClient } from '../src/tenants/index.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CLIENTS = 10;
const LARGE = 10_000;

interface Side { booted: Booted; app: FastifyInstance; clients: Array<Record<string, string>>; times: number[] }

const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-'));
const base = {
  NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', TENANT_AUTO_PROVISION: 'true',
  CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef', ENCRYPTION_KEY: '33'.repeat(32), AUTH_FAILURE_LIMIT: '100000',
};

async function side(booted: Booted): Promise<Side> {
  const { ctx } = booted;
  const app = await buildHttpApp(ctx);
  const auth = createAuthHooks(ctx);
  app.get('/bench/tenant', { preHandler: auth.tenant }, async (request) => {
    const db = await request.tenantDb();
    await db.query('SELECT 1');
    return { ok: true };
  });
  await app.ready();
  const clients: Array<Record<string, string>> = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = await createClient(ctx, { name: `Bench Clinic ${i}`, email: `bench${i}@example.com`, actor: 'bench' });
    clients.push({ 'x-api-key': c.apiKey, 'x-client-code': c.clientCode.toUpperCase() });
  }
  return { booted, app, clients, times: [] };
}

async function once(s: Side, i: number): Promise<void> {
  const t0 = performance.now();
  const res = await s.app.inject({ method: 'GET', url: '/bench/tenant', headers: s.clients[(i * 7) % s.clients.length] });
  s.times.push(performance.now() - t0);
  if (res.statusCode !== 200) throw new Error(`bench request failed: ${res.statusCode} ${res.body}`);
}

function figures(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] * 1000) / 1000;
  const total = times.reduce((a, b) => a + b, 0);
  return { p50: at(0.5), p95: at(0.95), rps: Math.round(times.length / (total / 1000)) };
}

const small = await side(await boot({ config: parseConfig(base), logger: pino({ level: 'silent' }) }));
const sides: Side[] = [small];
try {
  await small.booted.ctx.controlDb.query('CREATE DATABASE bench_large');
  const largeUrl = withDatabase(small.booted.ctx.controlUrl, 'bench_large');
  const large = await side(await boot({ config: parseConfig({ ...base, DATABASE_URL: largeUrl }), logger: pino({ level: 'silent' }) }));
  sides.push(large);
  const db = large.booted.ctx.controlDb;
  await db.query(
    `INSERT INTO clients (code, name, email, api_key_hash, api_key_hint)
     SELECT 'bulkclient' || g, 'Bulk Client ' || g, 'bulk' || g || '@example.com', encode(sha256(('bulk-key-' || g)::bytea), 'hex'), 'ecx_live_…'
     FROM generate_series(1, $1) g`, [LARGE - CLIENTS]);
  await db.query(
    `INSERT INTO client_datasources (client_id, uri_envelope, key_id, display_uri, provisioned)
     SELECT id, 'v1:bench:x:x:x', 'bench', 'postgres://bulk', false FROM clients WHERE code LIKE 'bulkclient%'`);
  await db.query('VACUUM ANALYZE clients');
  await db.query('VACUUM ANALYZE client_datasources');
  const count = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clients')).rows[0].n;
  if (count !== LARGE) throw new Error(`expected ${LARGE} clients, have ${count}`);
  const plan = (await db.query<{ 'QUERY PLAN': string }>(
    'EXPLAIN SELECT c.*, d.updated_at::text AS datasource_version FROM clients c LEFT JOIN client_datasources d ON d.client_id = c.id WHERE lower(c.code) = lower($1)', ['bulkclient42'],
  )).rows.map((r) => r['QUERY PLAN']).join(' | ');
  if (!/Index Scan/.test(plan)) throw new Error(`client lookup does not use an index: ${plan}`);

  for (let i = 0; i < 300; i++) for (const s of sides) await once(s, i); // warm pools, caches, JIT
  for (const s of sides) s.times.length = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) await once(s, i);
  }
  const clients10 = figures(small.times);
  const clients10000 = figures(large.times);
  process.stdout.write(`${JSON.stringify({
    bench: 'routing', unit: 'ms', requests: REQUESTS, lookup: /clients_code_lower/.test(plan) ? 'index clients_code_lower' : 'index',
    clients10, clients10000, ratio: Math.round((clients10000.p50 / clients10.p50) * 100) / 100, target: '<= 1.2',
  })}\n`);
} finally {
  for (const s of sides.reverse()) {
    await s.app.close();
    await s.booted.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
}
