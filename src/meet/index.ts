/**
 * The meet domain: per-client Google connections and meetings (calendar
 * events with Meet links). Other domains import from here only.
 *
 * For appointments (all idempotent, keyed by the appointment id):
 *   createMeetingForAppointment(ctx, { clientId, appointmentId, title, start, end, timeZone, attendees? })
 *   rescheduleMeeting(ctx, { clientId, appointmentId, start, end })
 *   cancelMeeting(ctx, { clientId, appointmentId })
 *   syncAppointmentMeeting(ctx, { clientId, appointmentId, start, end, timeZone?, cancelled? })  (no-op without a meeting)
 */
import type { AppContext } from '../context.ts';
import { isAppError } from '../platform/errors.ts';
import { cancelMeeting } from './cancel-meeting.ts';
import { createMeeting, type CreateMeetingInput } from './create-meeting.ts';
import { rescheduleMeeting } from './reschedule-meeting.ts';
import type { MeetingView } from './present-meeting.ts';

export { registerMeetRoutes } from './routes.ts';
export { checkConferenceJob } from './check-conference.job.ts';
export { createMeetAction } from './create-meet.action.ts';
export { createMeeting, type CreateMeetingInput } from './create-meeting.ts';
export { rescheduleMeeting, type RescheduleMeetingInput } from './reschedule-meeting.ts';
export { cancelMeeting, type CancelMeetingInput } from './cancel-meeting.ts';
export { getAccessToken } from './get-access-token.ts';
export type { MeetingView } from './present-meeting.ts';

export interface AppointmentMeetingInput extends Omit<CreateMeetingInput, 'appointmentId' | 'idempotencyKey'> {
  appointmentId: string;
}

/** The appointment's meeting (created once: calling again returns the same meeting). */
export async function createMeetingForAppointment(ctx: AppContext, input: AppointmentMeetingInput): Promise<MeetingView> {
  return createMeeting(ctx, { ...input, idempotencyKey: `appointment:${input.appointmentId}` });
}

export interface SyncAppointmentMeetingInput {
  clientId: string;
  appointmentId: string;
  /** The appointment was cancelled: cancel its meeting. */
  cancelled?: boolean;
  start?: string | Date;
  end?: string | Date;
  timeZone?: string;
}

/**
 * Keeps an appointment's meeting in step after the appointment changed: cancels it, or moves it to
 * `start`/`end`. Returns null (and does nothing) when the appointment has no meeting, so the CRM can
 * call it after every reschedule or cancellation.
 */
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
