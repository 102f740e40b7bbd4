import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { startGoogleServer, type GoogleServer } from '../../test/support/google-server.ts';
import type { RealtimeEvent } from '../platform/events.ts';
import { tenantDbById } from '../tenants/index.ts';
import { checkConferenceJob } from './check-conference.job.ts';
import { createMeetAction } from './create-meet.action.ts';
import { startReceiver } from '../workflows/test-support/receiver.ts';
import { appointmentMeetingSubscriber } from '../crm/index.ts';
import { ActionWaiting } from '../workflows/index.ts';

let h: TestApp;
let google: GoogleServer;
let a: TestClient;
let b: TestClient;
const published: RealtimeEvent[] = [];
const REFRESH_A = '1//refresh-token-clinic-a';
const ACCESS_A = 'ya29.access-token-clinic-a';

async function connect(client: TestClient, code: string, grant: { refreshToken: string; accessToken: string }) {
  const start = await h.app.inject({ method: 'GET', url: `/api/auth/google/connect?clientCode=${client.code}` });
  const state = new URL(start.headers.location as string).searchParams.get('state')!;
  google.issueCode(code, grant);
  const res = await h.app.inject({
    method: 'GET', url: `/api/auth/google/callback?${new URLSearchParams({ code, state })}`,
    headers: { cookie: String(start.headers['set-cookie']).split(';')[0] },
  });
  assert.equal(res.statusCode, 200, res.body);
}

before(async () => {
  google = await startGoogleServer();
  h = await startTestApp({ env: { ...google.env, SSRF_ALLOW_HOSTS: '127.0.0.1', JOB_SUPERVISE_SECONDS: '1' } });
  const original = h.ctx.realtime;
  h.ctx.realtime = { publish: (e) => { published.push(e); original.publish(e); } };
  a = await h.createClient('Meet Clinic A');
  b = await h.createClient('Meet Clinic B');
  await connect(a, 'code-meet-a', { refreshToken: REFRESH_A, accessToken: ACCESS_A });
});
after(async () => {
  await h.close();
  await google.close();
});

const body = (extra: Record<string, unknown> = {}) => ({
  title: 'Consultation: Asha x Dr Rao',
  start: '2026-12-01T10:00:00+05:30',
  end: '2026-12-01T10:30:00+05:30',
  timeZone: 'Asia/Kolkata',
  attendees: [{ email: 'asha@example.com', displayName: 'Asha' }],
  description: 'Video consultation',
  ...extra,
});

