/**
 * Benchmark: outbound WhatsApp sends end to end against the built-in simulator
 * (a real loopback Graph API). Each send goes through the HTTP API
 * (`POST /api/saas/chat/messages`: auth, template check, `queued` row, keyed
 * job), the pg-boss send job (throttle, Graph request, wamid stored, `sent`).
 *
 * Prints one JSON line: sends/s from the first API call until every message is
 * `sent`, API latency p50/p95, the send worker's batch time and size, and pickup latency p50/p95 = time from the API's
 * 202 to the simulator receiving the Graph request. Status webhooks are off
 * (they are the inbound benchmark's load); the per-number token bucket is
 * raised (it would cap one number at 80/s). BENCH_SENDS, BENCH_CONCURRENCY tune it.
 *
 * Also counted: SQL statements per send (every statement through node-postgres,
 * API, job, pg-boss and simulator together, with the most frequent ones), and
 * two ceilings measured in the same run: `barePgBoss` (one pg-boss send per job
 * from CONCURRENCY senders, a worker fetching 64 at a time and completing them
 * in one statement: the queue hop alone) and `bareGraphPost` (CONCURRENCY loops
 * POSTing the same template send straight to the simulator: the Graph hop alone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { boot } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import { simulatorFor } from '../src/sandbox/index.ts';
import { startRoles } from '../src/server.ts';
import { createClient, tenantDbById } from '../src/tenants/index.ts';
import { sendMessageJob } from '../src/whatsapp/index.ts';

const SENDS = Number(process.env.BENCH_SENDS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CONVERSATIONS = 500;

const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-send-'));
const config = parseConfig({
  NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: process.env.BENCH_LOG ?? 'silent', TENANT_AUTO_PROVISION: 'true',
  CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef', ENCRYPTION_KEY: '44'.repeat(32), AUTH_FAILURE_LIMIT: '100000',
  TENANT_POOL_MAX: process.env.BENCH_TENANT_POOL ?? '16',
  WHATSAPP_MODE: 'sandbox', SANDBOX_STATUS_WEBHOOKS: 'false', WHATSAPP_NUMBER_RATE_PER_SECOND: '1000000', WHATSAPP_PAIR_INTERVAL_MS: '0',
});
const booted = await boot({ config, logger: pino({ level: process.env.BENCH_LOG ?? 'silent' }, pino.destination(2)) });
const server = await startRoles(booted, ['api', 'worker'], { port: 0, host: '127.0.0.1' });
const { ctx } = booted;
const app = server.app!;

// Every statement of the process (tenant pools, control pool, pg-boss, simulator) goes through Client#query.
const statements = new Map<string, number>();
let counting = false;
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: pg.Client, ...args: unknown[]) {
  if (counting) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = (typeof first === 'string' ? first : first?.text ?? '?').replace(/\s+/g, ' ').trim().slice(0, 70);
    statements.set(text, (statements.get(text) ?? 0) + 1);
  }
  return clientQuery.apply(this, args);
};

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] * 100) / 100;
}

try {
  const client = await createClient(ctx, { name: 'Bench Sender', email: 'bench-send@example.com', actor: 'bench' });
  const headers = { 'x-api-key': client.apiKey, 'x-client-code': client.clientCode };
  const sync = await app.inject({ method: 'POST', url: '/api/saas/chat/templates/sync', headers });
  if (sync.statusCode !== 200) throw new Error(`template sync failed: ${sync.body}`);
  const db = await tenantDbById(ctx, client.id);
  const { rows } = await db.query<{ id: string }>(
    `WITH c AS (INSERT INTO contacts (phone, wa_id, name) SELECT '1555' || lpad(g::text, 7, '0'), '1555' || lpad(g::text, 7, '0'), 'Bench ' || g FROM generate_series(1, $1) g RETURNING id)
     INSERT INTO conversations (contact_id, phone_number_id) SELECT id, 'bench' FROM c RETURNING id`, [CONVERSATIONS],
  );
  const conversations = rows.map((r) => r.id);
  const simulator = await simulatorFor(ctx);
  const arrivals = new Map<string, number>();
  // Called as soon as the simulator has read the request body (same process, same clock).
  simulator.onSend = (_at, payload) => {
    arrivals.set(String(payload.biz_opaque_callback_data ?? '').split(':').pop()!, performance.now());
  };
  // Time spent inside the send worker's batch handler (DB + Graph requests), apart from queue pickup.
  const jobTimes: number[] = [];
  const batchSizes: number[] = [];
  const batchHandler = sendMessageJob.batchHandler!;
  sendMessageJob.batchHandler = async (jobs, context) => {
    const t0 = performance.now();
    try {
      return await batchHandler(jobs, context);
    } finally {
      jobTimes.push(performance.now() - t0);
      batchSizes.push(jobs.length);
    }
  };
  const accepted = new Map<string, number>();
  const phases = { apiMs: 0 };
  const apiTimes: number[] = [];

  async function sendOne(i: number): Promise<void> {
    const t0 = performance.now();
    const res = await app.inject({
      method: 'POST', url: '/api/saas/chat/messages', headers,
      payload: { conversationId: conversations[i % conversations.length], type: 'template', template: { name: 'appointment_reminder', variables: ['Dhanesh', 'Dr. Arjun', 'Monday 10AM', `code-${i}`] } },
    });
    const t1 = performance.now();
    if (res.statusCode !== 202) throw new Error(`send ${i} failed: ${res.statusCode} ${res.body}`);
    apiTimes.push(t1 - t0);
    accepted.set(res.json().id, t1);
  }

  async function run(count: number, offset: number): Promise<number> {
    const start = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await sendOne(offset + next++);
    }));
    phases.apiMs = Math.round(performance.now() - start);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { rows: [r] } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE direction = 'outbound' AND status = 'queued'`);
      if (r.n === 0) break;
      if (Date.now() > deadline) throw new Error(`${r.n} sends still queued after 120 s`);
      await new Promise((res) => setTimeout(res, 5));
    }
    return performance.now() - start;
  }

  await run(Number(process.env.BENCH_WARMUP ?? 200), 0); // warm up: pools, JIT, queue
  arrivals.clear();
  accepted.clear();
  apiTimes.length = 0;
  jobTimes.length = 0;
  batchSizes.length = 0;
  const before = simulator.requests;
  statements.clear();
  counting = true;
  const elapsed = await run(SENDS, 1000);
  counting = false;
  const sqlTotal = [...statements.values()].reduce((a, b) => a + b, 0);
  const topStatements = [...statements].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([sql, count]) => ({ perSend: Math.round((count / SENDS) * 100) / 100, sql }));

  // Ceiling 1: the queue hop alone (one pg-boss send per job, batched fetch + bulk complete).
  const boss = ctx.queue.boss;
  await boss.createQueue('bench.bare').catch(() => {});
  const bareJobs = SENDS;
  const bareStart = performance.now();
  let sentJobs = 0;
  let doneJobs = 0;
  const producers = Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (sentJobs < bareJobs) {
      sentJobs++;
      await boss.send('bench.bare', { n: sentJobs });
    }
  }));
  const consumers = Promise.all(Array.from({ length: 4 }, async () => {
    while (doneJobs < bareJobs) {
      const jobs = await boss.fetch('bench.bare', { batchSize: 64 });
      if (!jobs.length) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      await boss.complete('bench.bare', jobs.map((j) => j.id));
      doneJobs += jobs.length;
    }
  }));
  await Promise.all([producers, consumers]);
  const barePgBossPerSecond = Math.round(bareJobs / ((performance.now() - bareStart) / 1000));

  // Ceiling 2: the Graph hop alone (POSTs straight to the simulator, which records each one).
  const phoneNumberId = (await (await import('../src/whatsapp/graph-client.ts')).resolveGraphTarget(ctx, client.id)).phoneNumberId;
  const graphBody = JSON.stringify({ messaging_product: 'whatsapp', to: '15550000001', type: 'template', template: { name: 'appointment_reminder', language: { code: 'en_US' }, components: [{ type: 'body', parameters: ['a', 'b', 'c', 'd'].map((text) => ({ type: 'text', text })) }] } });
  let posted = 0;
  const postStart = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (posted < SENDS) {
      posted++;
      const res = await fetch(`${simulator.url}/v26.0/${phoneNumberId}/messages`, { method: 'POST', headers: { authorization: 'Bearer sandbox-token', 'content-type': 'application/json' }, body: graphBody });
      if (res.status !== 200) throw new Error(`simulator answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  }));
  const bareGraphPostPerSecond = Math.round(SENDS / ((performance.now() - postStart) / 1000));
  const { rows: [counts] } = await db.query<{ sent: number; failed: number }>(
    `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM messages WHERE direction = 'outbound'`,
  );
  // Send jobs that needed a retry (e.g. their row was not written yet when the worker looked).
  const { rows: [retried] } = await ctx.controlDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'whatsapp.send-message' AND retry_count > 0`);
  const pickups: number[] = [];
  for (const [id, t] of accepted) {
    const at = arrivals.get(id);
    if (at !== undefined) pickups.push(at - t);
  }
  process.stdout.write(`${JSON.stringify({
    bench: 'send', unit: 'ms', sends: SENDS, concurrency: CONCURRENCY, graphRequests: simulator.requests - before,
    sendsPerSecond: Math.round(SENDS / (elapsed / 1000)), target: '>= 2000/s', apiPhaseMs: phases.apiMs, totalMs: Math.round(elapsed),
    apiPerSecond: Math.round(SENDS / (phases.apiMs / 1000)), loadAverage: (await import('node:os')).loadavg()[0],
    api: { p50: pct(apiTimes, 0.5), p95: pct(apiTimes, 0.95) },
    jobBatch: { p50: pct(jobTimes, 0.5), p95: pct(jobTimes, 0.95), meanSize: Math.round((batchSizes.reduce((a, b) => a + b, 0) / Math.max(1, batchSizes.length)) * 10) / 10 },
    pickup: { p50: pct(pickups, 0.5), p95: pct(pickups, 0.95), target: 'p95 <= 100' },
    sent: counts.sent, failed: counts.failed, jobsRetried: retried.n,
    sqlPerSend: Math.round((sqlTotal / SENDS) * 100) / 100, topStatements,
    ceilings: { barePgBossPerSecond, bareGraphPostPerSecond },
  })}\n`);
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
