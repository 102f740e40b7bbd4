import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { recordDomainEvent } from '../platform/events.ts';
import { verifyWebhook } from '../platform/http/standard-webhooks.ts';
import { tenantDbById } from '../tenants/index.ts';
import { dispatchDomainEvents, MAX_EVENT_ATTEMPTS } from './dispatch-events.job.ts';
import { sweepDomainEvents } from './sweep-events.job.ts';
import { startReceiver, waitFor, type Receiver } from './test-support/receiver.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;
let rx: Receiver;
const SECRET_A = `whsec_${randomBytes(32).toString('base64')}`;
const SECRET_B = '0123456789abcdef0123456789abcdef'; // the runbook's "32-char-hex-string" form: UTF-8 bytes

before(async () => {
  h = await startTestApp({ env: { SSRF_ALLOW_HOSTS: '127.0.0.1', JOB_SUPERVISE_SECONDS: '1', WORKFLOW_LATE_GRACE_SECONDS: '5' } });
  a = await h.createClient('Workflow Clinic A');
  b = await h.createClient('Workflow Clinic B');
  for (const [client, secret] of [[a, SECRET_A], [b, SECRET_B]] as const) {
    const r = await h.app.inject({ method: 'POST', url: `/api/clients/${client.code}/secrets`, headers: h.adminHeaders, payload: { automationWebhookSecret: secret } });
    assert.equal(r.statusCode, 200, r.body);
  }
  rx = await startReceiver();
});
after(async () => {
  await rx?.close();
  await h?.close();
});