function create(client: TestClient, extra: Record<string, unknown> = {}) {
  return h.app.inject({ method: 'POST', url: '/api/saas/meet', headers: client.headers, payload: body(extra) });
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const inserts = () => google.count('POST', /\/events$/);
const tokenCalls = () => google.count('POST', /^\/token$/);

test('create makes a calendar event with a Meet conference request and returns the link, code and event id', async () => {
  const res = await create(a, { idempotencyKey: 'booking-1' });
  assert.equal(res.statusCode, 201, res.body);
  const meeting = res.json();
  assert.equal(meeting.status, 'ready');
  assert.equal(meeting.sandbox, false);
  assert.match(meeting.eventId, /^[a-v0-9]{52}$/);
  assert.match(meeting.meetUrl, /^https:\/\/meet\.google\.com\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  assert.equal(meeting.meetUrl, `https://meet.google.com/${meeting.meetingCode}`);
  const insert = google.requests.findLast((r) => r.method === 'POST' && r.path.endsWith('/events'))!;
  assert.equal(insert.path, '/calendar/v3/calendars/primary/events');
  assert.equal(insert.query.get('conferenceDataVersion'), '1');
  assert.equal(insert.headers.authorization, `Bearer ${ACCESS_A}`);
  const sent = JSON.parse(insert.body);
  assert.equal(sent.id, meeting.eventId);
  assert.equal(sent.conferenceData.createRequest.conferenceSolutionKey.type, 'hangoutsMeet');
  assert.match(sent.conferenceData.createRequest.requestId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(sent.attendees, [{ email: 'asha@example.com', displayName: 'Asha' }]);
  assert.equal(sent.start.timeZone, 'Asia/Kolkata');

  const before = inserts();
  const again = await create(a, { idempotencyKey: 'booking-1' });
  assert.equal(again.statusCode, 201);
  assert.equal(again.json().eventId, meeting.eventId);
  assert.equal(again.json().meetUrl, meeting.meetUrl);
  assert.equal(inserts(), before, 'a repeated create does not call Google again');

  const shown = await h.app.inject({ method: 'GET', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers });
  assert.equal(shown.statusCode, 200);
  assert.equal(shown.json().meetingCode, meeting.meetingCode);
});

test('a 5xx from Google is retried', async () => {
  google.inject({ method: 'POST', path: /\/events$/, status: 503 });
  const before = inserts();
  const res = await create(a, { idempotencyKey: 'booking-5xx' });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().status, 'ready');
  assert.equal(inserts(), before + 2);
});

test('a retried create whose first attempt did reach Google gets 409 and returns the same event (no duplicate)', async () => {
  // Google writes the event but the answer is lost (500): the retry with the same id gets 409.
  google.inject({ method: 'POST', path: /\/events$/, status: 500, applyFirst: true });
  const count = google.events.size;
  const res = await create(a, { idempotencyKey: 'booking-409' });
  assert.equal(res.statusCode, 201, res.body);
  const meeting = res.json();
  assert.equal(meeting.status, 'ready');
  assert.equal(google.events.size, count + 1, 'exactly one event');
  assert.equal(google.count('GET', new RegExp(`/events/${meeting.eventId}$`)), 1, 'fetched after the 409');
  assert.equal(google.events.get(meeting.eventId)!.event.hangoutLink, meeting.meetUrl);
});

test('a pending conference is polled until the link exists', async () => {
  google.pendingReads = 2;
  const res = await create(a, { idempotencyKey: 'booking-pending' });
  google.pendingReads = 0;
  assert.equal(res.statusCode, 201, res.body);
  const meeting = res.json();
  assert.equal(meeting.status, 'ready');
  assert.ok(meeting.meetUrl);
  assert.equal(google.count('GET', new RegExp(`/events/${meeting.eventId}$`)), 2);
});

test('a conference still pending after the bounded wait is returned as pending and finished by the background job', async () => {
  google.pendingReads = 5;
  const res = await create(a, { idempotencyKey: 'booking-slow' });
  google.pendingReads = 0;
  assert.equal(res.statusCode, 201, res.body);
  const meeting = res.json();
  assert.equal(meeting.status, 'pending');
  assert.equal(meeting.meetUrl, null);
  assert.equal(google.count('GET', new RegExp(`/events/${meeting.eventId}$`)), 3, 'bounded: three reads');
  const data = { clientId: a.id, eventId: meeting.eventId };
  await assert.rejects(checkConferenceJob.handler(data, h.ctx, {} as never, { number: 1, isLast: false }), /still pending/);
  await checkConferenceJob.handler(data, h.ctx, {} as never, { number: 1, isLast: false });
  const shown = (await h.app.inject({ method: 'GET', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers })).json();
  assert.equal(shown.status, 'ready');
  assert.ok(shown.meetUrl);
  assert.ok(published.some((e) => e.event === 'meet.updated' && e.clientId === a.id && (e.payload as { eventId: string }).eventId === meeting.eventId));
});

test('the background job asks again once when the conference failed meanwhile', async () => {
  google.pendingReads = 5;
  const meeting = (await create(a, { idempotencyKey: 'booking-slow-failure' })).json();
  google.pendingReads = 0;
  assert.equal(meeting.status, 'pending');
  const stored = google.events.get(meeting.eventId)!;
  stored.event.conferenceData.createRequest.status.statusCode = 'failure';
  stored.pendingReads = 0;
  const result = await checkConferenceJob.handler({ clientId: a.id, eventId: meeting.eventId }, h.ctx, {} as never, { number: 1, isLast: false });
  assert.deepEqual(result, { status: 'ready' });
  assert.equal(google.count('PATCH', new RegExp(`/events/${meeting.eventId}$`)), 1);
  const shown = (await h.app.inject({ method: 'GET', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers })).json();
  assert.equal(shown.status, 'ready');
  assert.ok(shown.meetUrl);
});

test('create_meet waits (without using up attempts or calling Google again) while the conference is pending, then yields the real code', async () => {
  const input = {
    ctx: h.ctx, clientId: a.id, db: await tenantDbById(h.ctx, a.id), trigger: 'appointment_confirmed', variables: ['Asha'], vars: {},
    runId: 'run-meet-1', idempotencyKey: 'run-meet-1',
  };
  const config = { title: 'Consultation with {{1}}', start: '2026-12-10T10:00:00Z' };
  google.pendingReads = 6;
  await assert.rejects(createMeetAction.execute(input, config), (err: Error) => err instanceof ActionWaiting && /still creating/.test(err.message));
  google.pendingReads = 0;
  const calls = google.requests.length;
  await assert.rejects(createMeetAction.execute(input, config), ActionWaiting); // a re-run reads our row only
  assert.equal(google.requests.length, calls, 'no Google call while waiting');
  const eventId = (await input.db.query<{ event_id: string }>(`SELECT event_id FROM meetings WHERE idempotency_key = 'action:run-meet-1'`)).rows[0].event_id;
  let settled = false;
  for (let i = 0; i < 5 && !settled; i++) settled = await checkConferenceJob.handler({ clientId: a.id, eventId }, h.ctx, {} as never, { number: i + 1, isLast: false }).then(() => true, () => false);
  assert.ok(settled);
  const before = inserts();
  const result = await createMeetAction.execute(input, config);
  assert.equal(inserts(), before, 'one event: the settled meeting is reused');
  assert.match(result.vars!.meetCode, /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  assert.equal(result.vars!.meetUrl, google.events.get(eventId)!.event.hangoutLink);
});

test('an automation step waiting for a Meet link is re-run until the link exists, then the next step gets the code', async () => {
  const rx = await startReceiver();
  let automationId = '';
  try {
    const created = await h.app.inject({
      method: 'POST', url: '/api/crm/automations', headers: a.headers, payload: {
        name: 'meet then notify', trigger: 'service_enrolled', triggerConfig: { suite: 'meet-wait' }, actions: [
          { type: 'create_meet', config: { title: 'Kick-off with {{1}}', start: '2026-12-20T10:00:00Z' } },
          { type: 'webhook', config: { url: `${rx.url}/notify` } },
        ],
      },
    });
    assert.equal(created.statusCode, 201, created.body);
    automationId = created.json().id;
    const insertsBefore = google.count('POST', /\/events$/);
    google.pendingReads = 12; // 3 reads inline, then the background check needs several more
    const r = await h.app.inject({ method: 'POST', url: '/api/saas/workflows/trigger', headers: a.headers, payload: { trigger: 'service_enrolled', phone: '918143963899', variables: ['Asha'], callbackMetadata: { suite: 'meet-wait', moduleId: 'kick-off' } } });
    assert.equal(r.statusCode, 202, r.body);
    const [step0] = r.json().jobs;
    const jobView = async () => (await h.app.inject({ method: 'GET', url: `/api/saas/workflows/jobs/${step0.id}`, headers: a.headers })).json();
    const waitUntil = async (check: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 20_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    await waitUntil(async () => (await jobView()).attemptHistory.some((x: { outcome: string }) => x.outcome === 'waiting'), 'a waiting attempt');
    google.pendingReads = 0; // later inserts are not affected; this event stays pending for its remaining reads
    const waiting = await jobView();
    assert.ok(['pending', 'processing'].includes(waiting.status), waiting.status);
    assert.equal(google.count('POST', /\/events$/) - insertsBefore, 1, 'one insert: waiting re-runs do not call Google');
    // The background check settles the conference (run here instead of after its first delay).
    const eventId = (await (await tenantDbById(h.ctx, a.id)).query<{ event_id: string }>(`SELECT event_id FROM meetings WHERE idempotency_key = $1`, [`action:${step0.id}`])).rows[0].event_id;
    let settled = false;
    for (let i = 0; i < 15 && !settled; i++) settled = await checkConferenceJob.handler({ clientId: a.id, eventId }, h.ctx, {} as never, { number: 1, isLast: false }).then(() => true, () => false);
    assert.ok(settled);
    await waitUntil(async () => rx.requests.some((q) => q.path === '/notify'), 'the next step');
    const done = await jobView();
    assert.equal(done.status, 'completed');
    assert.ok(done.attemptHistory.filter((x: { outcome: string }) => x.outcome === 'failed').length === 0, 'waiting is not failing');
    const code = /[a-z]{3}-[a-z]{4}-[a-z]{3}$/.exec(google.events.get(eventId)!.event.hangoutLink)![0];
    assert.equal(JSON.parse(rx.requests.find((q) => q.path === '/notify')!.body).vars.meetCode, code);
  } finally {
    if (automationId) await h.app.inject({ method: 'DELETE', url: `/api/crm/automations/${automationId}`, headers: a.headers });
    await rx.close();
  }
});

test('a failed conference is asked for again once with a new requestId', async () => {
  google.failConferences = 1;
  const res = await create(a, { idempotencyKey: 'booking-failure' });
  google.failConferences = 0;
  assert.equal(res.statusCode, 201, res.body);
  const meeting = res.json();
  assert.equal(meeting.status, 'ready');
  const insert = JSON.parse(google.requests.findLast((r) => r.method === 'POST' && r.path.endsWith('/events'))!.body);
  const patch = google.requests.findLast((r) => r.method === 'PATCH' && r.path.endsWith(meeting.eventId))!;
  assert.equal(patch.query.get('conferenceDataVersion'), '1');
  const retried = JSON.parse(patch.body).conferenceData.createRequest.requestId;
  assert.notEqual(retried, insert.conferenceData.createRequest.requestId);
});

test('reschedule patches start/end and keeps the link; cancel deletes; 404/410 from Google count as done', async () => {
  const meeting = (await create(a, { idempotencyKey: 'booking-move' })).json();
  const moved = await h.app.inject({
    method: 'PATCH', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers,
    payload: { start: '2026-12-02T11:00:00+05:30', end: '2026-12-02T11:45:00+05:30' },
  });
  assert.equal(moved.statusCode, 200, moved.body);
  assert.equal(moved.json().start, '2026-12-02T05:30:00.000Z');
  assert.equal(moved.json().meetUrl, meeting.meetUrl);
  const patch = google.requests.findLast((r) => r.method === 'PATCH')!;
  assert.deepEqual(Object.keys(JSON.parse(patch.body)).sort(), ['end', 'start']);
  assert.equal(google.events.get(meeting.eventId)!.event.start.dateTime, '2026-12-02T05:30:00.000Z');

  const bad = await h.app.inject({ method: 'PATCH', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers, payload: { start: '2026-12-02T11:00:00Z', end: '2026-12-02T10:00:00Z' } });
  assert.equal(bad.statusCode, 400);

  const cancelled = await h.app.inject({ method: 'DELETE', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers });
  assert.equal(cancelled.statusCode, 200);
  assert.equal(cancelled.json().status, 'cancelled');
  assert.equal(google.events.get(meeting.eventId)!.deleted, true);
  const again = await h.app.inject({ method: 'DELETE', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers });
  assert.equal(again.statusCode, 200, 'cancel is idempotent');

  const gone = (await create(a, { idempotencyKey: 'booking-gone' })).json();
  google.events.get(gone.eventId)!.deleted = true; // someone deleted it in Google Calendar: 410
  assert.equal((await h.app.inject({ method: 'DELETE', url: `/api/saas/meet/${gone.eventId}`, headers: a.headers })).statusCode, 200);
  const lost = (await create(a, { idempotencyKey: 'booking-lost' })).json();
  google.events.delete(lost.eventId); // 404
  const res = await h.app.inject({ method: 'DELETE', url: `/api/saas/meet/${lost.eventId}`, headers: a.headers });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().status, 'cancelled');
});

test('another client cannot see, move or cancel the meeting; an unconnected client gets GOOGLE_NOT_CONNECTED', async () => {
  const meeting = (await create(a, { idempotencyKey: 'booking-private' })).json();
  for (const [method, payload] of [['GET', undefined], ['PATCH', { start: '2026-12-03T10:00:00Z', end: '2026-12-03T11:00:00Z' }], ['DELETE', undefined]] as const) {
    const res = await h.app.inject({ method, url: `/api/saas/meet/${meeting.eventId}`, headers: b.headers, payload });
    assert.equal(res.statusCode, 404, `${method} by another client`);
    assert.equal(res.json().error.code, 'MEETING_NOT_FOUND');
  }
  assert.equal(google.events.get(meeting.eventId)!.deleted, false);
  const res = await create(b, { idempotencyKey: 'booking-private' });
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().error.code, 'GOOGLE_NOT_CONNECTED');
  assert.equal((await h.app.inject({ method: 'POST', url: '/api/saas/meet', payload: body() })).statusCode, 401);
});

test('bad input is refused before Google is called', async () => {
  const before = inserts();
  assert.equal((await create(a, { end: '2026-12-01T09:00:00+05:30' })).statusCode, 400);
  assert.equal((await create(a, { timeZone: 'Mars/Olympus' })).statusCode, 400);
  assert.equal((await create(a, { title: '' })).statusCode, 400);
  assert.equal(inserts(), before);
});

test('an appointment\'s meeting moves and is cancelled with the appointment (CRM hook), also when Google fails at first', async () => {
  const contact = await h.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: a.headers, payload: { name: 'Meera', phone: '+91 98765 43210', email: 'meera@example.com' } });
  assert.equal(contact.statusCode, 201, contact.body);
  const start = Date.now() + 48 * 3_600_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const booked = await h.app.inject({ method: 'POST', url: '/api/crm/appointments', headers: a.headers, payload: { contactId: contact.json().id, title: 'Consultation', startsAt: iso(start), endsAt: iso(start + 3_600_000), timezone: 'Asia/Kolkata' } });
  assert.equal(booked.statusCode, 201, booked.body);
  const appointmentId = booked.json().id as string;
  const meeting = (await create(a, { appointmentId, start: iso(start), end: iso(start + 3_600_000) })).json();
  assert.equal(meeting.appointmentId, appointmentId);

  const moved = await h.app.inject({ method: 'POST', url: `/api/crm/appointments/${appointmentId}/reschedule`, headers: a.headers, payload: { startsAt: iso(start + 3_600_000), endsAt: iso(start + 2 * 3_600_000) } });
  assert.equal(moved.statusCode, 200, moved.body);
  assert.equal(google.events.get(meeting.eventId)!.event.start.dateTime, iso(start + 3_600_000));
  assert.equal((await h.app.inject({ method: 'GET', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers })).json().start, iso(start + 3_600_000));

  // Google down for the whole inline attempt: the appointment still moves; the job catches the meeting up.
  for (let i = 0; i < 3; i++) google.inject({ method: 'PATCH', path: new RegExp(`/events/${meeting.eventId}$`), status: 503 });
  const movedAgain = await h.app.inject({ method: 'POST', url: `/api/crm/appointments/${appointmentId}/reschedule`, headers: a.headers, payload: { startsAt: iso(start + 2 * 3_600_000), endsAt: iso(start + 3 * 3_600_000) } });
  assert.equal(movedAgain.statusCode, 200, movedAgain.body);
  await waitFor(() => google.events.get(meeting.eventId)!.event.start.dateTime === iso(start + 2 * 3_600_000), 'the background job to move the event');

  const cancelled = await h.app.inject({ method: 'POST', url: `/api/crm/appointments/${appointmentId}/cancel`, headers: a.headers, payload: {} });
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.equal(google.events.get(meeting.eventId)!.deleted, true);
  assert.equal((await h.app.inject({ method: 'GET', url: `/api/saas/meet/${meeting.eventId}`, headers: a.headers })).json().status, 'cancelled');
});

