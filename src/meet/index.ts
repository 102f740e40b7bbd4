/**
 * The meet domain: per-client Google connections and meetings (calendar
 * events with Meet links). Other domains import from here only.
 *
 * For appointments (all idempotent, keyed by the appointment id):
 *   createMeetingForAppointment(ctx, { clientId, appointmentId, title, start, end, timeZone, attendees? })
 *   rescheduleMeeting(ctx, { clientId, appointmentId, start, end })
 *   cancelMeeting(ctx, { clientId, appointmentId })
 *   syncAppointmentMeeting(ctx, { clientId, appointmentId, start, end, timeZone?, cancelled? })  (no-op without a meeting)
 *   followAppointmentChange(ctx, same input)  (never throws: a Google failure is retried by a job)
 */
import type { AppContext } from '../context.ts';
import { createMeeting, type CreateMeetingInput } from './create-meeting.ts';
import type { MeetingView } from './present-meeting.ts';

export { registerMeetRoutes } from './routes.ts';
export { checkConferenceJob } from './check-conference.job.ts';
export { createMeetAction } from './create-meet.action.ts';
export { createMeeting, type CreateMeetingInput } from './create-meeting.ts';
export { rescheduleMeeting, type RescheduleMeetingInput } from './reschedule-meeting.ts';
export { cancelMeeting, type CancelMeetingInput } from './cancel-meeting.ts';
export { getAccessToken } from './get-access-token.ts';
export { syncAppointmentMeeting, followAppointmentChange, type SyncAppointmentMeetingInput } from './sync-appointment-meeting.ts';
export { syncAppointmentMeetingJob } from './sync-appointment-meeting.job.ts';
export { revokeGoogleOnOffboarding } from './offboard-google.ts';
export type { MeetingView } from './present-meeting.ts';

export interface AppointmentMeetingInput extends Omit<CreateMeetingInput, 'appointmentId' | 'idempotencyKey'> {
  appointmentId: string;
}

/** The appointment's meeting (created once: calling again returns the same meeting). */
export async function createMeetingForAppointment(ctx: AppContext, input: AppointmentMeetingInput): Promise<MeetingView> {
  return createMeeting(ctx, { ...input, idempotencyKey: `appointment:${input.appointmentId}` });
}

