/**
 * Reschedules, cancels and updates appointments. A reschedule fires
 * `appointment_rescheduled` (the engine moves the pending reminders to the new
 * start) and schedules any reminder not yet scheduled; a cancellation fires
 * `appointment_cancelled` (the engine drops the pending ones).
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import type { Db } from '../../platform/db/pool.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { recordDomainEvent } from '../../platform/events.ts';
import { followAppointmentChange } from '../../meet/index.ts';
import { findAppointment, presentAppointment, type AppointmentRow } from './appointments.repo.ts';
import { checkTimes } from './book-appointment.ts';
import { fireAppointmentTrigger, scheduleReminders } from './notify-workflows.ts';

function notFound(): AppError {
  return new AppError('APPOINTMENT_NOT_FOUND', { message: 'Appointment not found' });
}

export async function showAppointment(db: Db, id: string) {
  const row = await findAppointment(db, id);
  if (!row) throw notFound();
  return presentAppointment(row);
}

async function change(pool: pg.Pool, id: string, fn: (tx: pg.PoolClient, row: AppointmentRow) => Promise<void>): Promise<{ before: AppointmentRow; after: AppointmentRow }> {
  return withTransaction(pool, async (tx) => {
    const before = await findAppointment(tx, id, { forUpdate: true });
    if (!before) throw notFound();
    await fn(tx, before);
    return { before, after: (await findAppointment(tx, id))! };
  });
}

async function activity(tx: pg.PoolClient, row: AppointmentRow, type: string, summary: string, data: Record<string, unknown>): Promise<void> {
  await tx.query(`INSERT INTO activities (contact_id, lead_id, type, summary, data, actor) VALUES ($1, $2, $3, $4, $5, 'api')`, [row.contact_id, row.lead_id, type, summary, { appointmentId: row.id, ...data }]);
}

export async function rescheduleAppointment(ctx: AppContext, pool: pg.Pool, clientId: string, id: string, input: { startsAt: string; endsAt: string; timezone?: string }) {
  checkTimes(input.startsAt, input.endsAt, input.timezone);
  const { before, after } = await change(pool, id, async (tx, row) => {
    if (row.status === 'cancelled') throw new AppError('CONFLICT', { message: 'A cancelled appointment cannot be rescheduled' });
    await tx.query('UPDATE appointments SET starts_at = $2, ends_at = $3, timezone = coalesce($4, timezone), updated_at = now() WHERE id = $1', [id, input.startsAt, input.endsAt, input.timezone ?? null]);
    await activity(tx, row, 'appointment_rescheduled', `Rescheduled ${row.title} to ${new Date(input.startsAt).toISOString()}`, { from: row.starts_at, to: input.startsAt });
    await recordDomainEvent(tx, 'appointment.rescheduled', { appointmentId: id, contactId: row.contact_id, leadId: row.lead_id, from: row.starts_at, to: input.startsAt });
  });
  ctx.domainEvents.recorded(clientId);
  if (before.starts_at.getTime() !== after.starts_at.getTime()) await fireAppointmentTrigger(ctx, clientId, after, 'appointment_rescheduled');
  // Its Meet meeting (if any) moves with it.
  await followAppointmentChange(ctx, { clientId, appointmentId: id, start: after.starts_at, end: after.ends_at, timeZone: after.timezone });
  await scheduleReminders(ctx, pool, clientId, after);
  const view = presentAppointment((await findAppointment(pool, id))!);
  ctx.realtime.publish({ clientId, event: 'appointment.updated', payload: view });
  return view;
}

export async function cancelAppointment(ctx: AppContext, pool: pg.Pool, clientId: string, id: string, input: { reason?: string }) {
  const { before, after } = await change(pool, id, async (tx, row) => {
    if (row.status === 'cancelled') return;
    await tx.query(`UPDATE appointments SET status = 'cancelled', updated_at = now() WHERE id = $1`, [id]);
    await activity(tx, row, 'appointment_cancelled', `Cancelled ${row.title}`, { reason: input.reason ?? null });
    await recordDomainEvent(tx, 'appointment.cancelled', { appointmentId: id, contactId: row.contact_id, leadId: row.lead_id, reason: input.reason ?? null });
  });
  if (before.status !== 'cancelled') {
    ctx.domainEvents.recorded(clientId);
    await fireAppointmentTrigger(ctx, clientId, after, 'appointment_cancelled');
    await followAppointmentChange(ctx, { clientId, appointmentId: id, cancelled: true });
  }
  const view = presentAppointment(after);
  ctx.realtime.publish({ clientId, event: 'appointment.updated', payload: view });
  return view;
}

export interface UpdateAppointmentOptions {
  title?: string;
  location?: string | null;
  meetingUrl?: string | null;
  notes?: string | null;
  reminderOffsets?: number[];
  /** Outcome or confirmation: scheduled → confirmed, then attended / no_show. */
  status?: 'scheduled' | 'confirmed' | 'attended' | 'no_show';
}

export async function updateAppointment(ctx: AppContext, pool: pg.Pool, clientId: string, id: string, input: UpdateAppointmentOptions) {
  const { before, after } = await change(pool, id, async (tx, row) => {
    if (row.status === 'cancelled') throw new AppError('CONFLICT', { message: 'A cancelled appointment cannot be changed' });
    await tx.query(
      `UPDATE appointments SET title = coalesce($2, title), location = CASE WHEN $3 THEN $4 ELSE location END,
         meeting_url = CASE WHEN $5 THEN $6 ELSE meeting_url END, notes = CASE WHEN $7 THEN $8 ELSE notes END,
         reminder_offsets = coalesce($9, reminder_offsets), status = coalesce($10, status), updated_at = now() WHERE id = $1`,
      [id, input.title ?? null, input.location !== undefined, input.location ?? null, input.meetingUrl !== undefined, input.meetingUrl ?? null,
        input.notes !== undefined, input.notes ?? null, input.reminderOffsets ? [...new Set(input.reminderOffsets)].sort((a, b) => b - a) : null, input.status ?? null]);
    if (input.status && input.status !== row.status) {
      await activity(tx, row, 'appointment_status', `${row.title}: ${row.status} → ${input.status}`, { from: row.status, to: input.status });
      await recordDomainEvent(tx, 'appointment.status_changed', { appointmentId: id, contactId: row.contact_id, leadId: row.lead_id, from: row.status, to: input.status });
    }
  });
  if (after.status !== before.status) {
    ctx.domainEvents.recorded(clientId);
    if (after.status === 'confirmed' && before.status === 'scheduled') await fireAppointmentTrigger(ctx, clientId, after, 'appointment_confirmed');
  }
  await scheduleReminders(ctx, pool, clientId, after);
  const view = presentAppointment((await findAppointment(pool, id))!);
  ctx.realtime.publish({ clientId, event: 'appointment.updated', payload: view });
  return view;
}
