/**
 * Benchmark: the durable job queue (pg-boss wrapper in src/platform/jobs/queue.ts) on its own
 * embedded PostgreSQL in a temp dir, with a bare pg-boss queue (same database, LISTEN/NOTIFY on,
 * same concurrency) as the baseline in the same run.
 *
 * - pickup: immediate jobs enqueued one at a time (BENCH_PICKUP_JOBS, spaced 5 ms); latency from
 *   enqueue to handler start, p50/p95.
 * - punctuality: delayed jobs due over the next BENCH_DELAY_SPREAD_S seconds (BENCH_DELAYED_JOBS);
 *   lateness = handler start - due time; share started within 1 s of due, p50/p95/max lateness.
 * - throughput: BENCH_THROUGHPUT_JOBS immediate jobs enqueued 32 at a time; jobs/s from first
 *   enqueue to last handler finish (default concurrency 3 per queue, as configured).
 * Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { PgBoss } from 'pg-boss';
import { boot } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import type { AppContext } from '../src/context.ts';
import { defineJob } from '../src/platform/jobs/queue.ts';
import { startRoles } from '../src/server.ts';

const PICKUP = Number(process.env.BENCH_PICKUP_JOBS ?? 300);
const DELAYED = Number(process.env.BENCH_DELAYED_JOBS ?? 300);
const SPREAD_S = Number(process.env.BENCH_DELAY_SPREAD_S ?? 8);
const THROUGHPUT = Number(process.env.BENCH_THROUGHPUT_JOBS ?? 2000);

const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-jobs-'));
const config = parseConfig({
  NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef', ENCRYPTION_KEY: '55'.repeat(32),
});

type Probe = { tag: string; sentAt: number; dueAt: number };
const started = new Map<string, number>();
const finished = new Map<string, number>();
function record(tag: string) {
  started.set(tag, performance.timeOrigin + performance.now());
  finished.set(tag, performance.timeOrigin + performance.now());
}
const probeJob = defineJob<Probe, AppContext>({ name: 'bench.probe', async handler(data) { record(data.tag); } });

const booted = await boot({ config, logger: pino({ level: 'silent' }) });
booted.ctx.queue.register([probeJob]);
const server = await startRoles(booted, ['worker']);
const { ctx } = booted;

// Baseline: a bare pg-boss on the same database (own schema), notify on, same concurrency and polling.
const bare = new PgBoss({ connectionString: ctx.controlUrl, schema: 'pgboss_bare', useListenNotify: true, supervise: true, max: 10 });
bare.on('error', () => {});
await bare.start();
await bare.createQueue('bench.bare', { notify: true, retryLimit: 2, retryDelay: 5, retryBackoff: true });
await bare.work<Probe>('bench.bare', { localConcurrency: config.jobs.concurrency, batchSize: 1, pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 10 }, async (jobs) => {
  for (const job of jobs) record(job.data.tag);
});

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN) * 10) / 10;
}
async function waitAll(tags: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (tags.some((t) => !finished.has(t)) && Date.now() < deadline) await sleep(20);
  return tags.filter((t) => !finished.has(t)).length;
}

interface Sender { send(p: Probe, startAfter?: Date): Promise<unknown> }
const ours: Sender = { send: (p, startAfter) => ctx.queue.enqueue(probeJob, p, { startAfter }) };
const baseline: Sender = { send: (p, startAfter) => bare.send('bench.bare', p, startAfter ? { startAfter } : {}) };

async function measure(name: string, sender: Sender) {
  // Warm-up.
  const warm = Array.from({ length: 20 }, (_, i) => `${name}-warm-${i}`);
  for (const tag of warm) await sender.send({ tag, sentAt: now(), dueAt: now() });
  await waitAll(warm, 30_000);

  const pickup: number[] = [];
  const pickupTags: string[] = [];
  for (let i = 0; i < PICKUP; i++) {
    const tag = `${name}-pickup-${i}`;
    const sentAt = now();
    await sender.send({ tag, sentAt, dueAt: sentAt });
    pickupTags.push(tag);
    (pickup as unknown as Array<[string, number]>).push([tag, sentAt] as never);
    await sleep(5);
  }
  const lostPickup = await waitAll(pickupTags, 60_000);
  const pickupMs = (pickup as unknown as Array<[string, number]>).filter(([t]) => started.has(t)).map(([t, s]) => started.get(t)! - s);

  const delayed: Array<[string, number]> = [];
  const base = now() + 1500;
  for (let i = 0; i < DELAYED; i++) {
    const tag = `${name}-delayed-${i}`;
    const due = base + Math.random() * SPREAD_S * 1000;
    delayed.push([tag, due]);
    await sender.send({ tag, sentAt: now(), dueAt: due }, new Date(due));
  }
  const lostDelayed = await waitAll(delayed.map(([t]) => t), SPREAD_S * 1000 + 30_000);
  const lateness = delayed.filter(([t]) => started.has(t)).map(([t, due]) => started.get(t)! - due);

  const tputTags = Array.from({ length: THROUGHPUT }, (_, i) => `${name}-tput-${i}`);
  const t0 = now();
  for (let i = 0; i < tputTags.length; i += 32) {
    await Promise.all(tputTags.slice(i, i + 32).map((tag) => sender.send({ tag, sentAt: now(), dueAt: now() })));
  }
  const lostTput = await waitAll(tputTags, 120_000);
  const t1 = Math.max(...tputTags.filter((t) => finished.has(t)).map((t) => finished.get(t)!));
  return {
    pickupP50Ms: pct(pickupMs, 0.5), pickupP95Ms: pct(pickupMs, 0.95),
    delayedWithin1sShare: Math.round((lateness.filter((l) => l <= 1000).length / DELAYED) * 10_000) / 10_000,
    delayedLatenessP50Ms: pct(lateness, 0.5), delayedLatenessP95Ms: pct(lateness, 0.95), delayedLatenessMaxMs: Math.round(Math.max(...lateness)),
    earlyStarts: lateness.filter((l) => l < -50).length,
    throughputJobsPerSec: Math.round((THROUGHPUT - lostTput) / ((t1 - t0) / 1000)),
    lost: lostPickup + lostDelayed + lostTput,
  };
}

try {
  const queue = await measure('ours', ours);
  const bareResult = await measure('bare', baseline);
  process.stdout.write(`${JSON.stringify({
    bench: 'jobs', concurrency: config.jobs.concurrency, pickupJobs: PICKUP, delayedJobs: DELAYED, delaySpreadSeconds: SPREAD_S, throughputJobs: THROUGHPUT,
    queue, bareBaseline: bareResult,
    targets: { pickupP95Ms: 100, delayedWithin1sShare: 0.99 },
    met: queue.pickupP95Ms <= 100 && queue.delayedWithin1sShare >= 0.99,
  })}\n`);
} finally {
  await bare.stop({ graceful: false, close: true }).catch(() => {});
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
