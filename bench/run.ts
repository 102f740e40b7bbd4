/**
 * `npm run bench`: runs every `bench/*.ts` except this file, one after another
 * (each starts its own embedded PostgreSQL), collects the JSON line each
 * prints, and shows one table (What | Target | Measured | Baseline | Ratio |
 * Met?) mapped to DESIGN.md's targets, plus one JSON document with everything.
 *
 *   npm run bench                          # all benchmarks, full size
 *   BENCH_QUICK=1 npm run bench            # short runs (smaller counts, see QUICK below)
 *   npm run bench -- --only routing,memory # some of them (names as in bench/<name>.ts)
 *
 * Each benchmark runs in its own process group with its own TMPDIR; when it
 * exits (or is killed at BENCH_TIMEOUT_S, default 900, 300 when quick) every
 * process left in its group or on its TMPDIR (an embedded PostgreSQL of a
 * crashed benchmark) is stopped and the TMPDIR removed. A benchmark that fails
 * is shown as failed with its error. Add a benchmark by adding a file that
 * prints one JSON line with a `bench` name (and a row mapping below).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type Result = Record<string, unknown> & { bench: string };
interface Row { what: string; target: string; measured: string; baseline: string; ratio: string; met: string }

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const onlyFlag = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
const only = (onlyFlag >= 0
  ? (argv[onlyFlag].includes('=') ? argv[onlyFlag].slice('--only='.length) : argv[onlyFlag + 1] ?? '')
  : argv.filter((a) => !a.startsWith('--')).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const quick = /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '') || argv.includes('--quick');
const timeoutS = Number(process.env.BENCH_TIMEOUT_S ?? (quick ? 300 : 900));

/** Smaller sizes for BENCH_QUICK=1 (only where the variable is not set already). */
const QUICK: Record<string, Record<string, string>> = {
  routing: { BENCH_REQUESTS: '500' },
  ingest: { BENCH_REQUESTS: '5000', BENCH_SECONDS: '5' },
  'inbox-apply': { BENCH_SECONDS: '4' },
  e2e: { BENCH_SECONDS: '4' },
  send: { BENCH_SENDS: '500', BENCH_WARMUP: '50' },
  jobs: { BENCH_PICKUP_JOBS: '100', BENCH_DELAYED_JOBS: '100', BENCH_DELAY_SPREAD_S: '4', BENCH_THROUGHPUT_JOBS: '500' },
  crm: { BENCH_LEADS: '10000', BENCH_ROUNDS: '20' },
  email: { BENCH_EMAILS: '500', BENCH_RATE_SECONDS: '5' },
  memory: { BENCH_TENANTS: '200' },
  'cold-start': { BENCH_RUNS: '1' },
};

const files = readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts')).sort()
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, '')));
if (only.length && files.length !== only.length) {
  const known = new Set(files.map((f) => f.replace(/\.ts$/, '')));
  process.stderr.write(`unknown benchmark(s): ${only.filter((o) => !known.has(o)).join(', ')}\n`);
}

// ---------------------------------------------------------------- processes

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids (not this process) whose command line or working directory is under `dir`. */
function processesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // not ours to read
      }
      if (cmd.includes(dir) || cwd.startsWith(dir)) found.push(pid);
    } catch {
      // gone
    }
  }
  return found;
}

/** Stops what a benchmark left behind: its process group, then anything on its TMPDIR. */
async function killStragglers(pgid: number, tmp: string): Promise<number> {
  const signalAll = (signal: NodeJS.Signals) => {
    let any = false;
    try {
      process.kill(-pgid, signal);
      any = true;
    } catch {
      // group empty
    }
    for (const pid of processesUnder(tmp)) {
      try {
        process.kill(pid, signal);
        any = true;
      } catch {
        // gone
      }
    }
    return any;
  };
  const groupAlive = () => alive(-pgid) || processesUnder(tmp).length > 0;
  if (!groupAlive()) return 0;
  const count = processesUnder(tmp).length;
  signalAll('SIGINT'); // PostgreSQL: fast shutdown
  for (let i = 0; i < 100 && groupAlive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive()) signalAll('SIGKILL');
  for (let i = 0; i < 20 && groupAlive(); i++) await new Promise((r) => setTimeout(r, 100));
  return Math.max(count, 1);
}

