import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../../test/harness.ts';
import { EcodrixApiError, EcodrixClient, SDK_ROUTES } from './index.ts';

let h: TestApp;
before(async () => {
  h = await startTestApp({ listen: true });
});
after(() => h.close());

test('every route the SDK calls exists in the server OpenAPI document with the same method', async () => {
  const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  for (const [name, [method, path]] of Object.entries(SDK_ROUTES)) {
    assert.ok(doc.paths[path]?.[method.toLowerCase()], `${name}: ${method} ${path} is not in /openapi.json`);
  }
});

test('the client talks to a real server: trigger with no workflow, job lookup errors, bad credentials', async () => {
  const client = await h.createClient('SDK Clinic');
  const erix = new EcodrixClient({ baseUrl: h.url!, apiKey: client.apiKey, clientCode: client.code });
  const result = await erix.triggerWorkflow({ trigger: 'appointment_confirmed', phone: '918143963821', variables: ['Dhanesh', 'Dr. Arjun', 'Monday 10AM', 'abc-xyz'] });
  assert.deepEqual(result.jobs, []);
  await assert.rejects(erix.getJob('00000000-0000-4000-8000-000000000000'), (err: unknown) => err instanceof EcodrixApiError && err.status === 404);
  const bad = new EcodrixClient({ baseUrl: h.url!, apiKey: `${client.apiKey.slice(0, -1)}${client.apiKey.endsWith('x') ? 'y' : 'x'}`, clientCode: client.code });
  await assert.rejects(bad.listJobs(), (err: unknown) => err instanceof EcodrixApiError && err.status === 401 && err.message === 'Invalid API key');
});
