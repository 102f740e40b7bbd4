/**
 * Keeps an appointment's meeting in step with the appointment: moved when it
 * is rescheduled, cancelled when it is cancelled. No-op for appointments
 * without a meeting.
 */
import type { AppContext } from '../context.ts';
import { isAppError } from '../platform/errors.ts';
import { cancelMeeting } from './cancel-meeting.ts';
import type { MeetingView } from './present-meeting.ts';
import { rescheduleMeeting } from './reschedule-meeting.ts';
import { syncAppointmentMeetingJob } from './sync-appointment-meeting.job.ts';

export interface SyncAppointmentMeetingInput {
  clientId: string;
  appointmentId: string;
  /** The appointment was cancelled: cancel its meeting. */
  cancelled?: boolean;
  start?: string | Date;
  end?: string | Date;
  timeZone?: string;
}

/** Moves or cancels the appointment's meeting; null (nothing done) when it has none. Throws on Google failures. */
export async function syncAppointmentMeeting(ctx: AppContext, input: SyncAppointmentMeetingInput): Promise<MeetingView | null> {
  try {
    if (input.cancelled) return await cancelMeeting(ctx, { clientId: input.clientId, appointmentId: input.appointmentId });
    if (input.start === undefined || input.end === undefined) return null;
    return await rescheduleMeeting(ctx, { clientId: input.clientId, appointmentId: input.appointmentId, start: input.start, end: input.end, timeZone: input.timeZone });
  } catch (err) {
    if (isAppError(err, 'MEETING_NOT_FOUND')) return null;
    throw err;
  }
}

/**
 * The CRM's hook after an appointment changed: syncs inline, and when that fails hands the change to
 * the `meet.sync-appointment` job (retried with backoff) instead of failing the appointment change.
 */
export async function followAppointmentChange(ctx: AppContext, input: SyncAppointmentMeetingInput): Promise<MeetingView | null> {
  try {
    return await syncAppointmentMeeting(ctx, input);
  } catch (err) {
    ctx.logger.warn({ clientId: input.clientId, appointmentId: input.appointmentId, err: (err as Error).message }, 'could not update the appointment\'s meeting now; retrying in the background');
    await ctx.queue.enqueue(syncAppointmentMeetingJob, {
      clientId: input.clientId, appointmentId: input.appointmentId, cancelled: input.cancelled,
      start: input.start === undefined ? undefined : new Date(input.start).toISOString(),
      end: input.end === undefined ? undefined : new Date(input.end).toISOString(),
      timeZone: input.timeZone,
    });
    return null;
  }
}
