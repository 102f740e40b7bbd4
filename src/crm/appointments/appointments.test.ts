import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startTestApp, type TestApp, type TestClient } from '../../../test/harness.ts';
import { tenantDbById } from '../../tenants/index.ts';
import { reminderKey } from './notify-workflows.ts';
import { scheduleDueReminders } from './schedule-due-reminders.ts';

let h: TestApp;
let a: TestClient;
let b: TestClient;
let db: pg.Pool;
let contactId: string;
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

before(async () => {
  h = await startTestApp();
  a = await h.createClient('Appointments A');
  b = await h.createClient('Appointments B');
  db = await tenantDbById(h.ctx, a.id);
  for (const trigger of ['appointment_confirmed', 'appointment_reminder', 'appointment_rescheduled', 'appointment_cancelled']) {
    const res = await call(a, 'POST', '/api/saas/workflows', { name: `WF ${trigger}`, trigger, channel: 'whatsapp', templateName: trigger, language: 'en_US', delayMinutes: 0, isActive: true });
    assert.equal(res.statusCode, 201, res.body);
  }
  contactId = (await call(a, 'POST', '/api/crm/contacts', { name: 'Meera', phone: '+91 98765 43210', timezone: 'Asia/Kolkata' })).json().id;
});
after(() => h.close());

async function call(client: TestClient, method: string, url: string, payload?: unknown) {
  return h.app.inject({ method: method as 'GET', url, headers: client.headers, payload: payload as object });
}

async function reminderJobs(appointmentId: string) {
  const { rows } = await db.query(`SELECT trigger, status, run_at, callback_metadata FROM workflow_jobs WHERE module_id = $1 ORDER BY trigger, run_at`, [appointmentId]);
  return rows as Array<{ trigger: string; status: string; run_at: Date; callback_metadata: { reminderKey: string; moduleType: string } }>;
}

test('reminder keys follow the original naming', () => {
  assert.equal(reminderKey(60), '1h');
  assert.equal(reminderKey(15), '15m');
  assert.equal(reminderKey(1440), '1d');
  assert.equal(reminderKey(90), '90m');
});

test('booking confirms and schedules reminders; reschedule moves them; cancel drops them', async () => {
  const start = Date.now() + 5 * HOUR;
  const booked = await call(a, 'POST', '/api/crm/appointments', { contactId, title: 'Consultation', startsAt: iso(start), endsAt: iso(start + HOUR), reminderOffsets: [60, 15], meetingUrl: 'https://meet.example/abc' });
  assert.equal(booked.statusCode, 201, booked.body);
  const appt = booked.json();
  assert.equal(appt.timezone, 'Asia/Kolkata');
  assert.deepEqual(appt.reminderOffsets, [60, 15]);
  assert.deepEqual(Object.keys(appt.remindersScheduled).sort(), ['15', '60']);

  let jobs = await reminderJobs(appt.id);
  const reminders = jobs.filter((j) => j.trigger === 'appointment_reminder');
  assert.deepEqual(reminders.map((j) => j.run_at.toISOString()), [iso(start - 60 * 60_000), iso(start - 15 * 60_000)]);
  assert.deepEqual(reminders.map((j) => j.callback_metadata.reminderKey), ['1h', '15m']);
  assert.ok(reminders.every((j) => j.callback_metadata.moduleType === 'Appointment' && j.status === 'pending'));
  assert.equal(jobs.filter((j) => j.trigger === 'appointment_confirmed').length, 1);
  const { rows: vars } = await db.query(`SELECT variables FROM workflow_jobs WHERE module_id = $1 AND trigger = 'appointment_reminder' LIMIT 1`, [appt.id]);
  assert.equal(vars[0].variables[0], 'Meera');
  assert.match(vars[0].variables[2], / at \d{2}:\d{2} (GMT\+5:30|IST)/);
  assert.equal(vars[0].variables[3], 'https://meet.example/abc');

  // Reschedule a day later: the same reminder rows move, none are added.
  const later = start + 24 * HOUR;
  const moved = await call(a, 'POST', `/api/crm/appointments/${appt.id}/reschedule`, { startsAt: iso(later), endsAt: iso(later + HOUR) });
  assert.equal(moved.statusCode, 200, moved.body);
  jobs = await reminderJobs(appt.id);
  const movedReminders = jobs.filter((j) => j.trigger === 'appointment_reminder');
  assert.deepEqual(movedReminders.map((j) => j.run_at.toISOString()), [iso(later - 60 * 60_000), iso(later - 15 * 60_000)]);
  assert.ok(movedReminders.every((j) => j.status === 'pending'));
  assert.equal(jobs.filter((j) => j.trigger === 'appointment_rescheduled').length, 1);
  assert.equal(moved.json().remindersScheduled['60'], iso(later));

  // A repeated sweep schedules nothing more (once per appointment and key).
  const swept = await scheduleDueReminders(h.ctx, db, a.id, { now: new Date(), horizonHours: 48 });
  assert.equal(swept.reminders, 0);

  const cancelled = await call(a, 'POST', `/api/crm/appointments/${appt.id}/cancel`, { reason: 'patient ill' });
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.equal(cancelled.json().status, 'cancelled');
  jobs = await reminderJobs(appt.id);
  assert.ok(jobs.filter((j) => j.trigger === 'appointment_reminder').every((j) => j.status === 'cancelled'));
  assert.equal((await call(a, 'POST', `/api/crm/appointments/${appt.id}/reschedule`, { startsAt: iso(later), endsAt: iso(later + HOUR) })).statusCode, 409);

  const timeline = (await call(a, 'GET', `/api/crm/contacts/${contactId}/timeline?types=appointment_booked,appointment_rescheduled,appointment_cancelled`)).json();
  assert.deepEqual(timeline.items.map((i: { type: string }) => i.type), ['appointment_cancelled', 'appointment_rescheduled', 'appointment_booked']);
});

