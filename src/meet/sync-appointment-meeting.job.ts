/**
 * Retries moving/cancelling an appointment's meeting when doing it inline
 * failed (Google unavailable, token refresh failing …), so the appointment
 * change itself never fails because of Google.
 */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { syncAppointmentMeeting, type SyncAppointmentMeetingInput } from './sync-appointment-meeting.ts';

export interface SyncAppointmentMeetingData {
  clientId: string;
  appointmentId: string;
  cancelled?: boolean;
  start?: string;
  end?: string;
  timeZone?: string;
}

export const syncAppointmentMeetingJob = defineJob<SyncAppointmentMeetingData, AppContext>({
  name: 'meet.sync-appointment',
  retry: { attempts: 5, backoffSeconds: 30 },
  async handler(data, ctx) {
    const meeting = await syncAppointmentMeeting(ctx, data as SyncAppointmentMeetingInput);
    return { eventId: meeting?.eventId ?? null, status: meeting?.status ?? null };
  },
});
