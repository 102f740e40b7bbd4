/**
 * Benchmark: the CRM on 100,000 leads (BENCH_LEADS) in one tenant database on
 * its own embedded PostgreSQL (temp dir).
 *
 * Seeds contacts, leads (stages, sources, owners, tags, scores, created over a
 * year) and WhatsApp messages set-wise, then measures through the real HTTP
 * stack (auth + tenant routing + route + SQL): the plain list, filtered lists,
 * and prefix search (name word, phone digits, email), each as p50/p95 in ms,
 * next to a baseline of a plain `SELECT … LIMIT 50` on the same pool. Then a
 * full recalculation of every lead score (batched, set-based; BENCH_SCORING_BATCH leads per
 * statement, default CRM_SCORING_BATCH_SIZE's) in leads/s.
 * Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { boot } from '../src/boot.ts';
import { parseConfig } from '../src/config.ts';
import { recalculateClientScores } from '../src/crm/index.ts';
import { buildHttpApp } from '../src/http.ts';
import { createClient, tenantDbById } from '../src/tenants/index.ts';

const LEADS = Number(process.env.BENCH_LEADS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
/** Leads per recalculation statement (default: CRM_SCORING_BATCH_SIZE's default). */
const SCORING_BATCH = process.env.BENCH_SCORING_BATCH ? Number(process.env.BENCH_SCORING_BATCH) : undefined;
const dataDir = mkdtempSync(path.join(tmpdir(), 'ecodrix-bench-crm-'));
const log = (line: string) => process.stderr.write(`[crm] ${line}\n`);

function stats(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(2));
  return { p50: at(0.5), p95: at(0.95), n: sorted.length };
}

