import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { startSmtpSink, type SmtpSink } from '../../test/smtp-sink.ts';
import { tenantDbById } from '../tenants/index.ts';
import type { RealtimeEvent } from '../platform/events.ts';
import { sendEmailAction } from './send-email.action.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { commitSlots, planSlots } from './send-quota.ts';

let h: TestApp;
let sink: SmtpSink;
let a: TestClient;
let b: TestClient;
let sandboxClient: TestClient;
let dbA: pg.Pool;
const events: RealtimeEvent[] = [];

async function seed(db: pg.Pool, people: Array<{ name?: string | null; email: string; stage?: string; tags?: string[]; score?: number; phone?: string }>): Promise<string[]> {
  const ids: string[] = [];
  for (const p of people) {
    const { rows } = await db.query<{ id: string }>('INSERT INTO contacts (name, email, phone) VALUES ($1, $2, $3) RETURNING id', [p.name ?? null, p.email, p.phone ?? null]);
    await db.query('INSERT INTO leads (contact_id, stage, tags, score, source) VALUES ($1, $2, $3, $4, $5)', [rows[0].id, p.stage ?? 'new', p.tags ?? [], p.score ?? 0, 'form']);
    ids.push(rows[0].id);
  }
  return ids;
}

async function api(client: TestClient, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
  const res = await h.app.inject({ method, url, headers: client.headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

async function waitForStatus(client: TestClient, id: string, statuses: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api(client, 'GET', `/api/saas/email/campaigns/${id}`);
    if (statuses.includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`campaign ${id} still ${res.body.status}: ${JSON.stringify(res.body.counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function createAndSend(client: TestClient, body: Record<string, unknown>) {
  const created = await api(client, 'POST', '/api/saas/email/campaigns', { name: 'Campaign', subject: 'Hello {{firstName|there}}', html: '<p>Hi {{firstName|there}}</p>', ...body });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const sent = await api(client, 'POST', `/api/saas/email/campaigns/${created.body.id}/send`);
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  return created.body.id as string;
}

const header = (mail: { headerLines: Array<{ key: string; line: string }> }, key: string) => mail.headerLines.filter((l) => l.key === key).map((l) => l.line);

before(async () => {
  sink = await startSmtpSink({ auth: { user: 'mailer', pass: 'right-password' } });
  h = await startTestApp({
    env: { SMTP_ALLOW_HOSTS: '127.0.0.1', SMTP_TLS_VERIFY: 'false', EMAIL_RETRY_BASE_SECONDS: '1', EMAIL_RATE_PER_SECOND: '0', PUBLIC_URL: 'https://mail.ecodrix.test' },
  });
  h.ctx.realtime = { publish: (e) => events.push(e) };
  a = await h.createClient('Mail Clinic A');
  b = await h.createClient('Mail Clinic B');
  sandboxClient = await h.createClient('Sandbox Clinic');
  const secrets = await h.app.inject({
    method: 'POST', url: `/api/clients/${a.code}/secrets`, headers: h.adminHeaders,
    payload: { smtpHost: '127.0.0.1', smtpPort: String(sink.port), smtpUser: 'mailer', smtpPass: 'right-password', smtpFrom: 'Clinic A <hello@clinic-a.test>' },
  });
  assert.equal(secrets.statusCode, 200, secrets.body);
  await h.app.inject({ method: 'POST', url: `/api/clients/${b.code}/secrets`, headers: h.adminHeaders, payload: { smtpHost: '10.1.2.3', smtpPort: '587', smtpFrom: 'b@clinic-b.test' } });
  dbA = await tenantDbById(h.ctx, a.id);
});
after(async () => {
  if (process.env.DEBUG_LOGS) for (const line of h.logs) if (/"level":(4|5)0/.test(line)) process.stderr.write(line);
  await h.close();
  await sink.close();
});

describe('SMTP verify', () => {
  test('reports success, a blocked destination and the sandbox in words', async () => {
    const ok = await api(a, 'POST', '/api/saas/email/verify');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ok, true, JSON.stringify(ok.body));
    assert.equal(ok.body.security, 'starttls');
    const blocked = await api(b, 'POST', '/api/saas/email/verify');
    assert.equal(blocked.body.ok, false);
    assert.equal(blocked.body.stage, 'policy');
    assert.match(blocked.body.message, /not allowed/);
    const sandbox = await api(sandboxClient, 'POST', '/api/saas/email/verify');
    assert.equal(sandbox.body.sandbox, true);
    const anonymous = await h.app.inject({ method: 'POST', url: '/api/saas/email/verify' });
    assert.equal(anonymous.statusCode, 401);
  });

  test('a wrong password is reported as an authentication failure', async () => {
    sink.auth = { user: 'mailer', pass: 'other' };
    try {
      const res = await api(a, 'POST', '/api/saas/email/verify');
      assert.equal(res.body.ok, false);
      assert.equal(res.body.stage, 'auth');
      assert.match(res.body.message, /refused the username or password/);
    } finally {
      sink.auth = { user: 'mailer', pass: 'right-password' };
    }
  });

  test('verify is rate limited per client', async () => {
    let last = 200;
    for (let i = 0; i < 12 && last !== 429; i++) last = (await api(sandboxClient, 'POST', '/api/saas/email/verify')).status;
    assert.equal(last, 429);
  });
});

describe('campaigns', () => {
  test('filter audience, personalisation with escaping and fallbacks, headers, Message-ID, progress', async () => {
    await seed(dbA, [
      { name: 'Ann <b>&</b> Co', email: 'Ann@Example.test', stage: 'qualified', tags: ['vip'], score: 50 },
      { name: null, email: 'noname@example.test', stage: 'qualified', tags: ['vip'], score: 60 },
      { name: 'Low Score', email: 'low@example.test', stage: 'qualified', tags: ['vip'], score: 5 },
      { name: 'Other Stage', email: 'other@example.test', stage: 'new', tags: ['vip'], score: 90 },
    ]);
    const created = await api(a, 'POST', '/api/saas/email/campaigns', {
      name: 'VIP', subject: 'Hi {{firstName|there}}', html: '<p>Dear {{name|friend}}, <a href="https://shop.example/offer?a=1&amp;b=2">offer</a></p>', text: 'Dear {{firstName|there}}',
      audience: { type: 'filter', stages: ['qualified'], tags: ['vip'], scoreMin: 10 },
    });
    assert.equal(created.status, 201);
    const id = created.body.id;
    const preview = await api(a, 'GET', `/api/saas/email/campaigns/${id}/preview`);
    assert.equal(preview.status, 200);
    assert.equal(preview.body.audienceCount, 2);

    const before = sink.accepted;
    await api(a, 'POST', `/api/saas/email/campaigns/${id}/send`);
    const done = await waitForStatus(a, id, ['finished']);
    assert.equal(done.counts.sent, 2);
    assert.equal(sink.accepted - before, 2);
    const ann = sink.messages.find((m) => m.to === 'ann@example.test')!;
    assert.equal(ann.subject, 'Hi Ann');
    assert.match(ann.html, /Dear Ann &lt;b&gt;&amp;&lt;\/b&gt; Co,/);
    assert.doesNotMatch(ann.html, /<b>&<\/b>/);
    assert.match(ann.text, /^Dear Ann/);
    const noname = sink.messages.find((m) => m.to === 'noname@example.test')!;
    assert.equal(noname.subject, 'Hi there');
    assert.match(noname.html, /Dear friend/);
    // Click tracking rewrote the link; open pixel present.
    assert.match(ann.html, /https:\/\/mail\.ecodrix\.test\/api\/saas\/email\/click\?t=/);
    assert.match(ann.html, /\/api\/saas\/email\/open\?t=/);
    // RFC 8058 headers, unfolded, https.
    const lu = header(ann, 'list-unsubscribe');
    assert.equal(lu.length, 1);
    assert.match(lu[0], /^List-Unsubscribe: <https:\/\/mail\.ecodrix\.test\/api\/saas\/email\/unsubscribe\?token=[^>]+>$/);
    assert.deepEqual(header(ann, 'list-unsubscribe-post'), ['List-Unsubscribe-Post: List-Unsubscribe=One-Click']);
    // Message-ID recorded per recipient.
    const recipients = await api(a, 'GET', `/api/saas/email/campaigns/${id}/recipients`);
    const annRow = recipients.body.items.find((r: { email: string }) => r.email === 'ann@example.test');
    assert.equal(annRow.status, 'sent');
    assert.equal(annRow.messageId, ann.messageId);
    assert.match(ann.messageId, /@clinic-a\.test>$/);
    const progress = events.filter((e) => e.event === 'campaign.progress' && (e.payload as { campaignId: string }).campaignId === id);
    assert.ok(progress.length >= 2);
    assert.equal(progress.every((e) => e.clientId === a.id), true);
    assert.equal((progress.at(-1)!.payload as { status: string }).status, 'finished');
  });

  test('unsubscribe round trip: GET confirms only, one-click POST suppresses, never mailed again', async () => {
    await seed(dbA, [{ name: 'Una Sub', email: 'una@example.test' }, { name: 'Stay', email: 'stay@example.test' }]);
    const list = { type: 'list', emails: ['una@example.test', 'stay@example.test'] };
    const first = await createAndSend(a, { audience: list });
    await waitForStatus(a, first, ['finished']);
    const una = sink.messages.findLast((m) => m.to === 'una@example.test')!;
    const url = new URL(/<([^>]+)>/.exec(header(una, 'list-unsubscribe')[0])![1]);
    const path = url.pathname + url.search;

    const page = await h.app.inject({ method: 'GET', url: path });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<form method="post"/);
    let supp = await api(a, 'GET', '/api/saas/email/suppressions');
    assert.equal(supp.body.items.some((s: { email: string }) => s.email === 'una@example.test'), false, 'GET must not unsubscribe');

    const post = await h.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    assert.equal(post.statusCode, 200, post.body);
    assert.equal(post.json().unsubscribed, true);
    const again = await h.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().alreadySuppressed, true);
    supp = await api(a, 'GET', '/api/saas/email/suppressions');
    assert.equal(supp.body.items.find((s: { email: string }) => s.email === 'una@example.test').reason, 'unsubscribed');

    const forged = await h.app.inject({ method: 'POST', url: path.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(forged.statusCode, 401);

    const count = sink.messages.filter((m) => m.to === 'una@example.test').length;
    const second = await createAndSend(a, { audience: list });
    const done = await waitForStatus(a, second, ['finished']);
    assert.equal(done.counts.sent, 1);
    assert.equal(done.counts.unsubscribed, 1);
    assert.equal(sink.messages.filter((m) => m.to === 'una@example.test').length, count, 'unsubscribed address mailed again');
    const test = await api(a, 'POST', `/api/saas/email/campaigns/${second}/test`, { to: ['una@example.test'] });
    assert.equal(test.body.results[0].status, 'suppressed');
  });

  test('open pixel and signed click redirect (no open redirect)', async () => {
    const id = await createAndSend(a, { audience: { type: 'list', emails: ['clicker@example.test'] }, html: '<a href="https://clinic.example/book">Book</a>' });
    await waitForStatus(a, id, ['finished']);
    const mail = sink.messages.findLast((m) => m.to === 'clicker@example.test')!;
    const click = new URL(/href="([^"]*\/click\?t=[^"]+)"/.exec(mail.html)![1].replace(/&amp;/g, '&'));
    const open = new URL(/src="([^"]*\/open\?t=[^"]+)"/.exec(mail.html)![1].replace(/&amp;/g, '&'));
    const pixel = await h.app.inject({ method: 'GET', url: open.pathname + open.search });
    assert.equal(pixel.statusCode, 200);
    assert.equal(pixel.headers['content-type'], 'image/gif');
    const redirect = await h.app.inject({ method: 'GET', url: click.pathname + click.search });
    assert.equal(redirect.statusCode, 302);
    assert.equal(redirect.headers.location, 'https://clinic.example/book');
    const [body, sig] = click.searchParams.get('t')!.split('.');
    const evil = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), u: 'https://evil.example' })).toString('base64url');
    const tampered = await h.app.inject({ method: 'GET', url: `/api/saas/email/click?t=${evil}.${sig}` });
    assert.equal(tampered.statusCode, 404);
    const rows = await api(a, 'GET', `/api/saas/email/campaigns/${id}/recipients`);
    assert.equal(rows.body.items[0].state, 'clicked');
    assert.ok(rows.body.items[0].openedAt);
    const progress = await api(a, 'GET', `/api/saas/email/campaigns/${id}`);
    assert.equal(progress.body.counts.opened, 1);
    assert.equal(progress.body.counts.clicked, 1);
  });

  test('4xx is retried later, 5.1.1 bounces and suppresses, 5.7.1 fails without suppressing', async () => {
    let greylisted = 0;
    sink.onRcpt = (address) => {
      if (address === 'grey@example.test' && greylisted++ === 0) return { code: 451, message: '4.7.1 Greylisted, try again later' };
      if (address === 'ghost@example.test') return { code: 550, message: '5.1.1 No such user' };
      return undefined;
    };
    sink.onData = (address) => (address === 'spammy@example.test' ? { code: 554, message: '5.7.1 Message rejected as spam' } : undefined);
    try {
      const id = await createAndSend(a, { audience: { type: 'list', emails: ['grey@example.test', 'ghost@example.test', 'spammy@example.test', 'fine@example.test'] } });
      const done = await waitForStatus(a, id, ['finished']);
      assert.equal(done.counts.sent, 2);
      assert.equal(done.counts.bounced, 1);
      assert.equal(done.counts.failed, 1);
      const rows = (await api(a, 'GET', `/api/saas/email/campaigns/${id}/recipients`)).body.items as Array<{ email: string; status: string; attempts: number; lastError: string; lastCode: string }>;
      const by = Object.fromEntries(rows.map((r) => [r.email, r]));
      assert.equal(by['grey@example.test'].status, 'sent');
      assert.equal(by['grey@example.test'].attempts, 2);
      assert.equal(by['ghost@example.test'].status, 'bounced');
      assert.match(by['ghost@example.test'].lastError, /5\.1\.1/);
      assert.equal(by['spammy@example.test'].status, 'failed');
      assert.match(by['spammy@example.test'].lastError, /spam/);
      const supp = (await api(a, 'GET', '/api/saas/email/suppressions')).body.items as Array<{ email: string; reason: string }>;
      assert.equal(supp.find((s) => s.email === 'ghost@example.test')?.reason, 'hard_bounce');
      assert.equal(supp.some((s) => s.email === 'spammy@example.test'), false);
    } finally {
      sink.onRcpt = undefined;
      sink.onData = undefined;
    }
  });

  test('an authentication failure pauses the campaign; resume finishes it', async () => {
    sink.auth = { user: 'mailer', pass: 'rotated' };
    await h.ctx.mailer.evict(a.id);
    let id: string;
    try {
      id = await createAndSend(a, { audience: { type: 'list', emails: ['p1@example.test', 'p2@example.test'] } });
      await waitForStatus(a, id, ['paused']);
      let paused = await api(a, 'GET', `/api/saas/email/campaigns/${id}`).then((r) => r.body);
      while (paused.counts.sending > 0) {
        await new Promise((r) => setTimeout(r, 50));
        paused = await api(a, 'GET', `/api/saas/email/campaigns/${id}`).then((r) => r.body);
      }
      assert.match(paused.pauseReason, /EAUTH|535/);
      assert.equal(paused.counts.queued, 2, JSON.stringify(paused.counts));
      assert.equal(paused.counts.sent, 0);
    } finally {
      sink.auth = { user: 'mailer', pass: 'right-password' };
    }
    const resumed = await api(a, 'POST', `/api/saas/email/campaigns/${id}/resume`);
    assert.equal(resumed.status, 200);
    const done = await waitForStatus(a, id, ['finished']);
    assert.equal(done.counts.sent, 2);
  });

  test('throttle: sends are paced at the per-campaign rate', async () => {
    const rate = 10;
    const emails = Array.from({ length: 30 }, (_, i) => `pace${i}@example.test`);
    const id = await createAndSend(a, { audience: { type: 'list', emails }, ratePerSecond: rate });
    await waitForStatus(a, id, ['finished']);
    const times = sink.messages.filter((m) => m.to.startsWith('pace')).map((m) => m.receivedAt).sort((x, y) => x - y);
    assert.equal(times.length, 30);
    // Slots are 100 ms apart and handed out at most one second ahead, so 30 mails take at least ~2 s.
    // The span is not used as a rate: the first mails on each new pooled connection wait for its TLS
    // handshake and then arrive bunched (the pacer's exact schedule is asserted in the next test).
    assert.ok(times.at(-1)! - times[0] >= 1000 * ((times.length - 1 - rate) / rate), 'the 30 mails were spread over about two seconds');
    // Whatever the machine does, no one-second window can hold more than one second of paced slots plus
    // the slots already handed out (at most one second ahead) when the process was held up: 2 × rate, plus
    // a few for the handshake bunching. Unthrottled, all 30 would arrive within a fraction of a second.
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i] && t < times[i] + 1000).length;
      assert.ok(inWindow <= 2 * rate + 5, `${inWindow} messages within one second`);
    }
  });

  test('rate limiter schedule: slots exactly 1/rate apart, bounded lookahead, shared cursor, daily cap', async () => {
    const db = await tenantDbById(h.ctx, b.id);
    const t0 = Date.now() + 10_000;
    const limits = { perSecond: 20, perDay: 30 };
    const take = (now: number) => withTransaction(db, async (tx) => {
      const plan = await planSlots(tx, 100, limits, 1000, now);
      return { plan, slots: await commitSlots(tx, plan, plan.count) };
    });
    const first = await take(t0);
    assert.equal(first.slots.length, 21);
    assert.deepEqual(first.slots.map((t) => t - t0), Array.from({ length: 21 }, (_, i) => i * 50));
    const early = await take(t0);
    assert.equal(early.plan.count, 0);
    assert.equal(early.plan.waitReason, 'pace');
    assert.equal(early.plan.waitUntil!.getTime(), t0 + 50);
    const next = await take(t0 + 1050);
    assert.deepEqual(next.slots.map((t) => t - t0), Array.from({ length: 9 }, (_, i) => 1050 + i * 50), 'continues the cursor, capped by the daily limit');
    const capped = await take(t0 + 3000);
    assert.equal(capped.plan.waitReason, 'daily_cap');
  });

  test('a scheduled campaign starts at sendAt, not before', async () => {
    const created = await api(a, 'POST', '/api/saas/email/campaigns', { name: 'Timed', subject: 'Timed', text: 'T', audience: { type: 'list', emails: ['timed@example.test'] } });
    const sendAt = new Date(Date.now() + 1500);
    const res = await api(a, 'POST', `/api/saas/email/campaigns/${created.body.id}/schedule`, { sendAt: sendAt.toISOString() });
    assert.equal(res.body.status, 'scheduled');
    const done = await waitForStatus(a, created.body.id, ['finished']);
    assert.ok(Date.parse(done.startedAt) >= sendAt.getTime() - 5, `started ${done.startedAt} before ${sendAt.toISOString()}`);
    assert.equal(done.counts.sent, 1);
  });

  test('a provider quota reply pauses the client sending, not the recipient', async () => {
    const d = await h.createClient('Quota Clinic');
    await h.app.inject({ method: 'POST', url: `/api/clients/${d.code}/secrets`, headers: h.adminHeaders, payload: { smtpHost: '127.0.0.1', smtpPort: String(sink.port), smtpUser: 'mailer', smtpPass: 'right-password', smtpFrom: 'd@clinic-d.test' } });
    sink.onRcpt = (address) => (address === 'quota@example.test' ? { code: 550, message: '5.4.5 Daily user sending limit exceeded' } : undefined);
    try {
      const id = await createAndSend(d, { audience: { type: 'list', emails: ['quota@example.test'] } });
      let shown = (await api(d, 'GET', `/api/saas/email/campaigns/${id}`)).body;
      const deadline = Date.now() + 30_000;
      while (!shown.clientSendingPausedUntil || shown.counts.sending > 0) {
        assert.ok(Date.now() < deadline, JSON.stringify(shown));
        await new Promise((r) => setTimeout(r, 50));
        shown = (await api(d, 'GET', `/api/saas/email/campaigns/${id}`)).body;
      }
      assert.equal(shown.status, 'sending');
      assert.match(shown.clientSendingPauseReason, /5\.4\.5/);
      assert.equal(shown.counts.queued, 1, 'the recipient is kept for later, not bounced');
      assert.equal(shown.counts.bounced, 0);
      const supp = (await api(d, 'GET', '/api/saas/email/suppressions')).body.items;
      assert.equal(supp.length, 0);
    } finally {
      sink.onRcpt = undefined;
    }
  });

  test('schedule, pause, cancel and the state rules', async () => {
    const created = await api(a, 'POST', '/api/saas/email/campaigns', { name: 'Later', subject: 'S', text: 'T', audience: { type: 'list', emails: ['later@example.test'] } });
    const id = created.body.id;
    const sendAt = new Date(Date.now() + 3600_000).toISOString();
    const scheduled = await api(a, 'POST', `/api/saas/email/campaigns/${id}/schedule`, { sendAt });
    assert.equal(scheduled.body.status, 'scheduled');
    assert.equal(scheduled.body.sendAt, sendAt);
    const edited = await api(a, 'PATCH', `/api/saas/email/campaigns/${id}`, { subject: 'New {{firstName|x}}' });
    assert.equal(edited.body.subject, 'New {{firstName|x}}');
    const badVar = await api(a, 'PATCH', `/api/saas/email/campaigns/${id}`, { subject: 'Hi {{nope}}' });
    assert.equal(badVar.status, 422);
    assert.equal(badVar.body.error.code, 'TEMPLATE_VARIABLE_UNKNOWN');
    assert.equal((await api(a, 'POST', `/api/saas/email/campaigns/${id}/pause`)).body.status, 'paused');
    assert.equal((await api(a, 'POST', `/api/saas/email/campaigns/${id}/cancel`)).body.status, 'cancelled');
    const conflict = await api(a, 'POST', `/api/saas/email/campaigns/${id}/resume`);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'CAMPAIGN_STATE_CONFLICT');
    const invalid = await api(a, 'POST', '/api/saas/email/campaigns', { name: 'x', subject: 's', audience: { type: 'list' } });
    assert.equal(invalid.status, 400);
  });

  test('test send goes to the given address with [TEST] and touches no recipients', async () => {
    const created = await api(a, 'POST', '/api/saas/email/campaigns', { name: 'T', subject: 'Promo for {{firstName|you}}', html: '<p>x</p>', audience: { type: 'list', emails: ['ann@example.test'] } });
    const res = await api(a, 'POST', `/api/saas/email/campaigns/${created.body.id}/test`, { to: ['owner@clinic-a.test'] });
    assert.equal(res.status, 200);
    assert.equal(res.body.results[0].status, 'sent');
    const mail = sink.messages.findLast((m) => m.to === 'owner@clinic-a.test')!;
    assert.equal(mail.subject, '[TEST] Promo for Ann');
    const shown = await api(a, 'GET', `/api/saas/email/campaigns/${created.body.id}`);
    assert.equal(shown.body.counts.total, 0);
    assert.equal(shown.body.status, 'draft');
  });

  test('cross-tenant: another client cannot see or drive a campaign', async () => {
    const created = await api(a, 'POST', '/api/saas/email/campaigns', { name: 'Private', subject: 's', text: 't', audience: { type: 'list', emails: ['x@example.test'] } });
    const id = created.body.id;
    for (const [method, url] of [['GET', ''], ['GET', '/preview'], ['GET', '/recipients'], ['POST', '/send'], ['POST', '/pause'], ['POST', '/cancel']] as const) {
      const res = await api(b, method, `/api/saas/email/campaigns/${id}${url}`);
      assert.equal(res.status, 404, `${method} ${url}`);
    }
    assert.equal((await api(b, 'PATCH', `/api/saas/email/campaigns/${id}`, { name: 'hijack' })).status, 404);
    const listB = await api(b, 'GET', '/api/saas/email/campaigns');
    assert.equal(listB.body.items.length, 0);
    assert.equal((await api(a, 'GET', `/api/saas/email/campaigns/${id}`)).body.name, 'Private');
  });
});

describe('sandbox mail catcher and send_email action', () => {
  test('without SMTP settings mail is caught and listed newest first, per client', async () => {
    const id = await createAndSend(sandboxClient, { audience: { type: 'list', emails: ['s1@example.test', 's2@example.test'] } });
    const done = await waitForStatus(sandboxClient, id, ['finished']);
    assert.equal(done.counts.sent, 2);
    const mail = await api(sandboxClient, 'GET', '/api/sandbox/mail');
    assert.equal(mail.status, 200);
    assert.equal(mail.body.items.length, 2);
    assert.ok(Number(mail.body.items[0].id) > Number(mail.body.items[1].id));
    assert.equal(mail.body.items[0].headers['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click');
    const other = await api(b, 'GET', '/api/sandbox/mail');
    assert.equal(other.body.items.length, 0);
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/sandbox/mail' })).statusCode, 401);
  });

  test('send_email sends to the contact of the trigger phone once per idempotency key and honours suppression', async () => {
    await seed(dbA, [{ name: 'Phone Person', email: 'phone@example.test', phone: '919800000001' }]);
    const input = { ctx: h.ctx, clientId: a.id, db: dbA, trigger: 'appointment_confirmed', phone: '919800000001', variables: ['10:30'], vars: { meetUrl: 'https://meet.example/abc' }, runId: 'run-1', idempotencyKey: 'wf-1:action-0' };
    const config = { subject: 'See you, {{firstName|there}}', html: '<p>At {{custom.x|soon}} {{var1}}</p>' };
    const before = sink.accepted;
    const first = await sendEmailAction.execute(input, config);
    assert.equal((first.output as { status: string }).status, 'sent');
    const again = await sendEmailAction.execute(input, config);
    assert.equal((again.output as { status: string }).status, 'duplicate');
    assert.equal(sink.accepted - before, 1);
    const mail = sink.messages.findLast((m) => m.to === 'phone@example.test')!;
    assert.equal(mail.subject, 'See you, Phone');
    assert.equal(header(mail, 'list-unsubscribe-post').length, 1);
    await api(a, 'POST', '/api/saas/email/suppressions', { email: 'Blocked@Example.test' });
    const blocked = await sendEmailAction.execute({ ...input, phone: undefined, idempotencyKey: 'wf-2' }, { ...config, to: 'blocked@example.test' });
    assert.equal((blocked.output as { status: string }).status, 'suppressed');
  });
});
