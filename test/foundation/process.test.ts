/**
 * The real process: `node src/main.ts` with nothing configured but a data
 * directory and a port. Healthy, the runbook's onboarding steps by HTTP,
 * SIGTERM exits 0 and stops the embedded PostgreSQL, and a restart on the
 * same data directory keeps the clients and the generated admin token.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { isAlive } from '../../src/platform/db/embedded-postgres.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-process-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}


interface Started { child: ChildProcess; base: string; ms: number; output: () => string; exit: Promise<number | null> }

async function startServer(): Promise<Started> {
  const port = await freePort();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(DATABASE_URL|CORE_API_TOKEN|ENCRYPTION_KEYS?|BLIND_INDEX_KEY|NODE_ENV|PORT|HOST|DATA_DIR|TENANT_AUTO_PROVISION|NODE_TEST_CONTEXT)$/.test(k)) env[k] = v;
  }
  Object.assign(env, { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  const started = performance.now();
  const child = spawn(process.execPath, ['src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  // A limit for a hung start, not a performance bound (start-up time is measured in bench/cold-start).
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) assert.fail(`server exited with ${child.exitCode}: ${output}`);
    try {
      const res = await fetch(`${base}/api/saas/health`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) break;
    } catch {}
    if (Date.now() > deadline) assert.fail(`server not healthy in time: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, base, ms: Math.round(performance.now() - started), output: () => output, exit };
}

async function stopServer(s: Started): Promise<void> {
  const pgPid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  assert.ok(isAlive(pgPid), 'embedded PostgreSQL runs while the server runs');
  s.child.kill('SIGTERM');
  const code = await s.exit;
  assert.equal(code, 0, `exit code after SIGTERM (output: ${s.output()})`);
  // Generous: under heavy machine load PostgreSQL's shutdown checkpoint can take a while.
  const deadline = Date.now() + 60_000;
  while (isAlive(pgPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(isAlive(pgPid), false, 'embedded PostgreSQL stopped with the server');
}

it('starts with nothing configured, onboards by the runbook, stops cleanly, and restarts with its data', { timeout: 600_000 }, async () => {
  const first = await startServer();
  const token = (JSON.parse(readFileSync(path.join(dataDir, 'dev-secrets.json'), 'utf8')) as { coreApiToken: string }).coreApiToken;
  assert.match(first.output(), /DEVELOPMENT MODE/);
  assert.ok(first.output().includes(token), 'the generated admin token is printed once');
  const adminHeaders = { 'x-core-api-key': token, 'content-type': 'application/json' };

  // Step 1: create the client.
  const created = await fetch(`${first.base}/api/clients`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ name: 'Dr. Sharma Clinic', email: 'contact@sharmaclinic.com' }) });
  assert.equal(created.status, 201);
  const { clientCode, apiKey } = await created.json() as { clientCode: string; apiKey: string };
  assert.equal(clientCode, 'sharmaclinic');
  // Step 2: secrets.
  const secrets = await fetch(`${first.base}/api/clients/sharmaclinic/secrets`, {
    method: 'POST', headers: adminHeaders,
    body: JSON.stringify({ whatsappToken: 'EAAG-process-test', whatsappBusinessId: '111', whatsappPhoneNumberId: '222', whatsappWebhookToken: 'verify-me', smtpHost: 'smtp.gmail.com', smtpPort: '587', smtpUser: 'a@b.c', smtpPass: 'pw-123456789', smtpFrom: 'Clinic <a@b.c>' }),
  });
  assert.equal(secrets.status, 200);
  // Step 6: CORS origin.
  const tenantHeaders = { 'x-api-key': apiKey, 'x-client-code': 'sharmaclinic', 'content-type': 'application/json' };
  const cors = await fetch(`${first.base}/api/saas/cors`, { method: 'POST', headers: tenantHeaders, body: JSON.stringify({ url: 'https://sharmaclinic.com' }) });
  assert.equal(cors.status, 201);
  await stopServer(first);

  const second = await startServer();
  try {
    const show = await fetch(`${second.base}/api/clients/sharmaclinic`, { headers: { 'x-core-api-key': token } });
    assert.equal(show.status, 200, 'same admin token and the client survived the restart');
    const body = await show.json() as { secrets: Record<string, unknown> };
    assert.ok(body.secrets.whatsappToken);
    const origins = await fetch(`${second.base}/api/saas/cors`, { headers: tenantHeaders });
    assert.deepEqual(await origins.json(), { origins: ['https://sharmaclinic.com'] });
    assert.equal(second.output().includes('DEVELOPMENT MODE'), false, 'the token is printed only on the first start');
  } finally {
    await stopServer(second);
  }
  // Informational only: timings are judged in bench/, never asserted here (they depend on machine load).
  console.log(JSON.stringify({ coldStartToHealthyMs: first.ms, restartToHealthyMs: second.ms }));
});
