/**
 * Creates a meeting: a calendar event with a Meet conference on the client's
 * Google account (or a sandbox link). Idempotent: the idempotency key (or the
 * appointment id) fixes the event id, so repeating the call returns the same
 * meeting and a retried insert never makes a second event.
 */
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { tenantDbById } from '../tenants/index.ts';
import { eventIdFor } from './event-id.ts';
import { providerFor, providerOf } from './meeting-provider.ts';
import { deleteMeeting, insertMeeting, type Attendee } from './meetings.repo.ts';
import { presentMeeting, type MeetingView } from './present-meeting.ts';
import { settleConference } from './settle-conference.ts';

export interface CreateMeetingInput {
  clientId: string;
  title: string;
  /** ISO 8601 date-times (with offset or Z). */
  start: string | Date;
  end: string | Date;
  /** IANA time zone shown to attendees, e.g. Asia/Kolkata. */
  timeZone: string;
  attendees?: Attendee[];
  description?: string | null;
  /** Links the meeting to a CRM appointment (also the default idempotency key). */
  appointmentId?: string | null;
  /** Same key → same meeting. Default `appointment:<appointmentId>`, else a fresh one. */
  idempotencyKey?: string;
}

/** Checks and normalises start/end/time zone; throws VALIDATION_FAILED. */
export function parseTimes(input: { start: string | Date; end: string | Date; timeZone: string }): { start: Date; end: Date; timeZone: string } {
  const start = new Date(input.start);
  const end = new Date(input.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw new AppError('VALIDATION_FAILED', { message: 'start and end must be ISO 8601 date-times' });
  if (end <= start) throw new AppError('VALIDATION_FAILED', { message: 'end must be after start' });
  try {
    new Intl.DateTimeFormat('en', { timeZone: input.timeZone });
  } catch {
    throw new AppError('VALIDATION_FAILED', { message: `Unknown time zone ${input.timeZone}` });
  }
  return { start, end, timeZone: input.timeZone };
}

export async function createMeeting(ctx: AppContext, input: CreateMeetingInput): Promise<MeetingView> {
  const times = parseTimes(input);
  const key = input.idempotencyKey ?? (input.appointmentId ? `appointment:${input.appointmentId}` : randomUUID());
  const eventId = eventIdFor(input.clientId, key);
  const db = await tenantDbById(ctx, input.clientId);
  const { row, created } = await insertMeeting(db, {
    eventId,
    idempotencyKey: key,
    appointmentId: input.appointmentId ?? null,
    provider: providerFor(ctx, input.clientId).kind,
    title: input.title,
    description: input.description ?? null,
    ...times,
    attendees: input.attendees ?? [],
    requestId: randomUUID(),
  });
  // A repeated call: a settled meeting is returned as it is; a pending one is pushed on below.
  if (!created && row.status !== 'pending') return presentMeeting(row);
  const provider = providerOf(ctx, input.clientId, row.provider);
  let state;
  try {
    state = await provider.create({
      eventId, requestId: row.request_id, title: row.title, description: row.description,
      start: row.start_at, end: row.end_at, timeZone: row.time_zone, attendees: row.attendees,
    });
  } catch (err) {
    // Nothing usable was made (or a retry with the same key will find the event through 409).
    if (created) await deleteMeeting(db, eventId);
    throw err;
  }
  return presentMeeting(await settleConference(ctx, db, input.clientId, eventId, provider, state));
}
