/**
 * Sender and dashboard for `bench/e2e.ts`, run as its own process so neither
 * its HTTP client nor its socket.io client shares the server's event loop:
 * connects a socket.io-client as the client's dashboard, posts signed
 * one-message WhatsApp webhooks at a fixed rate over keep-alive connections,
 * and times each wamid from the POST start to its `message.created` event.
 * A warm-up (every sender once: contacts and leads exist) runs first.
 *
 *   node bench/lib/e2e-load.ts '{"url":"http://127.0.0.1:3000","clientCode":"…","apiKey":"…","secret":"…","phoneNumberId":"…",
 *     "rate":1000,"seconds":10,"contacts":500,"connections":64}'
 *
 * Prints one JSON line: offered rate, errors, events received, latency and ack
 * p50/p99/max (ms), and this process's own CPU use.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { io as connectSocket } from 'socket.io-client';

interface Options {
  url: string; clientCode: string; apiKey: string; secret: string; phoneNumberId: string;
  rate: number; seconds: number; contacts: number; connections: number;
}
const o = JSON.parse(process.argv[2] ?? '{}') as Options;
const cpu0 = process.cpuUsage();

function pct(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] * 100) / 100;
}

function body(i: number): string {
  const waId = `1555${String(i % o.contacts).padStart(7, '0')}`; // warm-up ids 1,000,000+ map onto the same senders
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{
      id: '200000000000777',
      changes: [{
        field: 'messages',
        value: {
          messaging_product: 'whatsapp',
          metadata: { display_phone_number: '15550100777', phone_number_id: o.phoneNumberId },
          contacts: [{ profile: { name: `Bench ${i % o.contacts}` }, wa_id: waId }],
          messages: [{ from: waId, id: `wamid.bench-${i}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `Olá, mensagem ${i}` } }],
        },
      }],
    }],
  });
}

const socket = connectSocket(o.url, { auth: { clientCode: o.clientCode, apiKey: o.apiKey }, transports: ['websocket'], reconnection: false });
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
const target = new URL('/api/saas/whatsapp/webhook', o.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
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
  const signature = `sha256=${createHmac('sha256', o.secret).update(raw).digest('hex')}`;
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
const until = async (done: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
};

// Warm up (pools, tenant database, JIT): every sender's contact and lead is created once.
const WARM = Math.max(o.contacts, 200);
for (let i = 0; i < WARM; i += 50) await Promise.all(Array.from({ length: Math.min(50, WARM - i) }, (_, j) => post(1_000_000 + i + j)));
await until(() => latencies.length >= WARM - errors, 120_000);
latencies.length = 0;
acks.length = 0;
sentAt.clear();
errors = 0;
for (const k of Object.keys(errorKinds)) delete errorKinds[k];

const total = o.rate * o.seconds;
const cpuMeasured0 = process.cpuUsage();
const start = performance.now();
const inflight: Promise<void>[] = [];
let sent = 0;
// Pace in 10 ms ticks: by time t, rate × t messages have been started.
while (sent < total) {
  const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.rate));
  while (sent < due) inflight.push(post(sent++));
  await new Promise((r) => setTimeout(r, 10));
}
const postingMs = performance.now() - start;
await Promise.all(inflight);
await until(() => latencies.length >= total - errors, 60_000);
const measuredCpu = process.cpuUsage(cpuMeasured0);
socket.close();
agent.destroy();
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({
  offeredPerSecond: Math.round(total / (postingMs / 1000)), posted: total, errors, errorKinds, received: latencies.length,
  latency: { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: pct(latencies, 1) },
  ack: { p50: pct(acks, 0.5), p99: pct(acks, 0.99) },
  clientCpuMs: Math.round((cpu.user + cpu.system) / 1000),
  clientCpuPerMessageUs: Math.round((measuredCpu.user + measuredCpu.system) / total),
})}\n`);