test('booking an appointment with meet: true stores a Meet link on it; without a connection the booking stands and says why', async () => {
  const contact = (await h.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: a.headers, payload: { name: 'Ravi', phone: '+91 98765 40000', email: 'ravi@example.com' } })).json();
  const start = Date.now() + 72 * 3_600_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const booked = await h.app.inject({ method: 'POST', url: '/api/crm/appointments', headers: a.headers, payload: { contactId: contact.id, title: 'Video consultation', startsAt: iso(start), endsAt: iso(start + 1_800_000), meet: true } });
  assert.equal(booked.statusCode, 201, booked.body);
  assert.match(booked.json().meetingUrl, /^https:\/\/meet\.google\.com\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  const list = (await h.app.inject({ method: 'GET', url: `/api/saas/meet?appointmentId=${booked.json().id}`, headers: a.headers })).json();
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0].meetUrl, booked.json().meetingUrl);
  assert.deepEqual(google.events.get(list.items[0].eventId)!.event.attendees, [{ email: 'ravi@example.com' }]);

  const contactB = (await h.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: b.headers, payload: { name: 'Ravi', phone: '+91 98765 40000' } })).json();
  const bookedB = await h.app.inject({ method: 'POST', url: '/api/crm/appointments', headers: b.headers, payload: { contactId: contactB.id, startsAt: iso(start), endsAt: iso(start + 1_800_000), meet: true } });
  assert.equal(bookedB.statusCode, 201, bookedB.body);
  assert.equal(bookedB.json().meetingUrl, null);
  assert.equal(bookedB.json().meet.error.code, 'GOOGLE_NOT_CONNECTED');
});

