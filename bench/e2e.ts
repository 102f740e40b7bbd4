/**
 * Benchmark: end-to-end latency from a signed webhook POST to the Socket.io
 * event on a dashboard. Boots the whole app (embedded PostgreSQL, API +
 * worker), connects a real socket.io-client for one client, then posts signed
 * WhatsApp text webhooks over real HTTP at a fixed rate (BENCH_RATE, default
 * 1,000 messages/s) for BENCH_SECONDS (default 10). Each message has its own
 * wamid; latency = `message.created` received by the socket − POST started.
 * Messages come from BENCH_CONTACTS senders (new contacts and leads on first
 * contact, like real traffic) over BENCH_CONNECTIONS keep-alive connections
 * (default 64; latency includes waiting for a free connection). Prints one JSON line.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { io as connectSocket } from 'socket.io-client';
import { boot } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import { startRoles } from '../src/server.ts';
import { createClient, findClientById, setClientSecrets } from '../src/tenants/index.ts';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 500);
/** Connections the sender keeps open (Meta delivers over a bounded number of connections too). */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const APP_SECRET = 'bench-meta-app-secret';
const PHONE_NUMBER_ID = '100000000000777';

const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-e2e-'));
const config = parseConfig({
  NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', TENANT_AUTO_PROVISION: 'true',
  CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef', ENCRYPTION_KEY: '55'.repeat(32), AUTH_FAILURE_LIMIT: '100000',
  META_APP_SECRET: APP_SECRET,
  // Pass-through knobs for experiments (e.g. WHATSAPP_INBOX_POLL_MS); defaults otherwise.
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('WHATSAPP_INBOX_'))),
});
const booted = await boot({ config, logger: pino({ level: 'silent' }) });
const server = await startRoles(booted, ['api', 'worker'], { port: 0, host: '127.0.0.1' });
const { ctx } = booted;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] * 100) / 100;
}

function body(i: number): string {
  const waId = `1555${String(i % CONTACTS).padStart(7, '0')}`; // warm-up ids 1,000,000+ map onto the same senders
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{
      id: '200000000000777',
      changes: [{
        field: 'messages',
        value: {
          messaging_product: 'whatsapp',
          metadata: { display_phone_number: '15550100777', phone_number_id: PHONE_NUMBER_ID },
          contacts: [{ profile: { name: `Bench ${i % CONTACTS}` }, wa_id: waId }],
          messages: [{ from: waId, id: `wamid.bench-${i}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `Olá, mensagem ${i}` } }],
        },
      }],
    }],
  });
}

try {
  const client = await createClient(ctx, { name: 'Bench Dashboard', email: 'bench-e2e@example.com', actor: 'bench' });
  await setClientSecrets(ctx, (await findClientById(ctx.controlDb, client.id))!, { whatsappPhoneNumberId: PHONE_NUMBER_ID }, { actor: 'bench' });
  const socket = connectSocket(server.url!, { auth: { clientCode: client.clientCode, apiKey: client.apiKey }, transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.on('ready', () => resolve());
    socket.on('connect_error', reject);
  });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const acks: number[] = [];
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  socket.on('message.created', (payload: { message?: { waMessageId?: string } }) => {
    const id = payload.message?.waMessageId;
    const t0 = id ? sentAt.get(id) : undefined;
    if (t0 !== undefined) latencies.push(performance.now() - t0);
  });
  const target = new URL(`${server.url}/api/saas/whatsapp/webhook`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  function postRaw(raw: string, signature: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(target, {
        method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw), 'x-hub-signature-256': signature },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(raw);
    });
  }
  async function post(i: number): Promise<void> {
    const raw = body(i);
    const signature = `sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`;
    const t0 = performance.now();
    sentAt.set(`wamid.bench-${i}`, t0);
    try {
      const status = await postRaw(raw, signature);
      if (status !== 200) {
        errors++;
        errorKinds[status] = (errorKinds[status] ?? 0) + 1;
      }
      acks.push(performance.now() - t0);
    } catch (err) {
      errors++;
      const kind = String((err as { code?: string }).code ?? 'network');
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    }
  }

  // Warm up (pools, tenant database, JIT), then measure.
  // The warm-up creates every contact and lead once, so the measured phase sees steady-state traffic.
  const WARM = Math.max(CONTACTS, 200);
  for (let i = 0; i < WARM; i += 50) await Promise.all(Array.from({ length: Math.min(50, WARM - i) }, (_, j) => post(1_000_000 + i + j)));
  const warmDeadline = Date.now() + 120_000;
  while (latencies.length < WARM - errors && Date.now() < warmDeadline) await new Promise((r) => setTimeout(r, 20));
  latencies.length = 0;
  acks.length = 0;
  sentAt.clear();
  errors = 0;
  for (const k of Object.keys(errorKinds)) delete errorKinds[k];

  const total = RATE * SECONDS;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  let sent = 0;
  // Pace in 10 ms ticks: by time t, RATE × t messages have been started.
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE));
    while (sent < due) inflight.push(post(sent++));
    await new Promise((r) => setTimeout(r, 10));
  }
  const postingMs = performance.now() - start;
  await Promise.all(inflight);
  const deadline = Date.now() + 60_000;
  while (latencies.length < total - errors && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  socket.close();
  agent.destroy();
  process.stdout.write(`${JSON.stringify({
    bench: 'e2e', unit: 'ms', rate: RATE, seconds: SECONDS, offeredPerSecond: Math.round(total / (postingMs / 1000)),
    connections: CONNECTIONS, posted: total, errors, errorKinds, received: latencies.length,
    latency: { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: pct(latencies, 1), target: 'p99 <= 100' },
    ack: { p50: pct(acks, 0.5), p99: pct(acks, 0.99) },
  })}\n`);
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