const config = parseConfig({
  NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', TENANT_AUTO_PROVISION: 'true',
  CORE_API_TOKEN: 'bench-admin-token-0123456789abcdef', ENCRYPTION_KEY: '44'.repeat(32), AUTH_FAILURE_LIMIT: '100000',
  DB_STATEMENT_TIMEOUT_MS: '600000',
});
const booted = await boot({ config, logger: pino({ level: 'silent' }) });
const { ctx } = booted;
try {
  await ctx.queue.start(ctx, { work: false });
  const app = await buildHttpApp(ctx);
  await app.ready();
  const client = await createClient(ctx, { name: 'Bench CRM Clinic', email: 'crm@example.com', actor: 'bench' });
  const headers = { 'x-api-key': client.apiKey, 'x-client-code': client.clientCode };
  const db = await tenantDbById(ctx, client.id);

  const seedStart = performance.now();
  await db.query(`
    CREATE TEMP TABLE words AS SELECT * FROM unnest(ARRAY['asha','ravi','priya','arjun','meera','kiran','deepa','rahul','sana','vikram','neha','amit','pooja','rohan','kavya','sunil','anita','manoj','divya','suresh']) WITH ORDINALITY AS w(first, i);
    CREATE TEMP TABLE lasts AS SELECT * FROM unnest(ARRAY['sharma','rao','iyer','patel','khan','das','nair','gupta','reddy','singh','mehta','joshi','bose','menon','kapoor','verma','pillai','shetty','malhotra','chopra']) WITH ORDINALITY AS l(last, i);`);
  await db.query(`
    INSERT INTO contacts (name, phone, email, tags, created_at, updated_at)
    SELECT initcap(w.first) || ' ' || initcap(l.last) || ' ' || g, (919000000000 + g * 7919 % 999999937)::text,
           w.first || '.' || l.last || g || '@example.com',
           CASE WHEN g % 10 = 0 THEN ARRAY['vip'] ELSE '{}' END,
           now() - (g % 365) * interval '1 day' - (g % 1440) * interval '1 minute', now()
      FROM generate_series(1, $1) g
      JOIN words w ON w.i = 1 + g % 20 JOIN lasts l ON l.i = 1 + (g / 20) % 20`, [LEADS]);
  await db.query(`
    INSERT INTO leads (contact_id, pipeline_id, stage, source, owner, tags, score, created_at, updated_at)
    SELECT c.id, (SELECT id FROM pipelines WHERE is_default), (ARRAY['new','contacted','qualified','won','lost'])[1 + n % 5],
           (ARRAY['whatsapp','whatsapp_ad','form','import','manual'])[1 + (n / 5) % 5], 'agent' || (n % 12),
           CASE WHEN n % 7 = 0 THEN ARRAY['hot'] ELSE '{}' END, n % 100, c.created_at, c.created_at
      FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS n FROM contacts) c`);
  // About three messages per lead: inbound, outbound, a quick reply; a button click on every fourth.
  await db.query(`INSERT INTO conversations (contact_id) SELECT id FROM contacts`);
  await db.query(`
    INSERT INTO messages (conversation_id, contact_id, direction, type, text, status, created_at, updated_at)
    SELECT v.id, v.contact_id, x.direction, CASE WHEN x.k = 3 AND v.n % 4 = 0 THEN 'button' ELSE 'text' END, 'hello', x.status,
           now() - (v.n % 60) * interval '1 day' + x.k * interval '3 minutes', now() - (v.n % 60) * interval '1 day' + x.k * interval '3 minutes'
      FROM (SELECT id, contact_id, row_number() OVER (ORDER BY id) AS n FROM conversations) v
      CROSS JOIN (VALUES (1, 'inbound', 'received'), (2, 'outbound', 'read'), (3, 'inbound', 'received')) AS x(k, direction, status)`);
  await db.query(`INSERT INTO lead_signals (lead_id, signal, occurred_at) SELECT id, 'purchase', now() - interval '10 days' FROM leads WHERE score % 9 = 0`);
  await db.query('VACUUM ANALYZE');
  const { rows: counts } = await db.query<{ leads: number; messages: number }>('SELECT (SELECT count(*) FROM leads)::int AS leads, (SELECT count(*) FROM messages)::int AS messages');
  log(`seeded ${counts[0].leads} leads, ${counts[0].messages} messages in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

  async function timeHttp(urls: string[]): Promise<number[]> {
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const url of urls) {
        const t0 = performance.now();
        const res = await app.inject({ method: 'GET', url, headers });
        times.push(performance.now() - t0);
        if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
      }
    }
    return times;
  }

  // Warm up caches and plans.
  await timeHttp(['/api/crm/leads?limit=50', '/api/crm/leads?q=priya&limit=50']);
  const baseline: number[] = [];
  for (let i = 0; i < ROUNDS * 4; i++) {
    const t0 = performance.now();
    await db.query('SELECT * FROM leads LIMIT 50');
    baseline.push(performance.now() - t0);
  }
  const list = await timeHttp(['/api/crm/leads?limit=50', '/api/crm/leads?limit=50&sort=score_desc', '/api/crm/leads?limit=50&sort=updated_desc', '/api/crm/contacts?limit=50']);
  const filtered = await timeHttp([
    '/api/crm/leads?limit=50&stage=qualified',
    '/api/crm/leads?limit=50&source=whatsapp_ad&sort=score_desc',
    '/api/crm/leads?limit=50&owner=agent3',
    '/api/crm/leads?limit=50&tag=hot',
    '/api/crm/leads?limit=50&scoreMin=80&scoreMax=90',
    `/api/crm/leads?limit=50&createdFrom=${encodeURIComponent(new Date(Date.now() - 30 * 86_400_000).toISOString())}`,
  ]);
  const search = await timeHttp([
    '/api/crm/leads?limit=50&q=priya', '/api/crm/leads?limit=50&q=sharma', '/api/crm/leads?limit=50&q=kav',
    '/api/crm/leads?limit=50&q=91900012', '/api/crm/leads?limit=50&q=meera.nair', '/api/crm/contacts?limit=50&q=rohan',
  ]);
  // A deep page: the cursor keeps it as cheap as the first.
  let cursor: string | null = null;
  for (let i = 0; i < 20; i++) {
    const url: string = `/api/crm/leads?limit=100${cursor ? `&cursor=${cursor}` : ''}`;
    cursor = (await app.inject({ method: 'GET', url, headers })).json().nextCursor;
  }
  const deep = await timeHttp([`/api/crm/leads?limit=50&cursor=${cursor}`]);

  log('recalculating every score');
  const t0 = performance.now();
  const result = await recalculateClientScores(ctx, db, { clientId: client.id, runKey: 'bench', now: new Date(), reason: 'bench', batchSize: SCORING_BATCH });
  const seconds = (performance.now() - t0) / 1000;

  process.stdout.write(JSON.stringify({
    bench: 'crm',
    leads: counts[0].leads,
    messages: counts[0].messages,
    baselineSelectLimit50Ms: stats(baseline),
    listMs: stats(list),
    filteredListMs: stats(filtered),
    searchMs: stats(search),
    deepCursorPageMs: stats(deep),
    recalculation: { leads: result.processed, changed: result.changed, batchSize: SCORING_BATCH ?? ctx.config.crm.scoringBatchSize, seconds: Number(seconds.toFixed(2)), leadsPerSecond: Math.round(result.processed / seconds) },
    targets: { listP95Ms: 50, recalculationLeadsPerSecond: 5000 },
  }) + '\n');
  await app.close();
} finally {
  await booted.close();
  rmSync(dataDir, { recursive: true, force: true });
}