test('a conference that settles after the booking gave up waiting: the appointment gets the link, the held-back confirmation and the reminders carry the code', async () => {
  const rx = await startReceiver();
  const automations: string[] = [];
  try {
    for (const trigger of ['appointment_confirmed', 'appointment_reminder']) {
      const r = await h.app.inject({ method: 'POST', url: '/api/crm/automations', headers: a.headers, payload: { name: `late link ${trigger}`, trigger, actions: [{ type: 'webhook', config: { url: `${rx.url}/${trigger}` } }] } });
      assert.equal(r.statusCode, 201, r.body);
      automations.push(r.json().id);
    }
    const contact = (await h.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: a.headers, payload: { name: 'Late Link', phone: '+91 98765 41111', email: 'late@example.com' } })).json();
    const start = Date.now() + 96 * 3_600_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    google.pendingReads = 5; // longer than the three reads the booking call waits for
    const booked = await h.app.inject({ method: 'POST', url: '/api/crm/appointments', headers: a.headers, payload: { contactId: contact.id, title: 'Late link', startsAt: iso(start), endsAt: iso(start + 1_800_000), meet: true } });
    google.pendingReads = 0;
    assert.equal(booked.statusCode, 201, booked.body);
    const appointmentId = booked.json().id as string;
    assert.equal(booked.json().meetingUrl, null);
    assert.equal(booked.json().meet.status, 'pending');
    const eventId = booked.json().meet.eventId as string;

    const db = await tenantDbById(h.ctx, a.id);
    const jobsOf = async () => (await db.query<{ trigger: string; status: string; variables: string[] }>('SELECT trigger, status, variables FROM workflow_jobs WHERE module_id = $1', [appointmentId])).rows;
    assert.deepEqual((await jobsOf()).map((j) => j.trigger), ['appointment_reminder'], 'the confirmation waits for the link; the reminder is scheduled');
    assert.equal((await jobsOf())[0].variables[3], '', 'no code yet');

    // The background job (run here instead of waiting for its first delay) reads until Google is done.
    let settled = false;
    for (let i = 0; i < 5 && !settled; i++) {
      settled = await checkConferenceJob.handler({ clientId: a.id, eventId }, h.ctx, {} as never, { number: i + 1, isLast: false }).then(() => true, () => false);
    }
    assert.ok(settled, 'the conference settled');
    const meetUrl = google.events.get(eventId)!.event.hangoutLink as string;
    const code = /[a-z]{3}-[a-z]{4}-[a-z]{3}$/.exec(meetUrl)![0];

    await waitFor(() => published.some((e) => e.event === 'appointment.updated' && (e.payload as { id: string; meetingUrl: string | null }).id === appointmentId && (e.payload as { meetingUrl: string | null }).meetingUrl === meetUrl), 'appointment.updated with the link');
    const shown = (await h.app.inject({ method: 'GET', url: `/api/crm/appointments/${appointmentId}`, headers: a.headers })).json();
    assert.equal(shown.meetingUrl, meetUrl);
    await waitFor(() => rx.requests.some((q) => q.path === '/appointment_confirmed'), 'the held-back confirmation');
    const confirmation = JSON.parse(rx.requests.find((q) => q.path === '/appointment_confirmed')!.body);
    assert.equal(confirmation.variables[3], code, 'the confirmation carries the meeting code');
    assert.equal(confirmation.metadata.moduleId, appointmentId);
    const reminder = (await jobsOf()).find((j) => j.trigger === 'appointment_reminder')!;
    assert.equal(reminder.status, 'pending');
    assert.equal(reminder.variables[3], code, 'the pending reminder now carries the code');
    const { rows: events } = await db.query(`SELECT type, data FROM domain_events WHERE type = 'meeting.ready' AND data->>'eventId' = $1`, [eventId]);
    assert.equal(events.length, 1);
    assert.equal(events[0].data.appointmentId, appointmentId);
    assert.equal(events[0].data.meetUrl, meetUrl);
    // Dispatching the event again (delivery is at-least-once) schedules and sends nothing twice.
    await appointmentMeetingSubscriber.handler(h.ctx, { clientId: a.id, event: { id: Number(events[0].id), type: 'meeting.ready', data: events[0].data, createdAt: new Date() } });
    assert.equal((await jobsOf()).filter((j) => j.trigger === 'appointment_confirmed').length, 1);

    // A conference that never comes: the confirmation still goes out, without a code.
    google.pendingReads = 50;
    const failing = await h.app.inject({ method: 'POST', url: '/api/crm/appointments', headers: a.headers, payload: { contactId: contact.id, title: 'No link', startsAt: iso(start + 86_400_000), endsAt: iso(start + 86_400_000 + 1_800_000), meet: true } });
    google.pendingReads = 0;
    assert.equal(failing.json().meet.status, 'pending');
    await checkConferenceJob.onFailed!({ clientId: a.id, eventId: failing.json().meet.eventId }, h.ctx, {} as never);
    await waitFor(() => rx.requests.filter((q) => q.path === '/appointment_confirmed').length === 2, 'the confirmation without a link');
    const plain = JSON.parse(rx.requests.filter((q) => q.path === '/appointment_confirmed')[1].body);
    assert.equal(plain.metadata.moduleId, failing.json().id);
    assert.equal(plain.variables[3], '');
    assert.equal((await h.app.inject({ method: 'GET', url: `/api/crm/appointments/${failing.json().id}`, headers: a.headers })).json().meetingUrl, null);
    assert.equal(rx.requests.filter((q) => q.path === '/appointment_confirmed').length, 2, 'one confirmation per appointment');
  } finally {
    for (const id of automations) await h.app.inject({ method: 'DELETE', url: `/api/crm/automations/${id}`, headers: a.headers });
    await rx.close();
  }
});

