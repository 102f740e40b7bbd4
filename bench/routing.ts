/**
 * Benchmark: the cost of authenticating and routing a tenant request (API key
 * check, client lookup by code, tenant pool lookup, one query on the client's
 * database) with 10 clients and then with 10,000 clients, in the same run, on
 * its own embedded PostgreSQL. Alternates the two sizes (10, 10k, 10, 10k, ...)
 * and reports the median of each, to cancel drift on a busy machine; checks
 * that the client lookup uses its index. BENCH_REQUESTS, BENCH_ROUNDS tune it.
 * Prints one JSON line: { bench, clients10: {p50, p95, rps}, clients10000: {...}, ratio }.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createAuthHooks } from '../src/auth/auth-hooks.ts';
import { boot } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import { buildHttpApp } from '../src/http.ts';
import { createClient } from '../src/tenants/index.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BULK = 10_000;

interface Figures { p50: number; p95: number; rps: number }

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-'));
const config = parseConfig({
  NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent',
  CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef', ENCRYPTION_KEY: '33'.repeat(32),
  AUTH_FAILURE_LIMIT: '100000',
});
const booted = await boot({ config, logger: pino({ level: 'silent' }) });
const { ctx } = booted;
try {
  const app = await buildHttpApp(ctx);
  const auth = createAuthHooks(ctx);
  app.get('/bench/tenant', { preHandler: auth.tenant }, async (request) => {
    const db = await request.tenantDb();
    await db.query('SELECT 1');
    return { ok: true };
  });
  await app.ready();

  const clients: Array<Record<string, string>> = [];
  for (let i = 0; i < 10; i++) {
    const c = await createClient(ctx, { name: `Bench Clinic ${i}`, email: `bench${i}@example.com`, actor: 'bench' });
    clients.push({ 'x-api-key': c.apiKey, 'x-client-code': c.clientCode.toUpperCase() });
  }

  async function measure(): Promise<Figures> {
    for (let i = 0; i < 200; i++) await app.inject({ method: 'GET', url: '/bench/tenant', headers: clients[i % clients.length] }); // warm
    const times: number[] = [];
    const start = performance.now();
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now();
      const res = await app.inject({ method: 'GET', url: '/bench/tenant', headers: clients[(i * 7) % clients.length] });
      times.push(performance.now() - t0);
      if (res.statusCode !== 200) throw new Error(`bench request failed: ${res.statusCode} ${res.body}`);
    }
    const total = performance.now() - start;
    times.sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 1000) / 1000;
    return { p50: round(percentile(times, 0.5)), p95: round(percentile(times, 0.95)), rps: Math.round(REQUESTS / (total / 1000)) };
  }

  async function addBulk(): Promise<void> {
    await ctx.controlDb.query(
      `INSERT INTO clients (code, name, email, api_key_hash, api_key_hint)
       SELECT 'bulkclient' || g, 'Bulk Client ' || g, 'bulk' || g || '@example.com', encode(sha256(('bulk-key-' || g)::bytea), 'hex'), 'ecx_live_…' || g
       FROM generate_series(1, $1) g`, [BULK - clients.length]);
    await ctx.controlDb.query(
      `INSERT INTO client_datasources (client_id, uri_envelope, key_id, display_uri, provisioned)
       SELECT id, 'v1:bench:x:x:x', 'bench', 'postgres://bulk', false FROM clients WHERE code LIKE 'bulkclient%'`);
    await ctx.controlDb.query('ANALYZE clients; ANALYZE client_datasources');
  }

  async function removeBulk(): Promise<void> {
    await ctx.controlDb.query("DELETE FROM clients WHERE code LIKE 'bulkclient%'");
    await ctx.controlDb.query('ANALYZE clients; ANALYZE client_datasources');
  }

  const small: Figures[] = [];
  const large: Figures[] = [];
  let plan = '';
  for (let round = 0; round < ROUNDS; round++) {
    small.push(await measure());
    await addBulk();
    const { rows } = await ctx.controlDb.query<{ n: number }>('SELECT count(*)::int AS n FROM clients');
    if (rows[0].n !== BULK) throw new Error(`expected ${BULK} clients, have ${rows[0].n}`);
    if (!plan) {
      const explained = await ctx.controlDb.query<{ 'QUERY PLAN': string }>(
        'EXPLAIN SELECT c.*, d.updated_at::text AS datasource_version FROM clients c LEFT JOIN client_datasources d ON d.client_id = c.id WHERE lower(c.code) = lower($1)', ['bulkclient42']);
      plan = explained.rows.map((r) => r['QUERY PLAN']).join(' | ');
      if (!/Index Scan/.test(plan)) throw new Error(`client lookup does not use an index: ${plan}`);
    }
    large.push(await measure());
    await removeBulk();
  }
  const median = (list: Figures[], key: keyof Figures) => list.map((f) => f[key]).sort((a, b) => a - b)[Math.floor((list.length - 1) / 2)];
  const pick = (list: Figures[]): Figures => ({ p50: median(list, 'p50'), p95: median(list, 'p95'), rps: median(list, 'rps') });
  const clients10 = pick(small);
  const clients10000 = pick(large);
  await app.close();
  process.stdout.write(`${JSON.stringify({
    bench: 'routing', unit: 'ms', requests: REQUESTS, rounds: ROUNDS, lookup: plan.includes('clients_code_lower') ? 'index clients_code_lower' : 'index',
    clients10, clients10000, ratio: Math.round((clients10000.p50 / clients10.p50) * 100) / 100, target: '<= 1.2',
  })}\n`);
} finally {
  await booted.close();
  rmSync(dataDir, { recursive: true, force: true });
}
