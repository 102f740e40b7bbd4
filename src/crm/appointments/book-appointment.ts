/**
 * Books an appointment for a contact, records an activity and an
 * `appointment.booked` domain event, then (after commit) fires
 * `appointment_confirmed` for confirmed bookings and schedules the reminders.
 * With `meet: true` the confirmation carries the Meet code; when Google is still creating the
 * conference after the bounded wait, the confirmation is held back and sent by the
 * `meeting.ready` / `meeting.failed` subscriber (`meeting-settled.ts`), which also stores the link.
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { recordDomainEvent } from '../../platform/events.ts';
import { createMeetingForAppointment } from '../../meet/index.ts';
import { isTimeZone } from '../shared/contact-input.ts';
import { findAppointment, presentAppointment } from './appointments.repo.ts';
import { fireAppointmentTrigger, scheduleReminders } from './notify-workflows.ts';

export interface BookAppointmentOptions {
  contactId: string;
  title?: string;
  startsAt: string;
  endsAt: string;
  /** IANA zone (default: the contact's, else UTC); reminders and template variables use it. */
  timezone?: string;
  status?: 'scheduled' | 'confirmed';
  location?: string | null;
  meetingUrl?: string | null;
  /** Create a Meet link (stored as meetingUrl) before the confirmation goes out. */
  meet?: boolean;
  /** Minutes before the start (default [60]). */
  reminderOffsets?: number[];
  notes?: string | null;
}

export function checkTimes(startsAt: string, endsAt: string, timezone?: string): void {
  if (new Date(endsAt).getTime() < new Date(startsAt).getTime()) throw new AppError('VALIDATION_FAILED', { message: 'endsAt must not be before startsAt' });
  if (timezone && !isTimeZone(timezone)) throw new AppError('VALIDATION_FAILED', { message: `timezone ${JSON.stringify(timezone)} is not an IANA time zone` });
}

export async function bookAppointment(ctx: AppContext, pool: pg.Pool, clientId: string, input: BookAppointmentOptions) {
  checkTimes(input.startsAt, input.endsAt, input.timezone);
  const row = await withTransaction(pool, async (tx) => {
    const { rows: contacts } = await tx.query<{ timezone: string | null; lead_id: string | null; email: string | null }>(
      'SELECT c.timezone, c.email, l.id AS lead_id FROM contacts c LEFT JOIN leads l ON l.contact_id = c.id WHERE c.id = $1', [input.contactId]);
    if (!contacts[0]) throw new AppError('CONTACT_NOT_FOUND', { message: 'Contact not found' });
    const timezone = input.timezone ?? contacts[0].timezone ?? 'UTC';
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO appointments (contact_id, lead_id, title, starts_at, ends_at, timezone, status, location, meeting_url, reminder_offsets, notes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
      [input.contactId, contacts[0].lead_id, input.title ?? 'Appointment', input.startsAt, input.endsAt, timezone, input.status ?? 'confirmed',
        input.location ?? null, input.meetingUrl ?? null, [...new Set(input.reminderOffsets ?? [60])].sort((a, b) => b - a), input.notes ?? null]);
    const created = (await findAppointment(tx, rows[0].id))!;
    await tx.query(`INSERT INTO activities (contact_id, lead_id, type, summary, data, actor) VALUES ($1, $2, 'appointment_booked', $3, $4, 'api')`,
      [created.contact_id, created.lead_id, `Booked ${created.title} for ${created.starts_at.toISOString()}`, { appointmentId: created.id, startsAt: created.starts_at, timezone }]);
    await recordDomainEvent(tx, 'appointment.booked', { appointmentId: created.id, contactId: created.contact_id, leadId: created.lead_id, startsAt: created.starts_at, status: created.status });
    return { ...created, contact_email: contacts[0].email };
  });
  ctx.domainEvents.recorded(clientId);
  let meet: { error: { code: string; message: string } } | { status: 'pending'; eventId: string; message: string } | undefined;
  if (input.meet) {
    try {
      const meeting = await createMeetingForAppointment(ctx, {
        clientId, appointmentId: row.id, title: row.title, start: row.starts_at, end: row.ends_at, timeZone: row.timezone,
        attendees: row.contact_email ? [{ email: row.contact_email }] : [],
      });
      if (meeting.meetUrl) {
        await pool.query('UPDATE appointments SET meeting_url = $2, updated_at = now() WHERE id = $1', [row.id, meeting.meetUrl]);
        row.meeting_url = meeting.meetUrl;
      } else if (meeting.status === 'pending') {
        if (row.status === 'confirmed') await pool.query('UPDATE appointments SET confirmation_awaits_meet = true WHERE id = $1', [row.id]);
        meet = {
          status: 'pending', eventId: meeting.eventId,
          message: 'Google is still creating the Meet conference: the link is stored on the appointment (appointment.updated) and the confirmation sent once it exists',
        };
      }
    } catch (err) {
      // The appointment stands; the caller sees why there is no link (e.g. GOOGLE_NOT_CONNECTED).
      const e = err as { code?: string; message: string };
      meet = { error: { code: e.code ?? 'INTERNAL', message: e.message } };
      ctx.logger.warn({ clientId, appointmentId: row.id, err: e.message }, 'could not create the appointment\'s Meet link');
    }
  }
  // A confirmation waiting for its Meet link is fired by the meeting-settled subscriber.
  if (row.status === 'confirmed' && !(meet && 'status' in meet)) await fireAppointmentTrigger(ctx, clientId, row, 'appointment_confirmed');
  await scheduleReminders(ctx, pool, clientId, row);
  const view = presentAppointment((await findAppointment(pool, row.id))!);
  ctx.realtime.publish({ clientId, event: 'appointment.created', payload: view });
  return meet ? { ...view, meet } : view;
}
