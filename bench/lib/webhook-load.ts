/**
 * Load generator for `bench/ingest.ts`, run as its own process so its CPU is
 * not the server's event loop: raw keep-alive TCP connections (no HTTP client
 * library), each with one request in flight (no pipelining: every request
 * waits for its answer, as Meta's deliveries do), request bytes built from a
 * template by overwriting a fixed-width counter and signing with HMAC-SHA256.
 * One request carries one WhatsApp message with a unique wamid.
 *
 *   node bench/lib/webhook-load.ts '{"url":"http://127.0.0.1:3000/path","count":20000,"seconds":20,"connections":64,"secret":"..."}'
 *
 * Prints one JSON line: ok, failed, seconds, perSecond, p50/p90/p99/max ms,
 * statuses, and the client's own CPU use (ms) so readers can see what it cost.
 */
import { createHmac } from 'node:crypto';
import net from 'node:net';

interface Options { url: string; count: number; seconds: number; connections: number; secret: string; nonce?: string }

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const target = new URL(options.url);
const nonce = options.nonce ?? `${process.pid}-${Date.now()}`;
const DIGITS = 9;

// One compact body per request, with escaped non-ASCII like Meta's own bodies; `#########` is the counter slot.
const slot = '#'.repeat(DIGITS);
const template = Buffer.from(JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [{ id: '200000000000001', changes: [{ field: 'messages', value: {
    messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100001', phone_number_id: '100000000000001' },
    contacts: [{ profile: { name: 'Ana Souza' }, wa_id: '15550000001' }],
    messages: [{ from: '15550000001', id: `wamid.bench-${nonce}-${slot}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `Ol\\u00e1, pedido ${slot}` } }],
  } }] }],
}).replace(/\\\\u00e1/g, '\\u00e1'));
const slots: number[] = [];
for (let at = template.indexOf(slot); at >= 0; at = template.indexOf(slot, at + DIGITS)) slots.push(at);
const head = Buffer.from(`POST ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\n` +
  `content-length: ${template.length}\r\nx-hub-signature-256: sha256=`);
const SIG_HEX = 64;
const tail = Buffer.from('\r\n\r\n');

/** The full request bytes for request number `i` (unique body, valid signature). */
function request(i: number): Buffer {
  const out = Buffer.allocUnsafe(head.length + SIG_HEX + tail.length + template.length);
  head.copy(out, 0);
  const bodyAt = head.length + SIG_HEX + tail.length;
  template.copy(out, bodyAt);
  const digits = String(i).padStart(DIGITS, '0');
  for (const at of slots) out.write(digits, bodyAt + at, 'latin1');
  const body = out.subarray(bodyAt);
  out.write(createHmac('sha256', options.secret).update(body).digest('hex'), head.length, 'latin1');
  tail.copy(out, head.length + SIG_HEX);
  return out;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const latencies = new Float64Array(options.count);
const statuses: Record<string, number> = {};
let done = 0;
let ok = 0;
let failed = 0;
let next = 0;
const deadline = performance.now() + options.seconds * 1000;
const cpu0 = process.cpuUsage();
const start = performance.now();

/** One keep-alive connection: send, read one response (content-length framed), repeat. */
function connection(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    let buffer: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve();
    };
    const send = () => {
      if (next >= options.count || performance.now() >= deadline) return finish();
      const i = next++;
      const bytes = request(i);
      sentAt = performance.now();
      socket.write(bytes);
    };
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      for (;;) {
        const end = buffer.indexOf(CRLF2);
        if (end < 0) return;
        const header = buffer.toString('latin1', 0, end);
        const length = /\r\ncontent-length: *(\d+)/i.exec(header);
        if (!length) {
          process.stderr.write(`response without content-length: ${header}\n`);
          failed++;
          return finish();
        }
        const total = end + 4 + Number(length[1]);
        if (buffer.length < total) return;
        const status = header.slice(9, 12);
        latencies[done++] = performance.now() - sentAt;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === '200') ok++;
        else failed++;
        buffer = buffer.subarray(total);
        if (/\r\nconnection: *close/i.test(header)) return finish();
        send();
      }
    });
    socket.on('error', (err) => {
      process.stderr.write(`connection error: ${err.message}\n`);
      failed++;
      finish();
    });
    socket.on('close', finish);
  });
}

await Promise.all(Array.from({ length: options.connections }, connection));
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpu0);
const sorted = latencies.subarray(0, done).sort();
const pct = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0) * 100) / 100;
process.stdout.write(`${JSON.stringify({
  requests: ok + failed, ok, failed, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(ok / seconds),
  p50Ms: pct(0.5), p90Ms: pct(0.9), p99Ms: pct(0.99), maxMs: pct(1), statuses,
  bodyBytes: template.length, clientCpuMs: Math.round((cpu.user + cpu.system) / 1000),
})}\n`);
