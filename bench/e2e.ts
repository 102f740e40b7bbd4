/**
 * Benchmark: end-to-end latency from a signed webhook POST to the Socket.io
 * event on a dashboard. Boots the whole app (embedded PostgreSQL, API +
 * worker) in this process; a separate process (`bench/lib/e2e-load.ts`, so
 * the load's HTTP and socket.io clients do not share the server's event loop)
 * connects a real socket.io-client for one client, then posts signed WhatsApp
 * text webhooks over real HTTP at a fixed rate (BENCH_RATE, default 1,000
 * messages/s) for BENCH_SECONDS (default 10). Each message has its own wamid;
 * latency = `message.created` received by the socket − POST started.
 * Messages come from BENCH_CONTACTS senders (new contacts and leads on first
 * contact, like real traffic; a warm-up creates them all) over
 * BENCH_CONNECTIONS keep-alive connections (default 64; latency includes
 * waiting for a free connection). Reports the CPU per message of the server
 * process and of the load process. Prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
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

try {
  const client = await createClient(ctx, { name: 'Bench Dashboard', email: 'bench-e2e@example.com', actor: 'bench' });
  await setClientSecrets(ctx, (await findClientById(ctx.controlDb, client.id))!, { whatsappPhoneNumberId: PHONE_NUMBER_ID }, { actor: 'bench' });
  const loadClient = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib', 'e2e-load.ts');
  const loadBefore = Number(loadavg()[0].toFixed(2));
  const cpu0 = process.cpuUsage();
  const child = spawn(process.execPath, [loadClient, JSON.stringify({
    url: server.url, clientCode: client.clientCode, apiKey: client.apiKey, secret: APP_SECRET, phoneNumberId: PHONE_NUMBER_ID,
    rate: RATE, seconds: SECONDS, contacts: CONTACTS, connections: CONNECTIONS,
  })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`load process exited with ${code}`);
  const cpu = process.cpuUsage(cpu0);
  const result = JSON.parse(out) as { posted: number; latency: Record<string, number> } & Record<string, unknown>;
  const messages = result.posted + Math.max(CONTACTS, 200); // the measured messages and the warm-up
  process.stdout.write(`${JSON.stringify({
    bench: 'e2e', unit: 'ms', rate: RATE, seconds: SECONDS, connections: CONNECTIONS, ...result,
    latency: { ...result.latency, target: 'p99 <= 100' },
    serverCpuPerMessageUs: Math.round((cpu.user + cpu.system) / messages),
    loadAverage1m: { before: loadBefore, after: Number(loadavg()[0].toFixed(2)) },
  })}\n`);
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
