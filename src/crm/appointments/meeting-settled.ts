/**
 * Subscriber to `meeting.ready` / `meeting.failed` (recorded by the meet domain when a conference
 * settles, also long after the booking call stopped waiting for Google): the appointment gets the
 * Meet link (only when it has none), its pending reminders get the new template variables (the
 * meeting code), dashboards get `appointment.updated`, and the `appointment_confirmed` trigger a
 * `meet: true` booking held back for the link (`confirmation_awaits_meet`) fires now (without the
 * link when the conference failed). Appointments whose confirmation was not held back get no
 * confirmation from here; the trigger is keyed by appointment, so a re-dispatch sends nothing twice.
 */
import type { AppContext } from '../../context.ts';
import type { DomainEventSubscriber } from '../../platform/events.ts';
import { tenantDbById } from '../../tenants/index.ts';
import { refreshModuleVariables } from '../../workflows/index.ts';
import { findAppointment, presentAppointment } from './appointments.repo.ts';
import { appointmentVariables, fireAppointmentTrigger } from './notify-workflows.ts';

export const appointmentMeetingSubscriber: DomainEventSubscriber<AppContext> = {
  name: 'crm.appointment-meeting',
  events: ['meeting.ready', 'meeting.failed'],
  async handler(ctx, { clientId, event }) {
    const appointmentId = typeof event.data.appointmentId === 'string' ? event.data.appointmentId : null;
    if (!appointmentId) return;
    const pool = await tenantDbById(ctx, clientId);
    const meetUrl = event.type === 'meeting.ready' && typeof event.data.meetUrl === 'string' ? event.data.meetUrl : null;
    const filled = meetUrl
      ? (await pool.query(
        `UPDATE appointments SET meeting_url = $2, updated_at = now() WHERE id = $1 AND status <> 'cancelled' AND coalesce(meeting_url, '') = ''`,
        [appointmentId, meetUrl],
      )).rowCount
      : 0;
    const row = await findAppointment(pool, appointmentId);
    if (!row) return;
    if (filled) {
      await refreshModuleVariables(ctx, clientId, row.id, appointmentVariables(row));
      ctx.realtime.publish({ clientId, event: 'appointment.updated', payload: presentAppointment(row) });
    }
    if (!row.confirmation_awaits_meet) return;
    // Fire, then clear: a retried dispatch fires again, which the trigger's key makes a no-op.
    if (row.status === 'confirmed') await fireAppointmentTrigger(ctx, clientId, row, 'appointment_confirmed');
    await pool.query('UPDATE appointments SET confirmation_awaits_meet = false WHERE id = $1', [row.id]);
  },
};
