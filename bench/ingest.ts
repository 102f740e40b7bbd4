/**
 * Benchmark: durable webhook ingest. The real server (API role) on loopback
 * with its own embedded PostgreSQL (fsync and synchronous_commit on, as in
 * production) takes signed WhatsApp webhook POSTs, one message each; every 200
 * means the raw body is committed in the inbox (group commit). The load comes
 * from a worker thread (keep-alive agent, BENCH_CONCURRENCY in flight, default
 * 64). A no-op Fastify route on the same machine, same client, same bodies is
 * measured first as the baseline. The inbox consumers are not running (the
 * worker role would share the 2 cores); their cost is measured elsewhere.
 * Prints one JSON line. BENCH_REQUESTS (default 20000) and BENCH_SECONDS
 * (default 20, cap per phase) bound the run.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SECRET = 'bench-meta-app-secret-0123456789';

interface LoadResult { ok: number; failed: number; seconds: number; latencies: number[]; statuses: Record<string, number> }

function body(i: number): Buffer {
  // Compact, with escaped non-ASCII like Meta's own bodies.
  return Buffer.from(JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '200000000000001', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100001', phone_number_id: '100000000000001' },
      contacts: [{ profile: { name: 'Ana Souza' }, wa_id: `1555${String(i % 5000).padStart(7, '0')}` }],
      messages: [{ from: `1555${String(i % 5000).padStart(7, '0')}`, id: `wamid.bench-${i}-${Date.now()}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `Ol\\u00e1, pedido ${i}` } }],
    } }] }],
  }).replace(/\\\\u00e1/g, '\\u00e1'));
}

async function load(url: string, count: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  const one = (i: number) => new Promise<void>((resolve) => {
    const payload = body(i);
    const signature = `sha256=${createHmac('sha256', SECRET).update(payload).digest('hex')}`;
    const t0 = performance.now();
    const req = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': payload.length, 'x-hub-signature-256': signature } }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - t0);
        statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
        if (res.statusCode === 200) ok++;
        else failed++;
        resolve();
      });
    });
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.end(payload);
  });
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count && performance.now() < deadline) await one(next++);
  }));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { ok, failed, seconds: elapsed, latencies, statuses };
}

if (!isMainThread) {
  const { url, count, seconds } = workerData as { url: string; count: number; seconds: number };
  parentPort!.postMessage(await load(url, count, seconds));
} else {
  const { default: Fastify } = await import('fastify');
  const { default: pino } = await import('pino');
  const { boot } = await import('../src/boot.ts');
  const { parseConfig } = await import('../src/config.ts');
  const { startRoles } = await import('../src/server.ts');

  function inWorker(url: string, count: number, seconds: number): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { url, count, seconds } });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  }
  function pct(values: number[], p: number): number {
    const sorted = [...values].sort((a, b) => a - b);
    return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0) * 100) / 100;
  }
  const summary = (r: LoadResult) => ({
    requests: r.ok + r.failed, ok: r.ok, failed: r.failed, perSecond: Math.round(r.ok / r.seconds),
    p50Ms: pct(r.latencies, 0.5), p99Ms: pct(r.latencies, 0.99), statuses: r.statuses,
  });

  // Baseline: a no-op route, same machine, same client.
  const noop = Fastify({ logger: false, bodyLimit: 3 * 1024 * 1024 });
  noop.post('/noop', async () => ({ received: true }));
  const noopUrl = await noop.listen({ port: 0, host: '127.0.0.1' });
  await inWorker(`${noopUrl}/noop`, 2000, 5); // warm-up
  const baseline = await inWorker(`${noopUrl}/noop`, REQUESTS, SECONDS);
  await noop.close();

  const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-ingest-'));
  const config = parseConfig({
    NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef',
    ENCRYPTION_KEY: '55'.repeat(32), META_APP_SECRET: SECRET, WHATSAPP_MODE: 'live',
  });
  const booted = await boot({ config, logger: pino({ level: 'silent' }) });
  const server = await startRoles(booted, ['api'], { port: 0, host: '127.0.0.1' });
  try {
    const url = `${server.url}/api/saas/whatsapp/webhook`;
    await inWorker(url, 2000, 5); // warm-up (JIT, connections)
    const before = Number((await booted.ctx.controlDb.query<{ n: string }>('SELECT count(*) AS n FROM whatsapp_inbox')).rows[0].n);
    const result = await inWorker(url, REQUESTS, SECONDS);
    const after = Number((await booted.ctx.controlDb.query<{ n: string }>('SELECT count(*) AS n FROM whatsapp_inbox')).rows[0].n);
    const settings = (await booted.ctx.controlDb.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')`)).rows;
    const ingest = summary(result);
    process.stdout.write(`${JSON.stringify({
      bench: 'ingest',
      concurrency: CONCURRENCY,
      messagesPerSecond: ingest.perSecond,
      ackP50Ms: ingest.p50Ms,
      ackP99Ms: ingest.p99Ms,
      ingest,
      storedRows: after - before,
      everyAckStored: after - before === result.ok,
      baselineNoop: summary(baseline),
      postgres: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
      cpus: (await import('node:os')).availableParallelism(),
    })}\n`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
