/**
 * Benchmark: webhook → tenant rows. The real server (API + worker roles, own
 * embedded PostgreSQL) receives signed one-message webhooks for one client at
 * a paced rate (BENCH_RATE per second, default 500, for BENCH_SECONDS, default
 * 10); the inbox consumers apply them (contact, conversation, message, lead).
 * Reports the applied rate and the latency from the inbox commit to the row
 * being applied (processed_at − received_at, both database clock) p50/p99, and
 * that every message is stored exactly once. Prints one JSON line.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { boot } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import { startRoles } from '../src/server.ts';
import { createClient, setClientSecrets, tenantDbById } from '../src/tenants/index.ts';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SECRET = 'bench-meta-app-secret-0123456789';
const PHONE = '100000000000777';

const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-apply-'));
const config = parseConfig({
  NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef',
  ENCRYPTION_KEY: '66'.repeat(32), META_APP_SECRET: SECRET, WHATSAPP_MODE: 'live', TENANT_AUTO_PROVISION: 'true', TENANT_POOL_MAX: '8',
  // Pass-through knobs for experiments (e.g. WHATSAPP_INBOX_BATCH); defaults otherwise.
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('WHATSAPP_INBOX_'))),
});
const booted = await boot({ config, logger: pino({ level: 'silent' }) });
const server = await startRoles(booted, ['api', 'worker'], { port: 0, host: '127.0.0.1' });
const { ctx } = booted;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0) * 10) / 10;
}

try {
  const created = await createClient(ctx, { name: 'Bench Inbound', email: 'bench-inbound@example.com', actor: 'bench' });
  const client = (await (await import('../src/tenants/index.ts')).findClientById(ctx.controlDb, created.id))!;
  await setClientSecrets(ctx, client, { whatsappPhoneNumberId: PHONE }, { actor: 'bench' });
  const db = await tenantDbById(ctx, created.id);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(`${server.url}/api/saas/whatsapp/webhook`);
  const total = RATE * SECONDS;
  const post = (i: number) => new Promise<number>((resolve, reject) => {
    const user = `1555${String(i % 2000).padStart(7, '0')}`;
    const payload = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100001', phone_number_id: PHONE },
      contacts: [{ profile: { name: `User ${i % 2000}` }, wa_id: user }],
      messages: [{ from: user, id: `wamid.apply-${i}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `message ${i}` } }],
    } }] }] }));
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: {
      'content-type': 'application/json', 'content-length': payload.length,
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(payload).digest('hex')}`,
    } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(payload);
  });
  const start = performance.now();
  const pending: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(i));
  }
  const statuses = await Promise.all(pending);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows } = await ctx.controlDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM whatsapp_inbox WHERE state IN ('pending', 'processing')`);
    if (rows[0].n === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const elapsed = (performance.now() - start) / 1000;
  const { rows: lat } = await ctx.controlDb.query<{ ms: number }>(
    `SELECT extract(epoch FROM (processed_at - received_at)) * 1000 AS ms FROM whatsapp_inbox WHERE state = 'done'`);
  const { rows: [counts] } = await db.query<{ messages: number; distinct: number; leads: number }>(
    `SELECT count(*)::int AS messages, count(DISTINCT wa_message_id)::int AS distinct, (SELECT count(*)::int FROM leads) AS leads FROM messages`);
  const latencies = lat.map((r) => Number(r.ms));
  process.stdout.write(`${JSON.stringify({
    bench: 'inbox-apply',
    offeredPerSecond: RATE,
    acked: statuses.filter((s) => s === 200).length,
    appliedPerSecond: Math.round(counts.messages / elapsed),
    storeToAppliedP50Ms: pct(latencies, 0.5),
    storeToAppliedP99Ms: pct(latencies, 0.99),
    messages: counts.messages,
    exactlyOnce: counts.messages === total && counts.distinct === total,
    leads: counts.leads,
  })}\n`);
  agent.destroy();
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