test('the reminders sweep covers appointments written straight into the tenant database', async () => {
  const start = Date.now() + 3 * HOUR;
  const { rows } = await db.query(`INSERT INTO appointments (contact_id, title, starts_at, ends_at, timezone, reminder_offsets) VALUES ($1, 'Direct', $2, $3, 'Asia/Kolkata', '{120,30}') RETURNING id`, [contactId, new Date(start), new Date(start + HOUR)]);
  const far = await db.query(`INSERT INTO appointments (contact_id, title, starts_at, ends_at, reminder_offsets) VALUES ($1, 'Far away', $2, $2, '{60}') RETURNING id`, [contactId, new Date(start + 30 * 24 * HOUR)]);
  const first = await scheduleDueReminders(h.ctx, db, a.id, { now: new Date(), horizonHours: 48 });
  assert.equal(first.reminders, 2);
  const jobs = (await reminderJobs(rows[0].id)).filter((j) => j.trigger === 'appointment_reminder');
  assert.deepEqual(jobs.map((j) => j.run_at.toISOString()), [iso(start - 120 * 60_000), iso(start - 30 * 60_000)]);
  assert.equal((await reminderJobs(far.rows[0].id)).length, 0);
  const second = await scheduleDueReminders(h.ctx, db, a.id, { now: new Date(), horizonHours: 48 });
  assert.equal(second.reminders, 0);
  assert.equal((await reminderJobs(rows[0].id)).filter((j) => j.trigger === 'appointment_reminder').length, 2);
});

test('status changes feed scoring; validation; cross-client isolation', async () => {
  const start = Date.now() + 2 * HOUR;
  const lead = (await call(a, 'POST', '/api/crm/leads', { contact: { name: 'Scored Patient', phone: '+91 91234 56789' } })).json();
  const appt = (await call(a, 'POST', '/api/crm/appointments', { contactId: lead.contactId, startsAt: iso(start), endsAt: iso(start + HOUR), status: 'scheduled' })).json();
  assert.equal(appt.status, 'scheduled');
  const attended = await call(a, 'PATCH', `/api/crm/appointments/${appt.id}`, { status: 'attended', notes: 'went well' });
  assert.equal(attended.statusCode, 200, attended.body);
  const score = await call(a, 'POST', `/api/crm/scoring/${lead.id}/recalculate`);
  assert.ok(score.json().breakdown.rules.some((r: { rule: string }) => r.rule === 'appointment_attended'));

  assert.equal((await call(a, 'POST', '/api/crm/appointments', { contactId, startsAt: iso(start), endsAt: iso(start - HOUR) })).statusCode, 400);
  assert.equal((await call(a, 'POST', '/api/crm/appointments', { contactId, startsAt: iso(start), endsAt: iso(start), timezone: 'Nowhere/City' })).statusCode, 400);
  assert.equal((await call(a, 'POST', '/api/crm/appointments', { contactId, startsAt: 'tomorrow', endsAt: iso(start) })).statusCode, 400);
  assert.equal((await call(b, 'POST', '/api/crm/appointments', { contactId, startsAt: iso(start), endsAt: iso(start) })).statusCode, 404);
  for (const [method, url, body] of [
    ['GET', `/api/crm/appointments/${appt.id}`],
    ['PATCH', `/api/crm/appointments/${appt.id}`, { title: 'x' }],
    ['POST', `/api/crm/appointments/${appt.id}/reschedule`, { startsAt: iso(start), endsAt: iso(start) }],
    ['POST', `/api/crm/appointments/${appt.id}/cancel`, {}],
  ] as const) {
    assert.equal((await call(b, method, url, body)).statusCode, 404, `${method} ${url}`);
  }
  const list = (await call(a, 'GET', `/api/crm/appointments?contactId=${lead.contactId}`)).json();
  assert.equal(list.items.length, 1);
  assert.equal((await call(b, 'GET', '/api/crm/appointments')).json().items.length, 0);
});
