/** Moves a meeting (patch of start/end; the Meet link stays). Idempotent: the same times again change nothing. */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { tenantDbById } from '../tenants/index.ts';
import { parseTimes } from './create-meeting.ts';
import { requireMeeting, type MeetingRef } from './find-meeting.ts';
import { providerOf } from './meeting-provider.ts';
import { updateTimes } from './meetings.repo.ts';
import { presentMeeting, type MeetingView } from './present-meeting.ts';

export interface RescheduleMeetingInput extends MeetingRef {
  clientId: string;
  start: string | Date;
  end: string | Date;
  /** Default: the meeting's current time zone. */
  timeZone?: string;
}

export async function rescheduleMeeting(ctx: AppContext, input: RescheduleMeetingInput): Promise<MeetingView> {
  const db = await tenantDbById(ctx, input.clientId);
  const row = await requireMeeting(db, input);
  if (row.status === 'cancelled') throw new AppError('CONFLICT', { message: 'The meeting is cancelled; create a new one' });
  const times = parseTimes({ start: input.start, end: input.end, timeZone: input.timeZone ?? row.time_zone });
  const unchanged = times.start.getTime() === row.start_at.getTime() && times.end.getTime() === row.end_at.getTime() && times.timeZone === row.time_zone;
  if (unchanged) return presentMeeting(row);
  await providerOf(ctx, input.clientId, row.provider).reschedule(row.event_id, times);
  return presentMeeting(await updateTimes(db, row.event_id, times));
}