test('a rejected access token (401) is refreshed once and the call retried; the new token is cached', async () => {
  google.validAccessTokens.delete(ACCESS_A);
  const before = tokenCalls();
  const res = await create(a, { idempotencyKey: 'booking-401' });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(tokenCalls(), before + 1);
  const refresh = new URLSearchParams(google.requests.findLast((r) => r.path === '/token')!.body);
  assert.equal(refresh.get('grant_type'), 'refresh_token');
  assert.equal(refresh.get('refresh_token'), REFRESH_A);
  await create(a, { idempotencyKey: 'booking-401-b' });
  assert.equal(tokenCalls(), before + 1, 'cached until shortly before expiry');
});

test('an access token close to expiry is refreshed before use', async () => {
  await h.ctx.controlDb.query(`UPDATE google_connections SET access_token_expires_at = now() + interval '1 minute' WHERE client_id = $1`, [a.id]);
  const before = tokenCalls();
  assert.equal((await create(a, { idempotencyKey: 'booking-eager' })).statusCode, 201);
  assert.equal(tokenCalls(), before + 1);
});

test('parallel calls with an expired access token share one refresh', async () => {
  await h.ctx.controlDb.query(`UPDATE google_connections SET access_token_expires_at = now() WHERE client_id = $1`, [a.id]);
  const before = tokenCalls();
  const results = await Promise.all([1, 2, 3].map((n) => create(a, { idempotencyKey: `booking-parallel-${n}` })));
  assert.deepEqual(results.map((r) => r.statusCode), [201, 201, 201]);
  assert.equal(tokenCalls(), before + 1);
});

