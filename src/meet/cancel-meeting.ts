/** Cancels a meeting: deletes the calendar event (already gone on Google's side counts as done). Idempotent. */
import type { AppContext } from '../context.ts';
import { tenantDbById } from '../tenants/index.ts';
import { requireMeeting, type MeetingRef } from './find-meeting.ts';
import { providerOf } from './meeting-provider.ts';
import { markCancelled } from './meetings.repo.ts';
import { presentMeeting, type MeetingView } from './present-meeting.ts';

export interface CancelMeetingInput extends MeetingRef {
  clientId: string;
}

export async function cancelMeeting(ctx: AppContext, input: CancelMeetingInput): Promise<MeetingView> {
  const db = await tenantDbById(ctx, input.clientId);
  const row = await requireMeeting(db, input);
  if (row.status === 'cancelled') return presentMeeting(row);
  await providerOf(ctx, input.clientId, row.provider).cancel(row.event_id);
  return presentMeeting(await markCancelled(db, row.event_id));
}
