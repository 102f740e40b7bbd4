/**
 * Production accepts only https callback and webhook URLs (security.md §3): a clear 400 where a URL is
 * given, a refusal at delivery for URLs stored before, and SSRF_ALLOW_HOSTS as the only exception
 * (the loopback receiver these tests use).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { tenantDbById } from '../tenants/index.ts';
import { startReceiver, waitFor, type Receiver } from './test-support/receiver.ts';

let h: TestApp;
let a: TestClient;
let rx: Receiver;

before(async () => {
  h = await startTestApp({ env: { NODE_ENV: 'production', SSRF_ALLOW_HOSTS: '127.0.0.1', JOB_SUPERVISE_SECONDS: '1' } });
  a = await h.createClient('Production Clinic');
  rx = await startReceiver();
});
after(async () => {
  await rx?.close();
  await h?.close();
});

async function api(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) {
  const r = await h.app.inject({ method, url, headers: a.headers, ...(payload ? { payload } : {}) });
  return { status: r.statusCode, body: r.json() };
}
async function job(id: string) {
  return (await api('GET', `/api/saas/workflows/jobs/${id}`)).body;
}

describe('production URL policy', () => {
  it('runs in production mode with the policy on', () => {
    assert.equal(h.ctx.config.nodeEnv, 'production');
    assert.equal(h.ctx.config.outbound.httpsOnly, true);
    assert.ok(h.logs.some((l) => l.includes('https on port 443 only')), 'the policy is logged at startup');
  });

  it('refuses http (and https on another port) callback URLs at the trigger API with a clear 400', async () => {
    await api('POST', '/api/crm/automations', { name: 'purchase', trigger: 'product_purchased', actions: [{ type: 'update_lead', config: { stage: 'won' } }] });
    const base = { trigger: 'product_purchased', phone: '918143963821', variables: [] };
    for (const callbackUrl of ['http://yoursite.com/api/workflows/callback', 'https://yoursite.com:8443/api/workflows/callback', 'http://yoursite.com:443/cb']) {
      const r = await api('POST', '/api/saas/workflows/trigger', { ...base, callbackUrl, callbackMetadata: { moduleId: randomBytes(4).toString('hex') } });
      assert.equal(r.status, 400, `${callbackUrl}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'VALIDATION_FAILED');
      assert.match(r.body.error.message, /callbackUrl must be an https URL/);
    }
    // https on the default port (written or not) is accepted.
    for (const callbackUrl of ['https://yoursite.com/api/workflows/callback', 'https://yoursite.com:443/cb']) {
      const r = await api('POST', '/api/saas/workflows/trigger', { ...base, callbackUrl, callbackMetadata: { moduleId: randomBytes(4).toString('hex') } });
      assert.equal(r.status, 202, `${callbackUrl}: ${JSON.stringify(r.body)}`);
    }
  });

  it('refuses http webhook URLs when an automation is created or changed', async () => {
    const bad = { name: 'hook', trigger: 'lead_captured', actions: [{ type: 'webhook', config: { url: 'http://hooks.example.com/in' } }] };
    const created = await api('POST', '/api/crm/automations', bad);
    assert.equal(created.status, 400, JSON.stringify(created.body));
    assert.match(created.body.error.message, /actions\[0\]\.config\.url must be an https URL/);
    const ok = await api('POST', '/api/crm/automations', { ...bad, actions: [{ type: 'webhook', config: { url: 'https://hooks.example.com/in' } }], isActive: false });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const patched = await api('PATCH', `/api/crm/automations/${ok.body.id}`, { actions: bad.actions });
    assert.equal(patched.status, 400, JSON.stringify(patched.body));
    assert.match(patched.body.error.message, /https URL/);
  });

  it('refuses, at delivery, an http callback URL and an http webhook URL stored before, without sending anything', async () => {
    const path = `/stored-${randomBytes(4).toString('hex')}`;
    const created = await api('POST', '/api/crm/automations', {
      name: 'enrolled', trigger: 'service_enrolled', actions: [{ type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}${path}/hook` } }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    // The allowlisted loopback receiver takes http (the explicit test setting) …
    const allowed = await api('POST', '/api/saas/workflows/trigger', {
      trigger: 'service_enrolled', phone: '918143963821', variables: [], callbackUrl: `${rx.url}${path}/cb`, callbackMetadata: { moduleId: 'allowed' },
    });
    assert.equal(allowed.status, 202, JSON.stringify(allowed.body));
    await waitFor(async () => (await job(allowed.body.jobs[0].id)).callback?.status === 'delivered', { what: 'allowlisted http callback delivered' });

    // … while rows written before production rules (or by hand) are refused when they run.
    const db = await tenantDbById(h.ctx, a.id);
    const delayed = await api('POST', '/api/saas/workflows/trigger', {
      trigger: 'service_enrolled', phone: '918143963821', variables: [], baseTime: new Date(Date.now() + 1500).toISOString(),
      callbackUrl: `${rx.url}${path}/cb2`, callbackMetadata: { moduleId: 'stored' },
    });
    assert.equal(delayed.status, 202, JSON.stringify(delayed.body));
    const id = delayed.body.jobs[0].id;
    await db.query(`UPDATE workflow_jobs SET callback_url = 'http://callbacks.example.com/cb' WHERE id = $1 AND status = 'pending'`, [id]);
    await db.query(`UPDATE workflows SET actions = jsonb_build_array(jsonb_build_object('type', 'webhook', 'delayMinutes', 0, 'config', jsonb_build_object('url', 'http://hooks.example.com/in'))) WHERE id = $1`, [created.body.id]);
    const other = await api('POST', '/api/saas/workflows/trigger', { trigger: 'service_enrolled', phone: '918143963821', variables: [], callbackMetadata: { moduleId: 'stored-hook' } });
    assert.equal(other.status, 202);

    const refusedCallback = await waitFor(async () => {
      const j = await job(id);
      return j.callback?.status === 'failed' ? j : undefined;
    }, { what: 'stored http callback refused' });
    assert.equal(refusedCallback.status, 'completed', 'the action itself ran (to the allowlisted receiver)');
    assert.equal(refusedCallback.callback.attempts, 1, 'refused at once, not retried');
    assert.match(refusedCallback.callback.error, /https/);

    const refusedHook = await waitFor(async () => {
      const j = await job(other.body.jobs[0].id);
      return j.status === 'failed' ? j : undefined;
    }, { what: 'stored http webhook refused' });
    assert.equal(refusedHook.attempts, 1, 'refused at once, not retried');
    assert.match(refusedHook.lastError, /webhook URL refused: .*https/);
    assert.ok(h.logs.some((l) => l.includes('workflow callback failed for good') && l.includes('callbacks.example.com')), 'the refusal is logged with the host');
  });
});
