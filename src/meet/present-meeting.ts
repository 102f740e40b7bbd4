/** The API shape of a meeting. */
import type { MeetingRow } from './meetings.repo.ts';

export function presentMeeting(row: MeetingRow) {
  return {
    id: row.id,
    eventId: row.event_id,
    meetUrl: row.meet_url,
    meetingCode: row.meeting_code,
    status: row.status,
    title: row.title,
    description: row.description,
    start: row.start_at.toISOString(),
    end: row.end_at.toISOString(),
    timeZone: row.time_zone,
    attendees: row.attendees,
    appointmentId: row.appointment_id,
    htmlLink: row.html_link,
    provider: row.provider,
    /** True for links made by the fake provider (no Google credentials on this server): they lead nowhere. */
    sandbox: row.provider === 'sandbox',
  };
}

export type MeetingView = ReturnType<typeof presentMeeting>;
