/**
 * Background re-check of a Meet conference that was still `pending` when the
 * API call stopped waiting: read the event until it is ready (job retries with
 * backoff), then store the link (`storeConference`: `meeting.ready` domain event, which puts
 * the link on the appointment, and `meet.updated` to the dashboards). A `failure`
 * is asked for again once with a new requestId (stored, so it happens only once).
 */
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { tenantDbById } from '../tenants/index.ts';
import { providerOf } from './meeting-provider.ts';
import { findMeetingByEventId, updateConference } from './meetings.repo.ts';
import { storeConference } from './settle-conference.ts';

export interface CheckConferenceData { clientId: string; eventId: string }

export const checkConferenceJob = defineJob<CheckConferenceData, AppContext>({
  name: 'meet.check-conference',
  retry: { attempts: 6, backoffSeconds: 10 },
  async handler(data, ctx) {
    const db = await tenantDbById(ctx, data.clientId);
    const row = await findMeetingByEventId(db, data.eventId);
    if (!row || row.status !== 'pending') return { skipped: true };
    const provider = providerOf(ctx, data.clientId, row.provider);
    let state = await provider.read(data.eventId);
    if (state.status === 'failed' && !row.conference_retried) {
      const requestId = randomUUID();
      await updateConference(db, data.eventId, { status: 'pending', meetUrl: null, meetingCode: null, htmlLink: null, requestId, retried: true });
      state = await provider.retryConference(data.eventId, requestId);
    }
    if (state.status === 'pending') throw new Error('Meet conference still pending');
    await storeConference(ctx, db, data.clientId, data.eventId, state);
    return { status: state.status };
  },
  async onFailed(data, ctx) {
    const db = await tenantDbById(ctx, data.clientId);
    const row = await findMeetingByEventId(db, data.eventId);
    if (!row || row.status !== 'pending') return;
    await storeConference(ctx, db, data.clientId, data.eventId, { status: 'failed', meetUrl: null, meetingCode: null, htmlLink: null });
  },
});
