import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { tenantDbById } from '../tenants/index.ts';
import { startReceiver, waitFor, type Receiver } from '../workflows/test-support/receiver.ts';
import { createMeetAction } from './create-meet.action.ts';
import { cancelMeeting, createMeetingForAppointment, rescheduleMeeting, syncAppointmentMeeting } from './index.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;
let rx: Receiver;

before(async () => {
  rx = await startReceiver();
  h = await startTestApp({ env: { SSRF_ALLOW_HOSTS: '127.0.0.1' } }); // no GOOGLE_CLIENT_ID: the fake provider
  a = await h.createClient('Sandbox Clinic A');
  b = await h.createClient('Sandbox Clinic B');
});
after(async () => {
  await h.close();
  await rx.close();
});

const body = { title: 'Demo', start: '2026-12-01T10:00:00Z', end: '2026-12-01T10:30:00Z', timeZone: 'UTC', idempotencyKey: 'demo-1' };

test('without Google credentials meetings get clearly marked, well-formed, deterministic fake links', async () => {
  const res = await h.app.inject({ method: 'POST', url: '/api/saas/meet', headers: a.headers, payload: body });
  assert.equal(res.statusCode, 201, res.body);
  const meeting = res.json();
  assert.equal(meeting.sandbox, true);
  assert.equal(meeting.provider, 'sandbox');
  assert.equal(meeting.status, 'ready');
  assert.match(meeting.meetingCode, /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  assert.equal(meeting.meetUrl, `https://meet.google.com/${meeting.meetingCode}`);
  const again = (await h.app.inject({ method: 'POST', url: '/api/saas/meet', headers: a.headers, payload: body })).json();
  assert.equal(again.meetingCode, meeting.meetingCode);
  const other = (await h.app.inject({ method: 'POST', url: '/api/saas/meet', headers: a.headers, payload: { ...body, idempotencyKey: 'demo-2' } })).json();
  assert.notEqual(other.meetingCode, meeting.meetingCode);

  const moved = await h.app.inject({ method: 'PATCH', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers, payload: { start: '2026-12-01T12:00:00Z', end: '2026-12-01T12:30:00Z' } });
  assert.equal(moved.statusCode, 200);
  assert.equal(moved.json().start, '2026-12-01T12:00:00.000Z');
  const foreign = await h.app.inject({ method: 'DELETE', url: `/api/saas/meet/${meeting.eventId}`, headers: b.headers });
  assert.equal(foreign.statusCode, 404);
  const cancelled = await h.app.inject({ method: 'DELETE', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers });
  assert.equal(cancelled.json().status, 'cancelled');
  const moveCancelled = await h.app.inject({ method: 'PATCH', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers, payload: { start: '2026-12-01T12:00:00Z', end: '2026-12-01T13:30:00Z' } });
  assert.equal(moveCancelled.statusCode, 409);
});

test('meetings are listed newest first with a cursor, per client only', async () => {
  for (const key of ['list-1', 'list-2', 'list-3']) {
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/saas/meet', headers: b.headers, payload: { ...body, idempotencyKey: key, appointmentId: key === 'list-2' ? 'appt-list' : undefined } })).statusCode, 201);
  }
  const first = (await h.app.inject({ method: 'GET', url: '/api/saas/meet?limit=2', headers: b.headers })).json();
  assert.equal(first.items.length, 2);
  assert.ok(first.nextCursor);
  const second = (await h.app.inject({ method: 'GET', url: `/api/saas/meet?limit=2&cursor=${first.nextCursor}`, headers: b.headers })).json();
  assert.equal(second.items.length, 1);
  assert.equal(second.nextCursor, null);
  assert.equal(new Set([...first.items, ...second.items].map((m: { eventId: string }) => m.eventId)).size, 3);
  const byAppointment = (await h.app.inject({ method: 'GET', url: '/api/saas/meet?appointmentId=appt-list', headers: b.headers })).json();
  assert.deepEqual(byAppointment.items.map((m: { appointmentId: string }) => m.appointmentId), ['appt-list']);
  const otherClient = (await h.app.inject({ method: 'GET', url: '/api/saas/meet?appointmentId=appt-list', headers: a.headers })).json();
  assert.deepEqual(otherClient.items, []);
  assert.equal((await h.app.inject({ method: 'GET', url: '/api/saas/meet?cursor=bogus', headers: b.headers })).statusCode, 400);
});

test('status says sandbox; the connect link explains that Google is not configured', async () => {
  const status = (await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: a.headers })).json();
  assert.equal(status.sandbox, true);
  assert.equal(status.connected, false);
  const connect = await h.app.inject({ method: 'GET', url: `/api/auth/google/connect?clientCode=${a.code}` });
  assert.equal(connect.statusCode, 503);
  assert.match(connect.body, /not configured/);
});

