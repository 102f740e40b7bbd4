/**
 * Google creates Meet conferences asynchronously: an insert may answer
 * `pending`. Re-read a few times with doubling delays (bounded, a few seconds
 * in all); on `failure` ask once more with a new requestId; still pending →
 * the check-conference job re-checks in the background so the API call is not
 * held up.
 * `storeConference` is the one place a conference outcome is stored: a settled one (ready or
 * failed) records the `meeting.ready` / `meeting.failed` domain event in the same transaction
 * (the CRM puts the link on the appointment and sends a confirmation that waited for it) and
 * tells the dashboards (`meet.updated`).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { recordDomainEvent } from '../platform/events.ts';
import { checkConferenceJob } from './check-conference.job.ts';
import type { ConferenceState, MeetingProvider } from './meeting-provider.ts';
import { updateConference, type MeetingRow } from './meetings.repo.ts';
import { presentMeeting } from './present-meeting.ts';

/** Stores a conference state; settled → domain event + `meet.updated` (see the module comment). */
export async function storeConference(ctx: AppContext, db: pg.Pool, clientId: string, eventId: string, state: ConferenceState & { requestId?: string; retried?: boolean }): Promise<MeetingRow> {
  const settled = state.status === 'ready' || state.status === 'failed';
  const row = await withTransaction(db, async (tx) => {
    const updated = await updateConference(tx, eventId, state);
    if (settled) {
      await recordDomainEvent(tx, `meeting.${updated.status}`, {
        eventId, appointmentId: updated.appointment_id, meetUrl: updated.meet_url, meetingCode: updated.meeting_code,
      });
    }
    return updated;
  });
  if (settled) {
    ctx.domainEvents.recorded(clientId);
    ctx.realtime.publish({ clientId, event: 'meet.updated', payload: presentMeeting(row) });
  }
  return row;
}

const READS = 3;
/** First background re-check, seconds after the API call gave up waiting. */
const BACKGROUND_DELAY_SECONDS = 15;

/** Drives `state` towards ready/failed, stores the result, and hands a still-pending conference to the job. */
export async function settleConference(ctx: AppContext, db: pg.Pool, clientId: string, eventId: string, provider: MeetingProvider, initial: ConferenceState): Promise<MeetingRow> {
  let state = initial;
  let requestId: string | undefined;
  let delay = ctx.config.google.conferencePollMs;
  for (let read = 0; read < READS && state.status !== 'ready'; read++) {
    if (state.status === 'failed') {
      if (requestId) break; // already asked again once
      requestId = randomUUID();
      state = await provider.retryConference(eventId, requestId);
      continue;
    }
    await sleep(delay);
    delay *= 2;
    state = await provider.read(eventId);
  }
  const row = await storeConference(ctx, db, clientId, eventId, { ...state, requestId, retried: requestId !== undefined });
  if (state.status === 'pending') await ensureConferenceCheck(ctx, clientId, eventId);
  return row;
}

/** Makes sure the background re-check of a pending conference is queued (keyed: a no-op when it is). */
export async function ensureConferenceCheck(ctx: AppContext, clientId: string, eventId: string): Promise<void> {
  await ctx.queue.enqueue(checkConferenceJob, { clientId, eventId }, {
    key: `${clientId}:${eventId}`,
    startAfter: new Date(Date.now() + BACKGROUND_DELAY_SECONDS * 1000),
  });
}
