/**
 * The bridge from appointments to the workflow engine: confirmation,
 * rescheduling and cancellation triggers, and one `appointment_reminder`
 * trigger per reminder offset (baseTime = start, delayMinutes = -offset,
 * callbackMetadata { moduleId, moduleType: 'Appointment', reminderKey }). The
 * engine dedupes on (trigger, phone, moduleId, reminderKey), so each reminder
 * is sent once per appointment and key; a reschedule moves the pending ones
 * and a cancellation drops them.
 */
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { triggerWorkflows, type TriggerResult } from '../../workflows/index.ts';
import type { AppointmentRow } from './appointments.repo.ts';

/** 60 → '1h', 15 → '15m', 1440 → '1d' (the original system's reminder keys). */
export function reminderKey(offsetMinutes: number): string {
  if (offsetMinutes > 0 && offsetMinutes % 1440 === 0) return `${offsetMinutes / 1440}d`;
  if (offsetMinutes > 0 && offsetMinutes % 60 === 0) return `${offsetMinutes / 60}h`;
  return `${offsetMinutes}m`;
}

/** `abc-defg-hij` from a Google Meet link (the original confirmation template's 4th variable is the meeting code). */
export function meetingCodeOf(url: string | null): string | null {
  const match = url ? /^https:\/\/meet\.google\.com\/([a-z]{3}-[a-z]{4}-[a-z]{3})(?:[/?#]|$)/.exec(url) : null;
  return match ? match[1] : null;
}

/** Template variables: contact name, title, "<date> at <time>" in the appointment's time zone, meeting code (Meet), link or location. */
export function appointmentVariables(row: AppointmentRow): string[] {
  const when = new Intl.DateTimeFormat('en-GB', { timeZone: row.timezone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(row.starts_at);
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: row.timezone, hour: '2-digit', minute: '2-digit', hour12: false, timeZoneName: 'short' }).format(row.starts_at);
  return [row.contact_name ?? '', row.title, `${when} at ${time}`, meetingCodeOf(row.meeting_url) ?? row.meeting_url ?? row.location ?? ''];
}

type Trigger = 'appointment_confirmed' | 'appointment_rescheduled' | 'appointment_cancelled';

/** Fires a lifecycle trigger; null when the contact has no phone. */
export async function fireAppointmentTrigger(ctx: AppContext, clientId: string, row: AppointmentRow, trigger: Trigger): Promise<TriggerResult | null> {
  if (!row.contact_phone) return null;
  return triggerWorkflows(ctx, {
    clientId, trigger, phone: row.contact_phone, variables: appointmentVariables(row),
    baseTime: trigger === 'appointment_rescheduled' ? row.starts_at.toISOString() : undefined,
    callbackMetadata: { moduleId: row.id, moduleType: 'Appointment', reminderKey: trigger === 'appointment_confirmed' ? 'confirmed' : trigger.replace('appointment_', '') },
  });
}

/**
 * Schedules the reminders not yet scheduled for this start time and records
 * them in `reminders_scheduled` (offset → start). A reminder with no active
 * workflow is left unrecorded so the reminders sweep retries it once one exists.
 * @returns the offsets scheduled now
 */
export async function scheduleReminders(ctx: AppContext, db: Db, clientId: string, row: AppointmentRow): Promise<number[]> {
  if (!row.contact_phone || !['scheduled', 'confirmed'].includes(row.status)) return [];
  const start = row.starts_at.toISOString();
  const done: number[] = [];
  for (const offset of row.reminder_offsets) {
    if (row.reminders_scheduled[String(offset)] === start) continue;
    const result = await triggerWorkflows(ctx, {
      clientId, trigger: 'appointment_reminder', phone: row.contact_phone, variables: appointmentVariables(row),
      baseTime: start, delayMinutes: -offset,
      callbackMetadata: { moduleId: row.id, moduleType: 'Appointment', reminderKey: reminderKey(offset) },
    });
    if (result.jobs.length > 0) done.push(offset);
  }
  if (done.length) {
    const patch = Object.fromEntries(done.map((o) => [String(o), start]));
    await db.query('UPDATE appointments SET reminders_scheduled = reminders_scheduled || $2::jsonb WHERE id = $1 AND starts_at = $3', [row.id, patch, row.starts_at]);
  }
  return done;
}