test('appointment helpers are idempotent: one meeting per appointment, moved and cancelled with it', async () => {
  const input = { clientId: a.id, appointmentId: 'appt-42', title: 'Consultation', start: '2026-12-05T09:00:00Z', end: '2026-12-05T09:30:00Z', timeZone: 'Asia/Kolkata' };
  const first = await createMeetingForAppointment(h.ctx, input);
  const second = await createMeetingForAppointment(h.ctx, input);
  assert.equal(second.eventId, first.eventId);
  assert.equal(first.appointmentId, 'appt-42');
  const moved = await rescheduleMeeting(h.ctx, { clientId: a.id, appointmentId: 'appt-42', start: '2026-12-06T09:00:00Z', end: '2026-12-06T09:30:00Z' });
  assert.equal(moved.start, '2026-12-06T09:00:00.000Z');
  assert.equal(moved.timeZone, 'Asia/Kolkata');
  const same = await rescheduleMeeting(h.ctx, { clientId: a.id, appointmentId: 'appt-42', start: '2026-12-06T09:00:00Z', end: '2026-12-06T09:30:00Z' });
  assert.equal(same.eventId, first.eventId);
  assert.equal((await cancelMeeting(h.ctx, { clientId: a.id, appointmentId: 'appt-42' })).status, 'cancelled');
  assert.equal((await cancelMeeting(h.ctx, { clientId: a.id, appointmentId: 'appt-42' })).status, 'cancelled');
  await assert.rejects(cancelMeeting(h.ctx, { clientId: b.id, appointmentId: 'appt-42' }), /Meeting not found/);

  // The CRM hook: a no-op for appointments without a meeting, else move/cancel.
  assert.equal(await syncAppointmentMeeting(h.ctx, { clientId: a.id, appointmentId: 'appt-none', start: '2026-12-06T09:00:00Z', end: '2026-12-06T10:00:00Z' }), null);
  assert.equal(await syncAppointmentMeeting(h.ctx, { clientId: a.id, appointmentId: 'appt-none', cancelled: true }), null);
  await createMeetingForAppointment(h.ctx, { ...input, appointmentId: 'appt-43' });
  const synced = await syncAppointmentMeeting(h.ctx, { clientId: a.id, appointmentId: 'appt-43', start: '2026-12-07T09:00:00Z', end: '2026-12-07T09:30:00Z' });
  assert.equal(synced?.start, '2026-12-07T09:00:00.000Z');
  assert.equal((await syncAppointmentMeeting(h.ctx, { clientId: a.id, appointmentId: 'appt-43', cancelled: true }))?.status, 'cancelled');
});

test('create_meet action exposes meetCode and meetUrl for the next actions, same meeting on retry', async () => {
  const db = await tenantDbById(h.ctx, a.id);
  const input = {
    ctx: h.ctx, clientId: a.id, db, trigger: 'appointment_confirmed', phone: '919876543210',
    variables: ['Asha', 'Dr Rao', '1 Dec at 10:00', '2026-12-01T10:00:00Z'], vars: { patient: 'Asha', email: 'asha@example.com' }, runId: 'run-1', idempotencyKey: 'run-1:0',
  };
  const config = { title: 'Consultation with {{patient}} ({{2}})', start: '{{4}}', durationMinutes: 45, timeZone: 'Asia/Kolkata', attendees: ['{{email}}'] };
  const result = await createMeetAction.execute(input, config);
  assert.match(result.vars!.meetCode, /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  assert.equal(result.vars!.meetUrl, `https://meet.google.com/${result.vars!.meetCode}`);
  assert.equal(result.output!.sandbox, true);
  const retry = await createMeetAction.execute(input, config);
  assert.equal(retry.vars!.meetCode, result.vars!.meetCode);
  const { rows } = await db.query('SELECT title, attendees, end_at FROM meetings WHERE event_id = $1', [result.output!.eventId]);
  assert.equal(rows[0].title, 'Consultation with Asha (Dr Rao)');
  assert.deepEqual(rows[0].attendees, [{ email: 'asha@example.com' }]);
  assert.equal(rows[0].end_at.toISOString(), '2026-12-01T10:45:00.000Z');
});

test('an automation runs create_meet and hands meetCode/meetUrl to the next action', async () => {
  const created = await h.app.inject({
    method: 'POST', url: '/api/crm/automations', headers: a.headers,
    payload: {
      name: 'Confirmation with Meet', trigger: 'appointment_confirmed', triggerConfig: {},
      actions: [
        { type: 'create_meet', delayMinutes: 0, config: { title: 'Consultation: {{1}} with {{2}}', start: '{{4}}', durationMinutes: 30, timeZone: 'Asia/Kolkata' } },
        { type: 'webhook', delayMinutes: 0, config: { url: `${rx.url}/meet-next` } },
      ],
    },
  });
  assert.equal(created.statusCode, 201, created.body);
  const fired = await h.app.inject({
    method: 'POST', url: '/api/saas/workflows/trigger', headers: a.headers,
    payload: { trigger: 'appointment_confirmed', phone: '919876543210', variables: ['Asha', 'Dr Rao', '1 Dec at 10:00', '2026-12-01T04:30:00Z'] },
  });
  assert.ok([200, 201, 202].includes(fired.statusCode), fired.body);
  const hit = await waitFor(() => rx.requests.find((r) => r.path === '/meet-next'), { what: 'webhook after create_meet' });
  const { vars } = JSON.parse(hit.body) as { vars: Record<string, string> };
  assert.match(vars.meetCode, /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  assert.equal(vars.meetUrl, `https://meet.google.com/${vars.meetCode}`);
  const db = await tenantDbById(h.ctx, a.id);
  const { rows } = await db.query('SELECT title, start_at FROM meetings WHERE meeting_code = $1', [vars.meetCode]);
  assert.equal(rows[0].title, 'Consultation: Asha with Dr Rao');
  assert.equal(rows[0].start_at.toISOString(), '2026-12-01T04:30:00.000Z');
});
