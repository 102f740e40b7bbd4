/**
 * End to end through the WhatsApp simulator, and crash safety: a hung or dead worker's job is
 * re-run by the queue and the re-run never sends a second message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { tenantDbById } from '../tenants/index.ts';
import { runWorkflowActionJob } from './run-workflow-action.job.ts';
import { startReceiver, waitFor, type Receiver } from './test-support/receiver.ts';

let h: TestApp;
let a: TestClient;
let rx: Receiver;
const events: Array<{ event: string; payload: { id?: string; status?: string } }> = [];

before(async () => {
  h = await startTestApp({
    env: {
      WHATSAPP_MODE: 'sandbox', SANDBOX_STATUS_DELAYS_MS: '10,10,10',
      SSRF_ALLOW_HOSTS: '127.0.0.1', JOB_TIMEOUT_SECONDS: '5', JOB_SUPERVISE_SECONDS: '1',
    },
  });
  const publisher = h.ctx.realtime;
  h.ctx.realtime = { publish: (e) => { events.push(e as never); publisher.publish(e); } };
  a = await h.createClient('Execution Clinic');
  const sync = await h.app.inject({ method: 'POST', url: '/api/saas/chat/templates/sync', headers: a.headers });
  assert.equal(sync.statusCode, 200, sync.body);
  rx = await startReceiver();
});
after(async () => {
  await rx?.close();
  await h?.close();
});

async function post(url: string, payload: object) {
  const r = await h.app.inject({ method: 'POST', url, headers: a.headers, payload });
  return { status: r.statusCode, body: r.json() };
}
async function job(id: string) {
  return (await h.app.inject({ method: 'GET', url: `/api/saas/workflows/jobs/${id}`, headers: a.headers })).json();
}
async function accepted(to: string): Promise<number> {
  const r = await h.app.inject({ method: 'GET', url: '/api/sandbox/outbox?limit=500', headers: a.headers });
  return (r.json().items as Array<{ to: string; outcome: string }>).filter((i) => i.to === to && i.outcome === 'accepted').length;
}

describe('workflow execution', () => {
  it('the original contract: confirmation at once through WhatsApp, job history with the message id, job.updated events', async () => {
    const wf = await post('/api/saas/workflows', { name: 'Appointment Confirmation', trigger: 'appointment_confirmed', channel: 'whatsapp', templateName: 'appointment_confirmed', language: 'en_US', delayMinutes: 0, isActive: true });
    assert.equal(wf.status, 201, JSON.stringify(wf.body));
    const phone = '918143963821';
    const payload = {
      trigger: 'appointment_confirmed', phone, variables: ['Dhanesh', 'Dr. Arjun', 'Monday 10AM', 'abc-xyz'],
      callbackMetadata: { moduleId: 'appt_1', moduleType: 'Appointment', reminderKey: 'confirmed' },
    };
    const r = await post('/api/saas/workflows/trigger', payload);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const [queued] = r.body.jobs;
    assert.equal(queued.workflow, 'Appointment Confirmation');
    const done = await waitFor(async () => {
      const j = await job(queued.id);
      return j.status === 'completed' ? j : undefined;
    }, { what: 'completed send' });
    assert.match(done.output.messageId, /^[0-9a-f-]{36}$/);
    assert.equal(done.action, 'send_whatsapp');
    await waitFor(async () => (await accepted(phone)) === 1, { what: 'one accepted message in the simulator outbox' });
    const statuses = events.filter((e) => e.event === 'job.updated' && e.payload.id === queued.id).map((e) => e.payload.status);
    assert.deepEqual([statuses[0], statuses.at(-1)], ['pending', 'completed']);
    assert.ok(statuses.includes('processing'));

    // The same trigger again: nothing new.
    const again = await post('/api/saas/workflows/trigger', payload);
    assert.equal(again.body.jobs[0].id, queued.id);

    // A worker that died after sending but before recording: the row is still "processing" and the
    // queue runs the job again. The re-run reuses the idempotency key: still one message.
    const db = await tenantDbById(h.ctx, a.id);
    await db.query(`UPDATE workflow_jobs SET status = 'processing' WHERE id = $1`, [queued.id]);
    const row = (await db.query('SELECT generation FROM workflow_jobs WHERE id = $1', [queued.id])).rows[0];
    await runWorkflowActionJob.handler({ clientId: a.id, jobId: queued.id, generation: row.generation }, h.ctx, {} as never, { number: 2, isLast: false });
    const rerun = await job(queued.id);
    assert.equal(rerun.status, 'completed');
    assert.equal(rerun.attempts, 2);
    assert.equal(rerun.output.messageId, done.output.messageId);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(await accepted(phone), 1);
  });

  it('a template the client does not have fails at once, without retries', async () => {
    await post('/api/crm/automations', { name: 'Bad template', trigger: 'product_purchased', triggerConfig: {}, actions: [{ type: 'send_whatsapp', delayMinutes: 0, config: { templateName: 'no_such_template' } }] });
    const r = await post('/api/saas/workflows/trigger', { trigger: 'product_purchased', phone: '918143963899', variables: [] });
    const failed = await waitFor(async () => {
      const j = await job(r.body.jobs[0].id);
      return j.status === 'failed' ? j : undefined;
    }, { what: 'failed send' });
    assert.equal(failed.attempts, 1);
    assert.match(failed.lastError, /Template not found|template/i);
  });

  it('a job whose worker hangs is expired and re-run by the queue; the receiver sees one delivery id', async () => {
    const path = '/hang';
    rx.respond = (req, i) => (req.path === path && i === rx.requests.findIndex((q) => q.path === path) ? 'hang' : { status: 200, body: '{}' });
    await post('/api/crm/automations', { name: 'Hook', trigger: 'service_enrolled', triggerConfig: {}, actions: [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${path}` } }] });
    const r = await post('/api/saas/workflows/trigger', { trigger: 'service_enrolled', phone: '918143963800', variables: [], idempotencyKey: 'enrol-1' });
    assert.equal(r.status, 202);
    const done = await waitFor(async () => {
      const j = await job(r.body.jobs[0].id);
      // The job's status and its attempt history are written by separate statements: wait for both.
      return j.status === 'completed' && j.attemptHistory?.[1]?.outcome === 'succeeded' ? j : undefined;
    }, { timeoutMs: 40_000, what: 'job re-run after expiry' });
    assert.equal(done.attempts, 2);
    assert.equal(done.attemptHistory[0].outcome, 'failed');
    assert.equal(done.attemptHistory[1].outcome, 'succeeded');
    const deliveries = rx.requests.filter((q) => q.path === path);
    assert.equal(deliveries.length, 2);
    assert.equal(deliveries[0].headers['webhook-id'], deliveries[1].headers['webhook-id'], 'same webhook-id: the receiver drops the duplicate');
  });
});