test('invalid_grant marks the connection needs_reauth, publishes an event, answers GOOGLE_REAUTH_REQUIRED and stops retrying', async () => {
  google.refusedRefreshTokens.add(REFRESH_A);
  await h.ctx.controlDb.query(`UPDATE google_connections SET access_token_expires_at = now() WHERE client_id = $1`, [a.id]);
  const before = tokenCalls();
  const res = await create(a, { idempotencyKey: 'booking-reauth' });
  assert.equal(res.statusCode, 409, res.body);
  assert.equal(res.json().error.code, 'GOOGLE_REAUTH_REQUIRED');
  assert.equal(tokenCalls(), before + 1);
  const status = (await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: a.headers })).json();
  assert.equal(status.needsReauth, true);
  assert.equal(status.connected, false);
  assert.ok(published.some((e) => e.event === 'google.reauth_required' && e.clientId === a.id));
  const again = await create(a, { idempotencyKey: 'booking-reauth' });
  assert.equal(again.statusCode, 409);
  assert.equal(tokenCalls(), before + 1, 'no refresh loop against a dead grant');

  // Reconnecting replaces the token (the old one is revoked) and clears needs_reauth.
  await connect(a, 'code-meet-a-2', { refreshToken: '1//refresh-token-clinic-a-2', accessToken: 'ya29.access-token-clinic-a-2' });
  assert.ok(google.revoked.includes(REFRESH_A));
  assert.equal((await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: a.headers })).json().connected, true);
  assert.equal((await create(a, { idempotencyKey: 'booking-reauth' })).statusCode, 201);
});

test('tokens never appear in logs or responses', () => {
  const all = h.logs.join('\n');
  for (const secret of [REFRESH_A, ACCESS_A, '1//refresh-token-clinic-a-2', 'ya29.a0EXAMPLE-refreshed-access-token']) assert.ok(!all.includes(secret), `${secret.slice(0, 8)}… leaked into logs`);
});
