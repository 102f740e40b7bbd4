/**
 * Benchmark: memory and database connections with 1,000 active tenants
 * (BENCH_TENANTS).
 *
 * Spawns the real server (`node src/main.ts`, all roles, embedded PostgreSQL
 * in a temp DATA_DIR, default connection budget TENANT_CONNECTION_BUDGET=60
 * with TENANT_POOL_MAX=3 unless BENCH_BUDGET / BENCH_POOL_MAX say otherwise).
 * Baseline: the RSS of that booted app with 0 tenants. Setup: the clients are
 * created through the admin API; their databases are cloned with
 * `CREATE DATABASE … TEMPLATE` from one migrated tenant database, in parallel
 * batches (BENCH_CLONE_PARALLEL, default 4), under the names the server
 * provisions, so each client's first request adopts its database as the
 * server does. Then every tenant makes requests through the real HTTP app
 * (`GET /api/crm/leads?limit=1`, BENCH_ROUNDS passes over all tenants,
 * BENCH_CONCURRENCY in flight), so pools are created and evicted under the
 * budget. The server's RSS (/proc) and the tenant connections in
 * pg_stat_activity are sampled every 100 ms. Prints one JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate, TENANT_MIGRATIONS, TENANT_SCHEMA } from '../src/platform/db/migrate.ts';

const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const CLONE_PARALLEL = Number(process.env.BENCH_CLONE_PARALLEL ?? 4);
const STRATEGY = process.env.BENCH_CLONE_STRATEGY === 'file_copy' ? 'FILE_COPY' : 'WAL_LOG';
const BUDGET = Number(process.env.BENCH_BUDGET ?? 60);
const POOL_MAX = Number(process.env.BENCH_POOL_MAX ?? 3);
const ADMIN = 'bench-admin-token-0123456789abcdef';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string) => process.stderr.write(`[memory] ${line}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0) * 10) / 10;
}

async function parallel<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

const tmp = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-memory-'));
const dataDir = path.join(tmp, 'data');
let child: ChildProcess | undefined;
let exited: Promise<void> = Promise.resolve();

async function stopServer(): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child?.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopServer().finally(() => {
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  }));
}

try {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env, NODE_ENV: 'test', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    CORE_API_TOKEN: ADMIN, ENCRYPTION_KEY: '77'.repeat(32), AUTH_FAILURE_LIMIT: '100000', TENANT_AUTO_PROVISION: 'true',
    TENANT_CONNECTION_BUDGET: String(BUDGET), TENANT_POOL_MAX: String(POOL_MAX),
  };
  delete env.DATABASE_URL;
  child = spawn(process.execPath, [path.join(root, 'src/main.ts')], { cwd: tmp, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const server = child;
  let serverStderr = '';
  server.stderr?.on('data', (d: Buffer) => (serverStderr = (serverStderr + d.toString()).slice(-4000)));
  exited = new Promise((resolve) => server.once('exit', () => resolve()));
  const pid = server.pid!;

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`server exited during start: ${serverStderr.trim().slice(-500)}`);
    try {
      if ((await fetch(`${base}/api/saas/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('server did not become healthy in 90 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  for (let i = 0; i < 100; i++) await (await fetch(`${base}/api/saas/health`)).text();
  await new Promise((r) => setTimeout(r, 3000));
  const baseline = rssMb(pid).rss;
  log(`booted with 0 tenants: RSS ${baseline.toFixed(1)} MB`);

  // Setup 1: clients through the admin API.
  const setup0 = performance.now();
  const clients: Array<{ code: string; apiKey: string }> = new Array(TENANTS);
  await parallel(Array.from({ length: TENANTS }, (_, i) => i), 8, async (i) => {
    const res = await fetch(`${base}/api/clients`, {
      method: 'POST', headers: { 'x-core-api-key': ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `Memory Bench ${i}`, email: `memory${i}@example.com`, clientCode: `membench${i}` }),
    });
    const body = await res.json() as { clientCode: string; apiKey: string };
    if (res.status !== 201 && res.status !== 200) throw new Error(`create client ${i}: ${res.status} ${JSON.stringify(body)}`);
    clients[i] = { code: body.clientCode, apiKey: body.apiKey };
  });
  const clientsMs = performance.now() - setup0;
  log(`${TENANTS} clients created in ${(clientsMs / 1000).toFixed(1)} s`);

  // Setup 2: one migrated tenant database, cloned for every client under the name the server provisions.
  const state = JSON.parse(readFileSync(`${path.join(dataDir, 'pg')}.json`, 'utf8')) as { port: number; password: string };
  const url = (db: string) => `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${db}`;
  const admin = new pg.Pool({ connectionString: url('postgres'), max: CLONE_PARALLEL + 1 });
  admin.on('error', () => {});
  const monitor = new pg.Client({ connectionString: url('postgres') });
  monitor.on('error', () => {});
  try {
    const cloneStart = performance.now();
    // Setup only: no fsync while cloning (what is measured below is the server's memory and connections).
    await admin.query('ALTER SYSTEM SET fsync = off');
    await admin.query('SELECT pg_reload_conf()');
    await admin.query('CREATE DATABASE bench_tenant_template');
    const templatePool = new pg.Pool({ connectionString: url('bench_tenant_template'), max: 1 });
    await migrate(templatePool, TENANT_MIGRATIONS, TENANT_SCHEMA);
    await templatePool.end();
    log(`template tenant database migrated in ${((performance.now() - cloneStart) / 1000).toFixed(1)} s`);
    const { rows: ids } = await admin.query<{ id: string; code: string }>(`SELECT id::text, code FROM clients WHERE code LIKE 'membench%'`);
    if (ids.length !== TENANTS) throw new Error(`expected ${TENANTS} clients, found ${ids.length}`);
    await parallel(ids, CLONE_PARALLEL, async ({ id }) => {
      const name = `postgres_tenant_${id}`.slice(0, 63);
      for (let attempt = 0; ; attempt++) {
        try {
          await admin.query(`CREATE DATABASE "${name}" TEMPLATE bench_tenant_template STRATEGY ${STRATEGY}`);
          return;
        } catch (err) {
          // 55006: the template is being accessed by another clone at that moment.
          if (attempt > 100 || (err as { code?: string }).code !== '55006') throw err;
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 50));
        }
      }
    });
    await admin.query('ALTER SYSTEM RESET fsync');
    await admin.query('SELECT pg_reload_conf()');
    await admin.query('CHECKPOINT');
    const cloneMs = performance.now() - cloneStart;
    const { rows: [size] } = await admin.query<{ mb: number }>(`SELECT (pg_database_size('bench_tenant_template') / 1048576.0)::float AS mb`);
    log(`${TENANTS} tenant databases cloned in ${(cloneMs / 1000).toFixed(1)} s (${CLONE_PARALLEL} in parallel, ${size.mb.toFixed(1)} MB each)`);

    // Measure: sample RSS and connections while every tenant makes requests.
    await monitor.connect();
    let maxTenant = 0;
    let maxTotal = 0;
    let peakRss = baseline;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const { rows: [c] } = await monitor.query<{ tenant: number; total: number }>(
            `SELECT count(*) FILTER (WHERE application_name = 'ecodrix-tenant')::int AS tenant,
                    count(*) FILTER (WHERE backend_type = 'client backend')::int AS total FROM pg_stat_activity`);
          maxTenant = Math.max(maxTenant, c.tenant);
          maxTotal = Math.max(maxTotal, c.total - 1);
          peakRss = Math.max(peakRss, rssMb(pid).rss);
        } catch {
          // server stopping
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    const order = Array.from({ length: TENANTS * ROUNDS }, (_, i) => i % TENANTS);
    const t0 = performance.now();
    await parallel(order, CONCURRENCY, async (i) => {
      const c = clients[i];
      const s = performance.now();
      let status: string;
      try {
        const res = await fetch(`${base}/api/crm/leads?limit=1`, { headers: { 'x-api-key': c.apiKey, 'x-client-code': c.code } });
        await res.arrayBuffer();
        status = String(res.status);
      } catch (err) {
        status = (err as Error).message.slice(0, 60);
      }
      latencies.push(performance.now() - s);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
    const requestSeconds = (performance.now() - t0) / 1000;
    log(`${order.length} requests in ${requestSeconds.toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 1000));
    sampling = false;
    await sampler;
    const end = rssMb(pid);
    const { rows: [dbs] } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'postgres_tenant_%'`);
    const { rows: [sources] } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM client_datasources d JOIN clients c ON c.id = d.client_id WHERE c.code LIKE 'membench%'`);
    const ok = statuses['200'] ?? 0;
    process.stdout.write(`${JSON.stringify({
      bench: 'memory', tenants: TENANTS, tenantDatabases: dbs.n, datasourcesAdopted: sources.n, rounds: ROUNDS, concurrency: CONCURRENCY,
      requests: order.length, ok, errors: order.length - ok, statuses, requestsPerSecond: Math.round(order.length / requestSeconds),
      latencyMs: { p50: pct(latencies, 0.5), p95: pct(latencies, 0.95) },
      rssMb: { baseline: Math.round(baseline), peak: Math.round(Math.max(peakRss, end.hwm)), end: Math.round(end.rss), target: 300 },
      connections: { maxTenant, budget: BUDGET, poolMax: POOL_MAX, maxAllClientBackends: maxTotal },
      setupSeconds: { clientsViaApi: Math.round(clientsMs / 100) / 10, cloneDatabases: Math.round(cloneMs / 100) / 10, cloneParallel: CLONE_PARALLEL, cloneStrategy: STRATEGY, tenantDbMb: Math.round(size.mb * 10) / 10 },
    })}\n`);
  } finally {
    await monitor.end().catch(() => {});
    await admin.end().catch(() => {});
  }
} finally {
  const stopStart = performance.now();
  await stopServer();
  log(`server stopped in ${((performance.now() - stopStart) / 1000).toFixed(1)} s`);
  rmSync(tmp, { recursive: true, force: true });
}