let current: { pgid: number; tmp: string } | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping the running benchmark\n`);
    const c = current;
    void (async () => {
      if (c) {
        await killStragglers(c.pgid, c.tmp);
        rmSync(c.tmp, { recursive: true, force: true });
      }
      process.exit(130);
    })();
  });
}

interface RunOutcome { code: number | null; signal: string | null; lines: string[]; stderrTail: string; ms: number; timedOut: boolean; stragglers: number; loadBefore: number; loadAfter: number }

function run(file: string): Promise<RunOutcome> {
  const name = file.replace(/\.ts$/, '');
  const tmp = mkdtempSync(path.join(os.tmpdir(), `ecodrix-benchrun-${name}-`));
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  if (quick) for (const [k, v] of Object.entries(QUICK[name] ?? {})) env[k] ??= v;
  const loadBefore = os.loadavg()[0];
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, [path.join(here, file)], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    const pgid = child.pid!;
    current = { pgid, tmp };
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.stderr.write(`[run] ${name}: timed out after ${timeoutS} s, stopping it\n`);
      try {
        process.kill(-pgid, 'SIGTERM');
      } catch {
        // already gone
      }
      setTimeout(() => alive(pgid) && process.kill(-pgid, 'SIGKILL'), 10_000).unref();
    }, timeoutS * 1000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000);
      process.stderr.write(d);
    });
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - start);
      const stragglers = await killStragglers(pgid, tmp);
      if (stragglers) process.stderr.write(`[run] ${name}: stopped ${stragglers} leftover process(es)\n`);
      rmSync(tmp, { recursive: true, force: true });
      current = undefined;
      resolve({ code, signal, lines: stdout.split('\n').filter(Boolean), stderrTail: stderr, ms, timedOut, stragglers, loadBefore, loadAfter: os.loadavg()[0] });
    });
  });
}

// ---------------------------------------------------------------- rows

const n = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const fmt = (v: unknown, digits = 0): string => {
  const x = n(v);
  if (!Number.isFinite(x)) return String(v);
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
};
const ratio = (a: unknown, b: unknown): string => (n(b) > 0 && Number.isFinite(n(a)) ? `${(n(a) / n(b)).toFixed(2)}×` : '—');
const yes = (ok: boolean): string => (ok ? 'yes' : 'NO');
const get = (r: Record<string, unknown>, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), r);
const NONE = 'none in this benchmark';

const mappings: Record<string, (r: Result) => Row[]> = {
  ingest: (r) => [{
    what: 'Durable webhook ingest (stored before 200)', target: '≥ 10,000 msg/s, ack p99 ≤ 50 ms',
    measured: `${fmt(r.messagesPerSecond)} msg/s (1 per request), ack p50 ${fmt(r.ackP50Ms, 1)} / p99 ${fmt(r.ackP99Ms, 1)} ms${r.everyAckStored ? ', every ack stored' : ', NOT every ack stored'}; CPU/request: server ${fmt(get(r, 'ingest.serverCpuPerRequestUs'))} µs + PostgreSQL ${fmt(get(r, 'ingest.postgresCpuPerRequestUs'))} µs`,
    baseline: `no-op route ${fmt(get(r, 'baselineNoop.perSecond'))} req/s, p99 ${fmt(get(r, 'baselineNoop.p99Ms'), 1)} ms; server ${fmt(get(r, 'baselineNoop.serverCpuPerRequestUs'))} µs/request`,
    ratio: ratio(r.messagesPerSecond, get(r, 'baselineNoop.perSecond')),
    met: yes(n(r.messagesPerSecond) >= 10_000 && n(r.ackP99Ms) <= 50 && r.everyAckStored === true),
  }],
  'inbox-apply': (r) => [{
    what: 'Webhook inbox → tenant rows (part of e2e)', target: 'keep up with the offered rate, exactly once',
    measured: `${fmt(r.appliedPerSecond)}/s applied at ${fmt(r.offeredPerSecond)}/s offered, store→applied p50 ${fmt(r.storeToAppliedP50Ms)} / p99 ${fmt(r.storeToAppliedP99Ms)} ms${r.exactlyOnce ? ', exactly once' : ', NOT exactly once'}`,
    baseline: `offered rate ${fmt(r.offeredPerSecond)}/s`, ratio: ratio(r.appliedPerSecond, r.offeredPerSecond),
    met: yes(n(r.appliedPerSecond) >= 0.95 * n(r.offeredPerSecond) && r.exactlyOnce === true),
  }],
  e2e: (r) => [{
    what: 'Webhook → message row → dashboard event', target: 'p99 ≤ 100 ms at 1,000 msg/s',
    measured: `p50 ${fmt(get(r, 'latency.p50'))} / p99 ${fmt(get(r, 'latency.p99'))} ms at ${fmt(r.offeredPerSecond)}/s offered; ${fmt(r.received)}/${fmt(r.posted)} events; ack p99 ${fmt(get(r, 'ack.p99'))} ms`,
    baseline: NONE, ratio: '—',
    met: yes(n(get(r, 'latency.p99')) <= 100 && n(r.offeredPerSecond) >= 950 && r.received === r.posted),
  }],
  routing: (r) => [{
    what: 'Routing cost, 10 vs 10,000 tenants', target: 'flat (ratio ≤ 1.2)',
    measured: `10,000 tenants: p50 ${fmt(get(r, 'clients10000.p50'), 2)} / p95 ${fmt(get(r, 'clients10000.p95'), 2)} ms`,
    baseline: `10 tenants: p50 ${fmt(get(r, 'clients10.p50'), 2)} / p95 ${fmt(get(r, 'clients10.p95'), 2)} ms`,
    ratio: `${fmt(r.ratio, 2)}×`, met: yes(n(r.ratio) <= 1.2),
  }],
  jobs: (r) => [{
    what: 'Immediate job pickup', target: 'p95 ≤ 100 ms',
    measured: `p50 ${fmt(get(r, 'queue.pickupP50Ms'), 1)} / p95 ${fmt(get(r, 'queue.pickupP95Ms'), 1)} ms; ${fmt(get(r, 'queue.throughputJobsPerSec'))} jobs/s`,
    baseline: `bare pg-boss p50 ${fmt(get(r, 'bareBaseline.pickupP50Ms'), 1)} / p95 ${fmt(get(r, 'bareBaseline.pickupP95Ms'), 1)} ms; ${fmt(get(r, 'bareBaseline.throughputJobsPerSec'))} jobs/s`,
    ratio: ratio(get(r, 'queue.pickupP95Ms'), get(r, 'bareBaseline.pickupP95Ms')), met: yes(n(get(r, 'queue.pickupP95Ms')) <= 100),
  }, {
    what: 'Delayed job punctuality', target: '99 % within 1 s of due time',
    measured: `${fmt(n(get(r, 'queue.delayedWithin1sShare')) * 100, 1)} % within 1 s, lateness p95 ${fmt(get(r, 'queue.delayedLatenessP95Ms'))} ms; lost ${fmt(get(r, 'queue.lost'))}`,
    baseline: `bare pg-boss ${fmt(n(get(r, 'bareBaseline.delayedWithin1sShare')) * 100, 1)} %`,
    ratio: ratio(get(r, 'queue.delayedWithin1sShare'), get(r, 'bareBaseline.delayedWithin1sShare')),
    met: yes(n(get(r, 'queue.delayedWithin1sShare')) >= 0.99),
  }],
  send: (r) => [{
    what: 'Send jobs against a local Graph API', target: '≥ 2,000/s',
    measured: `${fmt(r.sendsPerSecond)} sends/s (${fmt(r.sent)} sent, ${fmt(r.failed)} failed); API p95 ${fmt(get(r, 'api.p95'))} ms, pickup p95 ${fmt(get(r, 'pickup.p95'))} ms; ${fmt(r.sqlPerSend, 1)} SQL/send`,
    baseline: `ceilings: bare pg-boss send+fetch+complete ${fmt(get(r, 'ceilings.barePgBossPerSecond'))}/s, bare POST to the simulator ${fmt(get(r, 'ceilings.bareGraphPostPerSecond'))}/s`,
    ratio: ratio(r.sendsPerSecond, Math.min(n(get(r, 'ceilings.barePgBossPerSecond')), n(get(r, 'ceilings.bareGraphPostPerSecond')))), met: yes(n(r.sendsPerSecond) >= 2000),
  }],
  memory: (r) => [{
    what: `Memory with ${fmt(r.tenants)} active tenants`, target: '≤ 300 MB RSS, DB connections within the budget',
    measured: `RSS peak ${fmt(get(r, 'rssMb.peak'))} MB (end ${fmt(get(r, 'rssMb.end'))} MB); tenant connections max ${fmt(get(r, 'connections.maxTenant'))} of budget ${fmt(get(r, 'connections.budget'))}; ${fmt(r.requests)} requests, ${fmt(r.errors)} errors`,
    baseline: `booted app, 0 tenants: ${fmt(get(r, 'rssMb.baseline'))} MB`, ratio: ratio(get(r, 'rssMb.peak'), get(r, 'rssMb.baseline')),
    met: yes(n(get(r, 'rssMb.peak')) <= 300 && n(get(r, 'connections.maxTenant')) <= n(get(r, 'connections.budget')) && n(r.errors) === 0),
  }],
  email: (r) => [{
    what: 'Campaign email to a local SMTP server', target: '≥ 500/s',
    measured: `${fmt(r.emailsPerSecond)} emails/s (${fmt(r.emails)})`, baseline: `raw nodemailer ${fmt(r.baselineNodemailerPerSecond)}/s`,
    ratio: ratio(r.emailsPerSecond, r.baselineNodemailerPerSecond), met: yes(n(r.emailsPerSecond) >= 500),
  }, {
    what: 'Per-tenant email rate limit honored', target: 'within 5 % of the setting',
    measured: `${fmt(get(r, 'throttled.measuredPerSecond'), 1)}/s (${fmt(get(r, 'throttled.errorPercent'), 1)} % off)`,
    baseline: `setting ${fmt(get(r, 'throttled.setting'))}/s`, ratio: ratio(get(r, 'throttled.measuredPerSecond'), get(r, 'throttled.setting')),
    met: yes(n(get(r, 'throttled.errorPercent')) <= 5),
  }],
  crm: (r) => [{
    what: `CRM lead list on ${fmt(r.leads)} leads (HTTP)`, target: 'p95 ≤ 50 ms',
    measured: `list p95 ${fmt(get(r, 'listMs.p95'), 1)} ms, filtered p95 ${fmt(get(r, 'filteredListMs.p95'), 1)} ms, search p95 ${fmt(get(r, 'searchMs.p95'), 1)} ms`,
    baseline: `plain SELECT … LIMIT 50 p95 ${fmt(get(r, 'baselineSelectLimit50Ms.p95'), 1)} ms`,
    ratio: ratio(get(r, 'listMs.p95'), get(r, 'baselineSelectLimit50Ms.p95')),
    met: yes(Math.max(n(get(r, 'listMs.p95')), n(get(r, 'filteredListMs.p95')), n(get(r, 'searchMs.p95'))) <= 50),
  }, {
    what: 'CRM score recalculation', target: '≥ 5,000 leads/s',
    measured: `${fmt(get(r, 'recalculation.leadsPerSecond'))} leads/s (${fmt(get(r, 'recalculation.leads'))} in ${fmt(get(r, 'recalculation.seconds'), 1)} s)`,
    baseline: NONE, ratio: '—', met: yes(n(get(r, 'recalculation.leadsPerSecond')) >= 5000),
  }],
  'cold-start': (r) => [{
    what: 'Cold start on a fresh data directory to healthy', target: '≤ 5 s',
    measured: `${fmt(n(get(r, 'freshMs.median')) / 1000, 2)} s (node src/main.ts, incl. initdb + migrations)${r.npmStartFreshMs ? `; npm start ${fmt(n(r.npmStartFreshMs) / 1000, 2)} s` : ''}`,
    baseline: `node -e "" ${fmt(get(r, 'baselineNodeMs.median'))} ms`, ratio: ratio(get(r, 'freshMs.median'), get(r, 'baselineNodeMs.median')),
    met: yes(n(get(r, 'freshMs.median')) <= 5000 && (!r.npmStartFreshMs || n(r.npmStartFreshMs) <= 5000)),
  }, {
    what: 'Restart on an existing data directory to healthy', target: '≤ 5 s',
    measured: `${fmt(n(get(r, 'existingMs.median')) / 1000, 2)} s`, baseline: `node -e "" ${fmt(get(r, 'baselineNodeMs.median'))} ms`,
    ratio: ratio(get(r, 'existingMs.median'), get(r, 'baselineNodeMs.median')), met: yes(n(get(r, 'existingMs.median')) <= 5000),
  }],
};

function rowsFor(result: Result): Row[] {
  if (typeof result.error === 'string') {
    return [{ what: result.bench, target: '', measured: `FAILED: ${result.error}`, baseline: '', ratio: '', met: 'failed' }];
  }
  const map = mappings[result.bench];
  if (!map) {
    const text = JSON.stringify(result);
    return [{ what: result.bench, target: '(no mapping in run.ts)', measured: text.length > 160 ? `${text.slice(0, 157)}…` : text, baseline: '?', ratio: '?', met: '?' }];
  }
  try {
    return map(result);
  } catch (err) {
    return [{ what: result.bench, target: '', measured: `unreadable result: ${(err as Error).message}`, baseline: '', ratio: '', met: '?' }];
  }
}

// ---------------------------------------------------------------- main

const startedAt = new Date();
const results: Result[] = [];
let failed = false;
process.stderr.write(`[run] ${files.length} benchmark(s)${quick ? ' (BENCH_QUICK)' : ''}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} CPUs\n`);
for (const file of files) {
  const name = file.replace(/\.ts$/, '');
  process.stderr.write(`\n== ${file}\n`);
  const out = await run(file);
  const parsed = out.lines.flatMap((line) => {
    try {
      const value = JSON.parse(line) as Result;
      return value && typeof value === 'object' && typeof value.bench === 'string' ? [value] : [];
    } catch {
      return [];
    }
  });
  const extra = { seconds: Math.round(out.ms / 100) / 10, loadAverage: { before: Number(out.loadBefore.toFixed(1)), after: Number(out.loadAfter.toFixed(1)) } };
  if (out.code !== 0 || parsed.length === 0) {
    failed = true;
    const lastError = out.stderrTail.split('\n').map((l) => l.trim()).filter((l) => /error|fail|throw|refused|timeout/i.test(l)).at(-1)
      ?? out.stderrTail.trim().split('\n').at(-1) ?? '';
    const how = out.timedOut ? `timed out after ${timeoutS} s` : out.signal ? `killed by ${out.signal}` : `exit ${out.code}`;
    results.push({ bench: name, error: `${how}, ${parsed.length} result line(s)${lastError ? `: ${lastError.slice(0, 300)}` : ''}`, ...extra });
  } else {
    results.push(...parsed.map((r) => ({ ...r, ...extra })));
  }
}

const rows = results.flatMap((r) => rowsFor(r).map((row) => ({ bench: r.bench, ...row, seconds: r.seconds, loadAverage: r.loadAverage })));
const cell = (s: string) => s.replace(/\|/g, '\\|');
const header = '| What | Target | Measured | Baseline (same run) | Ratio | Met? |';
const lines = [header, '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${cell(r.what)} (\`bench/${r.bench}.ts\`) | ${cell(r.target)} | ${cell(r.measured)} | ${cell(r.baseline)} | ${r.ratio} | ${r.met} |`)];
const machine = { cpus: os.availableParallelism(), memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(1))) };
process.stdout.write(`\n${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${machine.cpus} CPUs, ${quick ? 'BENCH_QUICK, ' : ''}load average per benchmark (1 min, before→after): ${results.map((r) => `${r.bench} ${(r.loadAverage as { before: number }).before}→${(r.loadAverage as { after: number }).after}`).join(', ')}\n\n`);
process.stdout.write(`${lines.join('\n')}\n\n`);
process.stdout.write(`${JSON.stringify({ startedAt: startedAt.toISOString(), quick, machine, rows, benchmarks: results })}\n`);
process.exitCode = failed ? 1 : 0;
