/**
 * Benchmark: durable webhook ingest. The real server (API role) on loopback
 * with its own embedded PostgreSQL (fsync and synchronous_commit on, as in
 * production) takes signed WhatsApp webhook POSTs, one message each; every 200
 * means the raw body is committed in the inbox (group commit). The load comes
 * from a separate process (`bench/lib/webhook-load.ts`: raw keep-alive
 * sockets, BENCH_CONCURRENCY connections with one request in flight each,
 * default 64, no pipelining). A no-op Fastify route in this process, hit by
 * the same client with the same bodies, is measured in the same run as the
 * baseline (the HTTP ceiling of this machine). The inbox consumers are not
 * running (the worker role would share the 2 cores); their cost is measured
 * elsewhere. One request = one message, so requests/s = messages/s.
 * The server logs at BENCH_LOG_LEVEL (default info, as in production) into
 * /dev/null. CPU per request is reported for the load client, this process
 * (the server) and PostgreSQL, so the cost can be judged on a loaded machine.
 * Prints one JSON line. BENCH_REQUESTS (default 100000) and BENCH_SECONDS
 * (default 15, cap per phase) bound the run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const SECRET = 'bench-meta-app-secret-0123456789';
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const loadClient = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib', 'webhook-load.ts');

interface LoadResult {
  requests: number; ok: number; failed: number; seconds: number; perSecond: number;
  p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number; statuses: Record<string, number>; bodyBytes: number; clientCpuMs: number;
}
interface Phase extends LoadResult {
  serverCpuMs: number; serverCpuPerRequestUs: number; clientCpuPerRequestUs: number; postgresCpuMs?: number; postgresCpuPerRequestUs?: number; loadAverage1m: number;
}

/** CPU ms used so far by the PostgreSQL server whose postmaster is `pid` (itself, reaped children, live children). */
function postgresCpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  const ticks = (p: number, withChildren: boolean) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
      return { ppid: Number(f[1]), t: Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0) };
    } catch {
      return { ppid: 0, t: 0 };
    }
  };
  let total = ticks(pid, true).t;
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    const s = ticks(child, false);
    if (s.ppid === pid) total += s.t;
  }
  return total * 10; // USER_HZ = 100
}

/** Runs the load client process against `url`; adds this process's CPU use (the server's) during the phase. */
async function load(url: string, count: number, seconds: number, postmaster?: number): Promise<Phase> {
  const cpu0 = process.cpuUsage();
  const pg0 = postgresCpuMs(postmaster);
  const child = spawn(process.execPath, [loadClient, JSON.stringify({ url, count, seconds, connections: CONCURRENCY, secret: SECRET })],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`load client exited with ${code}`);
  const cpu = process.cpuUsage(cpu0);
  const result = JSON.parse(out) as LoadResult;
  const serverCpuMs = Math.round((cpu.user + cpu.system) / 1000);
  const per = (ms: number) => Math.round((ms * 1000) / Math.max(1, result.requests));
  const pgMs = postmaster ? postgresCpuMs(postmaster) - pg0 : undefined;
  return {
    ...result, serverCpuMs, serverCpuPerRequestUs: per(serverCpuMs), clientCpuPerRequestUs: per(result.clientCpuMs),
    ...(pgMs === undefined ? {} : { postgresCpuMs: pgMs, postgresCpuPerRequestUs: per(pgMs) }),
    loadAverage1m: Number(loadavg()[0].toFixed(2)),
  };
}

{
  const { default: Fastify } = await import('fastify');
  const { default: pino } = await import('pino');
  const { createLogger } = await import('../src/platform/logger.ts');
  const { boot } = await import('../src/boot.ts');
  const { parseConfig } = await import('../src/config.ts');
  const { startRoles } = await import('../src/server.ts');
  const loadBefore = Number(loadavg()[0].toFixed(2));

  // Baseline: a no-op route, same machine, same client.
  const noop = Fastify({ logger: false, bodyLimit: 3 * 1024 * 1024 });
  noop.post('/noop', async () => ({ received: true }));
  const noopUrl = await noop.listen({ port: 0, host: '127.0.0.1' });
  await load(`${noopUrl}/noop`, 5000, 5); // warm-up
  const baseline = await load(`${noopUrl}/noop`, REQUESTS, SECONDS);
  await noop.close();

  const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-ingest-'));
  const config = parseConfig({
    NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: LOG_LEVEL, CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef',
    ENCRYPTION_KEY: '55'.repeat(32), META_APP_SECRET: SECRET, WHATSAPP_MODE: 'live',
  });
  // Logs as in production (LOG_LEVEL, default info) but into /dev/null.
  const booted = await boot({ config, logger: createLogger(LOG_LEVEL, pino.destination({ dest: '/dev/null', sync: false })) });
  const postmaster = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const server = await startRoles(booted, ['api'], { port: 0, host: '127.0.0.1' });
  try {
    const url = `${server.url}/api/saas/whatsapp/webhook`;
    await load(url, 5000, 5); // warm-up (JIT, connections)
    const before = Number((await booted.ctx.controlDb.query<{ n: string }>('SELECT count(*) AS n FROM whatsapp_inbox')).rows[0].n);
    const result = await load(url, REQUESTS, SECONDS, postmaster);
    const after = Number((await booted.ctx.controlDb.query<{ n: string }>('SELECT count(*) AS n FROM whatsapp_inbox')).rows[0].n);
    const settings = (await booted.ctx.controlDb.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')`)).rows;
    process.stdout.write(`${JSON.stringify({
      bench: 'ingest',
      concurrency: CONCURRENCY,
      logLevel: LOG_LEVEL,
      messagesPerRequest: 1,
      requestsPerSecond: result.perSecond,
      messagesPerSecond: result.perSecond,
      ackP50Ms: result.p50Ms,
      ackP99Ms: result.p99Ms,
      ingest: result,
      storedRows: after - before,
      everyAckStored: after - before === result.ok,
      baselineNoop: baseline,
      loadAverage: { before: loadBefore, after: Number(loadavg()[0].toFixed(2)) },
      postgres: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
      cpus: (await import('node:os')).availableParallelism(),
    })}\n`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
