import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../../test/harness.ts';

let h: TestApp;
before(async () => {
  h = await startTestApp({ listen: true, env: { METRICS_TOKEN: 'metrics-token-for-tests-123456', WHATSAPP_MODE: 'sandbox' } });
});
after(() => h.close());

test('/metrics needs the admin token or the metrics token', async () => {
  const anonymous = await h.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(anonymous.statusCode, 401);
  const wrong = await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.statusCode, 401);
  const client = await h.createClient();
  const tenantKey = await h.app.inject({ method: 'GET', url: '/metrics', headers: client.headers });
  assert.equal(tenantKey.statusCode, 401, 'a tenant key is not an admin key');
  const bearer = await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-for-tests-123456' } });
  assert.equal(bearer.statusCode, 200);
  const admin = await h.app.inject({ method: 'GET', url: '/metrics', headers: h.adminHeaders });
  assert.equal(admin.statusCode, 200);
  assert.match(admin.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
});

test('/metrics exposes HTTP latency by route, tenant pools and process memory in Prometheus format', async () => {
  const client = await h.createClient();
  await h.app.inject({ method: 'GET', url: '/api/saas/cors', headers: client.headers });
  await h.app.inject({ method: 'GET', url: '/api/saas/health' });
  const res = await h.app.inject({ method: 'GET', url: '/metrics', headers: h.adminHeaders });
  const text = res.body;
  assert.match(text, /# TYPE ecodrix_http_request_duration_seconds histogram/);
  assert.match(text, /ecodrix_http_request_duration_seconds_count\{method="GET",route="\/api\/saas\/health",status="200"\} [1-9]/);
  assert.match(text, /ecodrix_http_request_duration_seconds_bucket\{method="GET",route="\/api\/saas\/cors",status="200",le="\+Inf"\} 1/);
  assert.match(text, /ecodrix_tenant_pools [0-9]+/);
  assert.match(text, /ecodrix_process_resident_memory_bytes [1-9][0-9]*/);
  // Every sample line is "name{labels} value" or "name value".
  for (const line of text.trim().split('\n').filter((l) => !l.startsWith('#'))) {
    assert.match(line, /^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/, line);
  }
  assert.ok(!text.includes(client.apiKey), 'no key in metrics');
});

test('/metrics counts stored webhooks and shows the inbox by state and its lag', async () => {
  const client = await h.createClient();
  const inbound = await h.app.inject({ method: 'POST', url: '/api/sandbox/inbound', headers: client.headers, payload: { from: '15550007777', text: 'hello metrics' } });
  assert.equal(inbound.statusCode, 202, inbound.body);
  const text = (await h.app.inject({ method: 'GET', url: '/metrics', headers: h.adminHeaders })).body;
  assert.match(text, /ecodrix_webhooks_received_total [1-9]/);
  assert.match(text, /ecodrix_webhook_inbox_rows\{state="dead"\} 0/);
  assert.match(text, /ecodrix_webhook_inbox_lag_seconds [0-9.e+-]+/);
  assert.match(text, /ecodrix_socketio_connections 0/);
});

test('/metrics counts Socket.io connections', async () => {
  const { io } = await import('socket.io-client');
  const client = await h.createClient();
  const socket = io(h.url!, { auth: { clientCode: client.code, apiKey: client.apiKey }, transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  try {
    const text = (await h.app.inject({ method: 'GET', url: '/metrics', headers: h.adminHeaders })).body;
    assert.match(text, /ecodrix_socketio_connections 1/);
  } finally {
    socket.disconnect();
  }
});