async function api(client: TestClient, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  const r = await h.app.inject({ method, url, headers: client.headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.body ? r.json() : undefined };
}

async function job(client: TestClient, id: string) {
  const r = await api(client, 'GET', `/api/saas/workflows/jobs/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function automation(client: TestClient, trigger: string, actions: unknown[], triggerConfig: object = {}) {
  const r = await api(client, 'POST', '/api/crm/automations', { name: `auto ${trigger} ${randomBytes(3).toString('hex')}`, trigger, triggerConfig, actions });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

describe('definitions', () => {
  it('creates the runbook step 7 automation verbatim, then lists, shows, updates, toggles and deletes it', async () => {
    const created = await api(a, 'POST', '/api/crm/automations', {
      name: 'Appointment Confirmed WA',
      trigger: 'appointment_confirmed',
      triggerConfig: {},
      actions: [{ type: 'send_whatsapp', delayMinutes: 0, config: { templateName: 'appointment_confirmed', language: 'en_US' } }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.isActive, true);
    assert.deepEqual(created.body.actions, [{ type: 'send_whatsapp', delayMinutes: 0, config: { templateName: 'appointment_confirmed', language: 'en_US' } }]);
    const id = created.body.id;
    assert.equal((await api(a, 'GET', `/api/crm/automations/${id}`)).body.name, 'Appointment Confirmed WA');
    const list = await api(a, 'GET', '/api/crm/automations?limit=100');
    assert.ok(list.body.items.some((x: { id: string }) => x.id === id));
    const patched = await api(a, 'PATCH', `/api/crm/automations/${id}`, { name: 'Renamed' });
    assert.equal(patched.body.name, 'Renamed');
    assert.equal((await api(a, 'POST', `/api/crm/automations/${id}/deactivate`)).body.isActive, false);
    assert.equal((await api(a, 'POST', `/api/crm/automations/${id}/activate`)).body.isActive, true);
    // Another client cannot see, change or delete it.
    assert.equal((await api(b, 'GET', `/api/crm/automations/${id}`)).status, 404);
    assert.equal((await api(b, 'PATCH', `/api/crm/automations/${id}`, { name: 'x' })).status, 404);
    assert.equal((await api(b, 'DELETE', `/api/crm/automations/${id}`)).status, 404);
    assert.equal((await api(a, 'DELETE', `/api/crm/automations/${id}`)).status, 200);
    assert.equal((await api(a, 'GET', `/api/crm/automations/${id}`)).status, 404);
  });

  it('creates communication workflows and refuses bad definitions with a clear 400', async () => {
    const created = await api(a, 'POST', '/api/saas/workflows', { name: 'Appointment Confirmation', trigger: 'product_purchased', channel: 'whatsapp', templateName: 'appointment_confirmed_v2', delayMinutes: 0, isActive: false });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.templateName, 'appointment_confirmed_v2');
    assert.equal(created.body.channel, 'whatsapp');
    const shown = await api(a, 'GET', `/api/saas/workflows/${created.body.id}`);
    assert.equal(shown.body.isActive, false);
    assert.equal((await api(b, 'GET', `/api/saas/workflows/${created.body.id}`)).status, 404);
    // An automation id is not a communication workflow id.
    const autoId = await automation(a, 'service_enrolled', [{ type: 'update_lead', delayMinutes: 0, config: { stage: 'won' } }]);
    assert.equal((await api(a, 'GET', `/api/saas/workflows/${autoId}`)).status, 404);
    await api(a, 'DELETE', `/api/crm/automations/${autoId}`);

    const bad = [
      ['/api/saas/workflows', { name: 'x', trigger: 'nope', templateName: 't' }],
      ['/api/saas/workflows', { name: 'x', trigger: 'lead_captured', channel: 'sms', templateName: 't' }],
      ['/api/crm/automations', { name: 'x', trigger: 'lead_captured', actions: [{ type: 'teleport', config: {} }] }],
      ['/api/crm/automations', { name: 'x', trigger: 'lead_captured', actions: [{ type: 'send_whatsapp', config: {} }] }],
      ['/api/crm/automations', { name: 'x', trigger: 'lead_captured', actions: [{ type: 'webhook', config: { url: 'ftp://x' } }] }],
      ['/api/crm/automations', { name: 'x', trigger: 'lead_captured', actions: [] }],
    ] as const;
    for (const [url, payload] of bad) {
      const r = await api(a, 'POST', url, payload);
      assert.equal(r.status, 400, `${url} ${JSON.stringify(payload)} → ${r.status} ${JSON.stringify(r.body)}`);
      assert.ok(r.body.error.message.length > 0);
    }
    assert.equal((await api(a, 'GET', '/api/crm/automations/not-a-uuid')).status, 400);
  });
});

describe('trigger', () => {
  it('validates every field', async () => {
    const good = { trigger: 'product_purchased', phone: '918143963821', variables: ['x'] };
    const cases: Array<[string, object]> = [
      ['unknown trigger', { ...good, trigger: 'birthday' }],
      ['phone with +', { ...good, phone: '+918143963821' }],
      ['phone too short', { ...good, phone: '1234567' }],
      ['phone too long', { ...good, phone: '1234567890123456' }],
      ['phone with letters', { ...good, phone: '91814396382a' }],
      ['variables not strings', { ...good, variables: [1, 2] }],
      ['variables not an array', { ...good, variables: 'x' }],
      ['baseTime not ISO', { ...good, baseTime: 'next tuesday' }],
      ['delayMinutes fractional', { ...good, delayMinutes: 1.5 }],
      ['delayMinutes a string', { ...good, delayMinutes: 'soon' }],
      ['callbackUrl not http', { ...good, callbackUrl: 'file:///etc/passwd' }],
      ['callbackUrl private', { ...good, callbackUrl: 'http://10.0.0.5/cb' }],
      ['callbackUrl metadata', { ...good, callbackUrl: 'http://169.254.169.254/latest' }],
      ['callbackUrl userinfo', { ...good, callbackUrl: 'https://user:pass@example.com/cb' }],
      ['callbackMetadata array', { ...good, callbackMetadata: ['a'] }],
      ['unknown field', { ...good, extra: 1 }],
      ['missing phone', { trigger: 'product_purchased' }],
    ];
    for (const [name, payload] of cases) {
      const r = await api(a, 'POST', '/api/saas/workflows/trigger', payload);
      assert.equal(r.status, 400, `${name}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'VALIDATION_FAILED', name);
    }
  });

  it('answers 200 with an empty list and a message when no active workflow listens', async () => {
    const r = await api(b, 'POST', '/api/saas/workflows/trigger', { trigger: 'service_enrolled', phone: '918143963821', variables: [] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.jobs, []);
    assert.match(r.body.message, /No active workflow/);
  });

  it('runs an instant automation, calls back signed, and a repeated trigger schedules nothing new', async () => {
    const path = `/instant-${randomBytes(4).toString('hex')}`;
    await automation(a, 'product_purchased', [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${path}/hook` } }]);
    const payload = {
      trigger: 'product_purchased', phone: '918143963821', variables: ['Dhanesh', 'Order 42'],
      callbackUrl: `${rx.url}${path}/callback`, callbackMetadata: { moduleId: 'order_42', moduleType: 'Order', reminderKey: 'confirmed' },
    };
    const r = await api(a, 'POST', '/api/saas/workflows/trigger', payload);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.jobs.length, 1);
    const id = r.body.jobs[0].id;
    assert.ok(Math.abs(Date.parse(r.body.jobs[0].runAt) - Date.now()) < 5000);

    const done = await waitFor(async () => {
      const j = await job(a, id);
      return j.status === 'completed' && j.callback?.status === 'delivered' ? j : undefined;
    }, { what: 'completed job with delivered callback' });
    assert.equal(done.attempts, 1);
    assert.equal(done.output.status, 200);
    assert.equal(done.attemptHistory.length, 1);
    assert.equal(done.attemptHistory[0].outcome, 'succeeded');

    const hook = rx.requests.find((q) => q.path === `${path}/hook`)!;
    assert.equal(hook.method, 'POST');
    assert.ok(verifyWebhook(SECRET_A, hook.headers, hook.body), 'webhook action signature verifies');
    const cb = rx.requests.find((q) => q.path === `${path}/callback`)!;
    assert.equal(cb.method, 'PUT');
    assert.ok(verifyWebhook(SECRET_A, cb.headers, cb.body), 'callback signature verifies with the whsec_ secret');
    assert.ok(!verifyWebhook(SECRET_B, cb.headers, cb.body), 'and not with another secret');
    assert.match(String(cb.headers['webhook-id']), /^msg_[0-9a-f]+$/);
    const body = JSON.parse(cb.body);
    assert.equal(body.status, 'completed');
    assert.deepEqual(body.metadata, payload.callbackMetadata);
    assert.equal(body.jobId, id);
    assert.equal(body.trigger, 'product_purchased');
    assert.equal(body.result.status, 200);

    // Same event again: same job, nothing new sent.
    const again = await api(a, 'POST', '/api/saas/workflows/trigger', payload);
    assert.equal(again.body.jobs[0].id, id);
    assert.equal(again.body.jobs[0].status, 'completed');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(rx.requests.filter((q) => q.path.startsWith(path)).length, 2);
    // Secrets never in logs.
    assert.ok(!h.logs.some((l) => l.includes(SECRET_A)));
    // Another client cannot read the job.
    assert.equal((await api(b, 'GET', `/api/saas/workflows/jobs/${id}`)).status, 404);
  });

  it('signs with the UTF-8 bytes of a plain secret (runbook form)', async () => {
    const path = `/plain-${randomBytes(4).toString('hex')}`;
    await automation(b, 'product_purchased', [{ type: 'update_lead', delayMinutes: 0, config: { stage: 'won' } }]);
    const r = await api(b, 'POST', '/api/saas/workflows/trigger', { trigger: 'product_purchased', phone: '919000000001', variables: [], callbackUrl: `${rx.url}${path}`, callbackMetadata: { moduleId: 'm1' } });
    assert.equal(r.status, 202);
    // No lead for that phone: the action fails for good at once (not retried), and the callback says so.
    const cb = await waitFor(() => rx.requests.find((q) => q.path === path), { what: 'callback' });
    assert.ok(verifyWebhook(SECRET_B, cb.headers, cb.body));
    const body = JSON.parse(cb.body);
    assert.equal(body.status, 'failed');
    assert.match(body.result.error, /No lead/);
    const j = await job(b, r.body.jobs[0].id);
    assert.equal(j.status, 'failed');
    assert.equal(j.attempts, 1);
  });

  it('runs a delayed job at its time, not before', async () => {
    const path = `/delayed-${randomBytes(4).toString('hex')}`;
    await automation(a, 'service_enrolled', [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${path}` } }], { course: 'yoga' });
    const baseTime = new Date(Date.now() + 2500).toISOString();
    const r = await api(a, 'POST', '/api/saas/workflows/trigger', { trigger: 'service_enrolled', phone: '918143963821', variables: [], baseTime, callbackMetadata: { moduleId: 'enr_1', course: 'yoga' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.jobs[0].runAt, baseTime);
    assert.equal((await job(a, r.body.jobs[0].id)).status, 'pending');
    const hit = await waitFor(() => rx.requests.find((q) => q.path === path), { what: 'delayed webhook' });
    assert.ok(hit.at >= Date.parse(baseTime), `ran ${Date.parse(baseTime) - hit.at} ms early`);
    assert.ok(hit.at - Date.parse(baseTime) < 3000, `ran ${hit.at - Date.parse(baseTime)} ms late`);
    // triggerConfig filters: another course matches nothing.
    const other = await api(a, 'POST', '/api/saas/workflows/trigger', { trigger: 'service_enrolled', phone: '918143963821', variables: [], callbackMetadata: { moduleId: 'enr_2', course: 'pilates' } });
    assert.equal(other.status, 200);
  });

  it('records a reminder whose time has passed as skipped, and reschedules and cancels by moduleId', async () => {
    const path = `/reminder-${randomBytes(4).toString('hex')}`;
    const wf = await api(a, 'POST', '/api/saas/workflows', { name: 'Reminder', trigger: 'appointment_reminder', channel: 'whatsapp', templateName: 'appointment_reminder', delayMinutes: 0 });
    assert.equal(wf.status, 201);
    await automation(a, 'appointment_reminder', [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${path}` } }]);
    const past = await api(a, 'POST', '/api/saas/workflows/trigger', {
      trigger: 'appointment_reminder', phone: '918143963821', variables: [], baseTime: new Date(Date.now() + 30 * 60_000).toISOString(), delayMinutes: -60,
      callbackMetadata: { moduleId: 'appt_past', moduleType: 'Appointment', reminderKey: '1h' },
    });
    assert.equal(past.status, 202);
    assert.deepEqual(past.body.jobs.map((j: { status: string }) => j.status), ['skipped', 'skipped']);

    const appt = new Date(Date.now() + 3 * 3600_000);
    const moduleMeta = { moduleId: 'appt_1', moduleType: 'Appointment' };
    const reminder = await api(a, 'POST', '/api/saas/workflows/trigger', {
      trigger: 'appointment_reminder', phone: '918143963821', variables: ['Dhanesh'], baseTime: appt.toISOString(), delayMinutes: -60,
      callbackMetadata: { ...moduleMeta, reminderKey: '1h' },
    });
    assert.equal(reminder.status, 202);
    assert.equal(reminder.body.jobs.length, 2);
    for (const j of reminder.body.jobs) assert.equal(j.runAt, new Date(appt.getTime() - 3600_000).toISOString());

    const moved = new Date(appt.getTime() + 24 * 3600_000);
    const re = await api(a, 'POST', '/api/saas/workflows/trigger', { trigger: 'appointment_rescheduled', phone: '918143963821', variables: [], baseTime: moved.toISOString(), callbackMetadata: moduleMeta });
    assert.equal(re.status, 200);
    assert.equal(re.body.moved, 2);
    for (const j of reminder.body.jobs) {
      const shown = await job(a, j.id);
      assert.equal(shown.status, 'pending');
      assert.equal(shown.runAt, new Date(moved.getTime() - 3600_000).toISOString());
    }
    // Sending the original reminder trigger again changes nothing.
    const dup = await api(a, 'POST', '/api/saas/workflows/trigger', {
      trigger: 'appointment_reminder', phone: '918143963821', variables: ['Dhanesh'], baseTime: appt.toISOString(), delayMinutes: -60,
      callbackMetadata: { ...moduleMeta, reminderKey: '1h' },
    });
    assert.deepEqual(dup.body.jobs.map((j: { id: string }) => j.id).sort(), reminder.body.jobs.map((j: { id: string }) => j.id).sort());

    const cancel = await api(a, 'POST', '/api/saas/workflows/trigger', { trigger: 'appointment_cancelled', phone: '918143963821', variables: [], callbackMetadata: moduleMeta });
    assert.equal(cancel.status, 200);
    assert.equal(cancel.body.cancelled, 2);
    for (const j of reminder.body.jobs) assert.equal((await job(a, j.id)).status, 'cancelled');
    const { rows } = await h.ctx.controlDb.query(`SELECT state FROM pgboss.job WHERE name = 'workflows.run-action' AND state IN ('created', 'retry')`);
    assert.equal(rows.length, 0, 'no queued run-action job left');
    assert.equal(rx.requests.filter((q) => q.path === path).length, 0);
  });

  it('retries with exponential backoff and fails for good after the last attempt', async () => {
    const path = `/flaky-${randomBytes(4).toString('hex')}`;
    const prev = rx.respond;
    rx.respond = (req, i) => (req.path === path ? { status: 503 } : prev(req, i));
    await automation(a, 'lead_captured', [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${path}` } }]);
    const cbPath = `${path}-cb`;
    const r = await api(a, 'POST', '/api/saas/workflows/trigger', { trigger: 'lead_captured', phone: '918143963822', variables: [], callbackUrl: `${rx.url}${cbPath}`, callbackMetadata: { moduleId: 'lead_x' } });
    assert.equal(r.status, 202);
    const failed = await waitFor(async () => {
      const j = await job(a, r.body.jobs[0].id);
      return j.status === 'failed' ? j : undefined;
    }, { timeoutMs: 30_000, what: 'failed job' });
    rx.respond = prev;
    assert.equal(failed.attempts, 3);
    assert.deepEqual(failed.attemptHistory.map((x: { outcome: string }) => x.outcome), ['failed', 'failed', 'failed']);
    assert.match(failed.lastError, /503/);
    const hits = rx.requests.filter((q) => q.path === path).map((q) => q.at);
    assert.equal(hits.length, 3);
    const gaps = [hits[1] - hits[0], hits[2] - hits[1]];
    // JOB_BACKOFF_SECONDS=1 in tests: retry n waits between 2ⁿ⁻¹ and 2ⁿ seconds (pg-boss jitter).
    assert.ok(gaps[0] >= 450, `first retry after ${gaps[0]} ms`);
    assert.ok(gaps[1] >= 950, `second retry after ${gaps[1]} ms`);
    const cb = await waitFor(() => rx.requests.find((q) => q.path === cbPath), { what: 'failure callback' });
    assert.equal(JSON.parse(cb.body).status, 'failed');
  });

  it('calls back skipped and cancelled jobs too, each with its reason, and never runs them', async () => {
    const c = await h.createClient('Workflow Clinic C');
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    assert.equal((await h.app.inject({ method: 'POST', url: `/api/clients/${c.code}/secrets`, headers: h.adminHeaders, payload: { automationWebhookSecret: secret } })).statusCode, 200);
    const tag = randomBytes(4).toString('hex');
    const p = (name: string) => `/c-${tag}-${name}`;
    await automation(c, 'appointment_reminder', [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${p('reminder')}` } }]);
    await automation(c, 'service_enrolled', [
      { type: 'update_lead', delayMinutes: 0, config: { stage: 'won' } }, // no lead for the phone: fails for good at once
      { type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${p('never')}` } },
    ]);
    const callbackOf = async (path: string, n = 1) => {
      await waitFor(() => rx.requests.filter((q) => q.path === path).length >= n, { what: `${n} callback(s) at ${path}` });
      return rx.requests.filter((q) => q.path === path).map((q) => {
        assert.equal(q.method, 'PUT');
        assert.ok(verifyWebhook(secret, q.headers, q.body), 'signed');
        return { body: JSON.parse(q.body), id: String(q.headers['webhook-id']) };
      });
    };

    // A reminder whose time has passed: skipped, and the client is told so.
    const lateMeta = { moduleId: `late_${tag}`, moduleType: 'Appointment', reminderKey: '1h' };
    const late = await api(c, 'POST', '/api/saas/workflows/trigger', {
      trigger: 'appointment_reminder', phone: '918143963830', variables: [], baseTime: new Date(Date.now() + 30 * 60_000).toISOString(), delayMinutes: -60,
      callbackUrl: `${rx.url}${p('cb-late')}`, callbackMetadata: lateMeta,
    });
    assert.equal(late.status, 202, JSON.stringify(late.body));
    assert.equal(late.body.jobs[0].status, 'skipped');
    const [skipped] = await callbackOf(p('cb-late'));
    assert.equal(skipped.body.status, 'skipped');
    assert.equal(skipped.body.jobId, late.body.jobs[0].id);
    assert.equal(skipped.body.trigger, 'appointment_reminder');
    assert.deepEqual(skipped.body.metadata, lateMeta);
    assert.equal(skipped.body.result.reason, 'late');
    assert.match(skipped.body.result.message, /already passed/);
    await waitFor(async () => (await job(c, late.body.jobs[0].id)).callback?.status === 'delivered', { what: 'skipped callback recorded as delivered' });
    // The same trigger again: same job, no second callback.
    assert.equal((await api(c, 'POST', '/api/saas/workflows/trigger', {
      trigger: 'appointment_reminder', phone: '918143963830', variables: [], baseTime: new Date(Date.now() + 30 * 60_000).toISOString(), delayMinutes: -60,
      callbackUrl: `${rx.url}${p('cb-late')}`, callbackMetadata: lateMeta,
    })).body.jobs[0].id, late.body.jobs[0].id);

    // A pending reminder of a cancelled appointment: cancelled, and told so.
    const apptMeta = { moduleId: `appt_${tag}`, moduleType: 'Appointment' };
    const pending = await api(c, 'POST', '/api/saas/workflows/trigger', {
      trigger: 'appointment_reminder', phone: '918143963830', variables: [], baseTime: new Date(Date.now() + 3 * 3600_000).toISOString(), delayMinutes: -60,
      callbackUrl: `${rx.url}${p('cb-cancel')}`, callbackMetadata: { ...apptMeta, reminderKey: '1h' },
    });
    assert.equal(pending.body.jobs[0].status, 'pending');
    const cancel = await api(c, 'POST', '/api/saas/workflows/trigger', { trigger: 'appointment_cancelled', phone: '918143963830', variables: [], callbackMetadata: apptMeta });
    assert.equal(cancel.body.cancelled, 1);
    const [cancelled] = await callbackOf(p('cb-cancel'));
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal(cancelled.body.jobId, pending.body.jobs[0].id);
    assert.equal(cancelled.body.result.reason, 'appointment_cancelled');
    assert.equal(cancelled.body.metadata.reminderKey, '1h');

    // A step after a failed one: the failure and the cancellation are both reported.
    const run = await api(c, 'POST', '/api/saas/workflows/trigger', { trigger: 'service_enrolled', phone: '918143963831', variables: [], callbackUrl: `${rx.url}${p('cb-run')}`, callbackMetadata: { moduleId: `enr_${tag}` } });
    assert.equal(run.body.jobs.length, 2);
    const both = await callbackOf(p('cb-run'), 2);
    const byJob = new Map(both.map((x) => [x.body.jobId, x]));
    assert.equal(byJob.get(run.body.jobs[0].id)!.body.status, 'failed');
    assert.match(byJob.get(run.body.jobs[0].id)!.body.result.error, /No lead/);
    assert.equal(byJob.get(run.body.jobs[1].id)!.body.status, 'cancelled');
    assert.equal(byJob.get(run.body.jobs[1].id)!.body.result.reason, 'previous_step_failed');
    assert.notEqual(both[0].id, both[1].id, 'one webhook-id per event');
    assert.equal((await job(c, run.body.jobs[1].id)).status, 'cancelled');

    // None of the stopped jobs ran.
    assert.equal(rx.requests.filter((q) => q.path === p('reminder') || q.path === p('never')).length, 0);
  });

  it('lists jobs with filters and a cursor', async () => {
    const all = await api(a, 'GET', '/api/saas/workflows/jobs?limit=100');
    assert.equal(all.status, 200);
    assert.ok(all.body.items.length >= 5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await api(a, 'GET', `/api/saas/workflows/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((x) => x.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, all.body.items.map((x: { id: string }) => x.id));
    const cancelled = await api(a, 'GET', '/api/saas/workflows/jobs?status=cancelled');
    assert.ok(cancelled.body.items.length >= 2 && cancelled.body.items.every((x: { status: string }) => x.status === 'cancelled'));
    const byTrigger = await api(a, 'GET', '/api/saas/workflows/jobs?trigger=appointment_reminder');
    assert.ok(byTrigger.body.items.every((x: { trigger: string }) => x.trigger === 'appointment_reminder'));
    const future = await api(a, 'GET', `/api/saas/workflows/jobs?from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`);
    assert.ok(future.body.items.length >= 2 && future.body.items.every((x: { runAt: string }) => Date.parse(x.runAt) >= Date.now() + 3000_000));
    assert.equal((await api(a, 'GET', '/api/saas/workflows/jobs?status=bogus')).status, 400);
    assert.equal((await api(a, 'GET', '/api/saas/workflows/jobs?cursor=zzz')).status, 400);
    // Client B sees only its own.
    const bJobs = await api(b, 'GET', '/api/saas/workflows/jobs?limit=100');
    assert.ok(!bJobs.body.items.some((x: { id: string }) => all.body.items.some((y: { id: string }) => y.id === x.id)));
  });
});

describe('domain events', () => {
  async function seedLead(client: TestClient, phone: string) {
    const db = await tenantDbById(h.ctx, client.id);
    const { rows } = await db.query<{ id: string }>(
      `WITH c AS (INSERT INTO contacts (phone, name) VALUES ($1, 'Asha') RETURNING id)
       INSERT INTO leads (contact_id, source) SELECT id, 'whatsapp' FROM c RETURNING id`, [phone],
    );
    return { db, leadId: rows[0].id };
  }

  it('runs a lead_captured automation through the outbox dispatcher', async () => {
    await automation(b, 'lead_captured', [{ type: 'update_lead', delayMinutes: 0, config: { stage: 'contacted', tags: ['auto-welcomed'] } }]);
    const { db, leadId } = await seedLead(b, '919812345678');
    const eventId = await withTransaction(db, (tx) => recordDomainEvent(tx, 'lead_captured', { leadId, phone: '919812345678', source: 'whatsapp' }));
    h.ctx.domainEvents.recorded(b.id);
    const lead = await waitFor(async () => {
      const { rows } = await db.query<{ stage: string; tags: string[] }>('SELECT stage, tags FROM leads WHERE id = $1', [leadId]);
      return rows[0].stage === 'contacted' ? rows[0] : undefined;
    }, { what: 'lead moved by the automation' });
    assert.deepEqual(lead.tags, ['auto-welcomed']);
    await waitFor(async () => (await db.query('SELECT 1 FROM domain_events WHERE id = $1 AND dispatched_at IS NOT NULL', [eventId])).rows.length === 1, { what: 'event marked dispatched' });
    const jobs = await api(b, 'GET', '/api/saas/workflows/jobs?trigger=lead_captured');
    const mine = jobs.body.items.filter((j: { metadata: { eventId?: number } | null }) => j.metadata?.eventId === eventId);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].status, 'completed');
    // Re-dispatching the same event (at-least-once) schedules nothing new.
    await db.query('UPDATE domain_events SET dispatched_at = NULL WHERE id = $1', [eventId]);
    await dispatchDomainEvents(h.ctx, b.id);
    const again = await api(b, 'GET', '/api/saas/workflows/jobs?trigger=lead_captured');
    assert.equal(again.body.items.filter((j: { metadata: { eventId?: number } | null }) => j.metadata?.eventId === eventId).length, 1);
  });

  it('the sweep dispatches events whose notification was lost', async () => {
    const { db, leadId } = await seedLead(b, '919812345679');
    const eventId = await withTransaction(db, (tx) => recordDomainEvent(tx, 'lead_captured', { leadId, phone: '919812345679' }));
    // No notifier call: as if the process died right after commit.
    const swept = await sweepDomainEvents(h.ctx);
    assert.ok(swept.enqueued >= 1);
    await waitFor(async () => (await db.query('SELECT 1 FROM domain_events WHERE id = $1 AND dispatched_at IS NOT NULL', [eventId])).rows.length === 1, { what: 'swept event dispatched' });
  });

  it('keeps order, retries a failing subscriber and parks a poison event', async () => {
    const db = await tenantDbById(h.ctx, a.id);
    await db.query('UPDATE domain_events SET dispatched_at = now() WHERE dispatched_at IS NULL');
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await recordDomainEvent(db, 'test.ping', { n }));
    const seen: number[] = [];
    const flaky = [{ name: 'test', events: ['test.ping'], handler: async (_ctx: unknown, { event }: { event: { data: Record<string, unknown> } }) => {
      if (event.data.n === 2) throw new Error('boom');
      seen.push(event.data.n as number);
    } }];
    for (let i = 0; i < MAX_EVENT_ATTEMPTS - 1; i++) await assert.rejects(dispatchDomainEvents(h.ctx, a.id, flaky), /boom/);
    assert.deepEqual(seen, [1], 'event 3 waits behind the failing event 2');
    const result = await dispatchDomainEvents(h.ctx, a.id, flaky);
    assert.equal(result.dispatched, 2);
    assert.deepEqual(seen, [1, 3]);
    const { rows } = await db.query('SELECT id, dispatch_attempts, dispatch_error FROM domain_events WHERE id = $1', [ids[1]]);
    assert.equal(rows[0].dispatch_attempts, MAX_EVENT_ATTEMPTS - 1);
    assert.match(rows[0].dispatch_error, /boom/);
  });
});

describe('admin job routes', () => {
  async function admin(method: 'GET' | 'POST', url: string) {
    const r = await h.app.inject({ method, url, headers: h.adminHeaders });
    return { status: r.statusCode, body: r.json() };
  }
  async function queueJobOf(client: TestClient, id: string): Promise<string> {
    const db = await tenantDbById(h.ctx, client.id);
    return (await db.query('SELECT queue_job_id FROM workflow_jobs WHERE id = $1', [id])).rows[0].queue_job_id;
  }

  it('shows counts by queue and state, lists and shows jobs, and needs the admin key', async () => {
    const stats = await admin('GET', '/api/admin/jobs/stats');
    assert.equal(stats.status, 200);
    const runs = stats.body.queues.find((q: { name: string }) => q.name === 'workflows.run-action');
    assert.ok(runs.completed >= 1 && runs.failed >= 1, JSON.stringify(runs));
    assert.equal(typeof stats.body.stuck, 'number');
    const failed = await admin('GET', '/api/admin/jobs?queue=workflows.run-action&state=failed');
    assert.ok(failed.body.items.length >= 1);
    const shown = await admin('GET', `/api/admin/jobs/${failed.body.items[0].id}`);
    assert.equal(shown.body.state, 'failed');
    assert.deepEqual(Object.keys(shown.body.data).sort(), ['clientId', 'generation', 'jobId']);
    assert.equal((await admin('GET', '/api/admin/jobs/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await admin('GET', '/api/admin/jobs/stuck')).status, 200);
    const asTenant = await h.app.inject({ method: 'GET', url: '/api/admin/jobs/stats', headers: a.headers });
    assert.equal(asTenant.statusCode, 401);
  });

  it('retries a failed workflow job, cancels and kills pending ones, and keeps the job history in step', async () => {
    // A webhook that fails three times, then (after the operator fixes the receiver) a retry succeeds.
    const path = `/retry-${randomBytes(4).toString('hex')}`;
    let broken = true;
    const prev = rx.respond;
    rx.respond = (req, i) => (req.path === path ? { status: broken ? 500 : 200 } : prev(req, i));
    await automation(a, 'appointment_confirmed', [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${path}` } }]);
    const r = await api(a, 'POST', '/api/saas/workflows/trigger', { trigger: 'appointment_confirmed', phone: '918143963823', variables: [], idempotencyKey: 'retry-me', callbackUrl: `${rx.url}${path}-cb` });
    const id = r.body.jobs[0].id;
    await waitFor(async () => (await job(a, id)).status === 'failed', { timeoutMs: 30_000, what: 'failed job' });
    broken = false;
    const queueId = await queueJobOf(a, id);
    const retried = await admin('POST', `/api/admin/jobs/${queueId}/retry`);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    const done = await waitFor(async () => {
      const j = await job(a, id);
      return j.status === 'completed' ? j : undefined;
    }, { what: 'retried job completed' });
    assert.equal(done.attempts, 4);
    rx.respond = prev;
    // The client hears both outcomes: failed, then (after the operator's retry) completed, as two events.
    await waitFor(() => rx.requests.filter((q) => q.path === `${path}-cb`).length === 2, { what: 'failed then completed callbacks' });
    const callbacks = rx.requests.filter((q) => q.path === `${path}-cb`);
    assert.deepEqual(callbacks.map((q) => JSON.parse(q.body).status), ['failed', 'completed']);
    assert.notEqual(callbacks[0].headers['webhook-id'], callbacks[1].headers['webhook-id']);
    // The row is completed inside the handler; the queue marks its job completed just after.
    await waitFor(async () => (await admin('GET', `/api/admin/jobs/${queueId}`)).body.state === 'completed', { what: 'queue job completed' });
    assert.equal((await admin('POST', `/api/admin/jobs/${queueId}/cancel`)).status, 409);

    const later = new Date(Date.now() + 3600_000).toISOString();
    const p1 = await api(a, 'POST', '/api/saas/workflows/trigger', { trigger: 'appointment_confirmed', phone: '918143963824', variables: [], baseTime: later, idempotencyKey: 'cancel-me' });
    const p2 = await api(a, 'POST', '/api/saas/workflows/trigger', { trigger: 'appointment_confirmed', phone: '918143963825', variables: [], baseTime: later, idempotencyKey: 'kill-me' });
    const c = await admin('POST', `/api/admin/jobs/${await queueJobOf(a, p1.body.jobs[0].id)}/cancel`);
    assert.equal(c.body.state, 'cancelled');
    assert.equal((await job(a, p1.body.jobs[0].id)).status, 'cancelled');
    const k = await admin('POST', `/api/admin/jobs/${await queueJobOf(a, p2.body.jobs[0].id)}/kill`);
    assert.equal(k.status, 200);
    const killed = await job(a, p2.body.jobs[0].id);
    assert.equal(killed.status, 'failed');
    assert.match(killed.lastError, /killed/);
    const { rows } = await h.ctx.controlDb.query(`SELECT action FROM audit_log WHERE action LIKE 'job.%' ORDER BY id`);
    assert.deepEqual(rows.map((x) => x.action), ['job.retry', 'job.cancel', 'job.kill']);
  });
});
