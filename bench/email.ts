/**
 * Benchmark: campaign email to a local SMTP sink (a real smtp-server on
 * loopback, STARTTLS, in a child process), on its own embedded PostgreSQL in a temp dir.
 *
 * 1. Unthrottled: a campaign of BENCH_EMAILS recipients through the real engine
 *    (materialise, claim, render, pooled SMTP, grouped outcome writes), emails/s
 *    counted from the sink's accepted messages. Target ≥ 500/s.
 * 2. Baseline: raw nodemailer (same pool size, same TLS) to the same sink.
 * 3. Throttled: BENCH_RATE/s (default: half the measured unthrottled rate) for
 *    BENCH_RATE_SECONDS; measured rate = (n−1)/(last−first receive time) at the sink.
 *    Target within 5 % of the setting.
 * Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { boot } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import { createCampaign } from '../src/campaigns/create-campaign.ts';
import { runCampaign } from '../src/campaigns/run-campaign.ts';
import { countRecipients } from '../src/campaigns/recipients.repo.ts';
import { createClient, tenantDbById } from '../src/tenants/index.ts';
import { writeSecrets } from '../src/tenants/secrets.ts';
import { startRemoteSmtpSink } from '../test/smtp-sink-process.ts';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 3000);
// Throttled run: at BENCH_RATE/s, or (default) half the unthrottled throughput just measured, rounded
// down to a multiple of 5, so that the figure is about the pacer and not about spare capacity.
const RATE_SETTING = Number(process.env.BENCH_RATE ?? 0);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 10);
const RATE_EMAILS = 5000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 5);
const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-email-'));
const log = (line: string) => process.stderr.write(`[email] ${line}\n`);

const sink = await startRemoteSmtpSink();
const config = parseConfig({
  NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', TENANT_AUTO_PROVISION: 'true',
  CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef', ENCRYPTION_KEY: '55'.repeat(32),
  SMTP_ALLOW_HOSTS: '127.0.0.1', SMTP_TLS_VERIFY: 'false', EMAIL_RATE_PER_SECOND: '0', EMAIL_RATE_PER_DAY: '0',
  EMAIL_CONCURRENCY: String(CONCURRENCY), EMAIL_BATCH_SIZE: process.env.EMAIL_BATCH_SIZE ?? '100', PUBLIC_URL: 'https://mail.bench.test',
});
const booted = await boot({ config, logger: pino({ level: 'silent' }) });
const { ctx } = booted;
try {
  await ctx.queue.start(ctx, { work: false });
  const client = await createClient(ctx, { name: 'Bench Mail Clinic', email: 'mail@example.com', actor: 'bench' });
  await writeSecrets(ctx.controlDb, ctx.keyring, client.id, { smtpHost: '127.0.0.1', smtpPort: String(sink.port), smtpFrom: 'News <news@bench.test>' });
  const db = await tenantDbById(ctx, client.id);
  await db.query(`
    WITH c AS (
      INSERT INTO contacts (name, email, custom_fields)
      SELECT 'Person ' || g, 'person' || g || '@example.com', jsonb_build_object('n', g) FROM generate_series(1, $1::int + 20 + $2::int) g
      RETURNING id, (custom_fields->>'n')::int AS n)
    INSERT INTO leads (contact_id, stage)
    SELECT id, CASE WHEN n <= $1 THEN 'qualified' WHEN n <= $1 + 20 THEN 'warmup' ELSE 'paced' END FROM c`, [EMAILS, RATE_EMAILS]);
  await db.query('ANALYZE');
  const template = { subject: 'Offer for {{firstName|you}}', html: '<p>Hello {{name|there}}, <a href="https://shop.example/x">see the offer</a></p>', text: '' };

  async function run(stage: string, ratePerSecond: number | null) {
    const campaign = await createCampaign(db, { name: stage, ...template, audience: { type: 'filter', stages: [stage] }, ratePerSecond });
    await db.query("UPDATE email_campaigns SET status = 'scheduled', send_at = now() WHERE id = $1", [campaign.id]);
    const before = await sink.stats();
    const start = performance.now();
    await runCampaign(ctx, client.id, campaign.id, { budgetMs: 600_000 });
    const seconds = (performance.now() - start) / 1000;
    const counts = await countRecipients(db, campaign.id);
    const after = await sink.stats();
    return { sent: counts.sent, accepted: after.accepted - before.accepted, seconds, times: after.acceptedAt.slice(before.acceptedAt.length) };
  }

  // Warm-up (pool, TLS session, JIT) with a few messages.
  await run('warmup', null);

  const unthrottled = await run('qualified', null);
  const perSecond = Math.round(unthrottled.accepted / unthrottled.seconds);
  log(`unthrottled: ${unthrottled.accepted} emails in ${unthrottled.seconds.toFixed(2)} s = ${perSecond}/s`);

  // Baseline: raw nodemailer, same sink, same pool size and TLS.
  const transporter = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, pool: true, maxConnections: CONCURRENCY, maxMessages: 1000, requireTLS: true, tls: { rejectUnauthorized: false } });
  const baseBefore = (await sink.stats()).accepted;
  const baseStart = performance.now();
  await Promise.all(Array.from({ length: EMAILS }, (_, i) => transporter.sendMail({ from: 'news@bench.test', to: `raw${i}@example.com`, subject: `Offer for Person ${i}`, html: `<p>Hello Person ${i}</p>`, text: `Hello Person ${i}` })));
  const baseSeconds = (performance.now() - baseStart) / 1000;
  transporter.close();
  const baseline = Math.round(((await sink.stats()).accepted - baseBefore) / baseSeconds);
  log(`baseline nodemailer: ${baseline}/s`);

  const RATE = RATE_SETTING || Math.max(5, Math.floor(perSecond / 2 / 5) * 5);
  await db.query(`UPDATE leads SET stage = 'paced_now' WHERE id IN (SELECT id FROM leads WHERE stage = 'paced' LIMIT $1)`, [Math.min(RATE_EMAILS, RATE * RATE_SECONDS)]);
  const throttled = await run('paced_now', RATE);
  const span = (throttled.times.at(-1)! - throttled.times[0]) / 1000;
  const measured = (throttled.times.length - 1) / span;
  const errorPct = (Math.abs(measured - RATE) / RATE) * 100;
  log(`throttled at ${RATE}/s: ${throttled.times.length} emails, measured ${measured.toFixed(1)}/s (${errorPct.toFixed(2)} % off)`);

  process.stdout.write(`${JSON.stringify({
    bench: 'email',
    emails: unthrottled.accepted,
    emailsPerSecond: perSecond,
    target: 500,
    baselineNodemailerPerSecond: baseline,
    ratioToBaseline: Number((perSecond / baseline).toFixed(2)),
    throttled: { setting: RATE, emails: throttled.times.length, measuredPerSecond: Number(measured.toFixed(2)), errorPercent: Number(errorPct.toFixed(2)), targetPercent: 5 },
    smtp: { tls: 'starttls', connections: CONCURRENCY, sink: 'smtp-server on loopback, own process' },
    ok: perSecond >= 500 && errorPct <= 5 && unthrottled.sent === EMAILS,
  })}\n`);
} finally {
  await booted.close();
  await sink.close();
  rmSync(dataDir, { recursive: true, force: true });
}
