/**
 * Meetings on the client's Google Calendar: events with a Meet conference
 * request (conferenceDataVersion=1), a client-chosen event id so a retried
 * insert gets 409 and we fetch the existing event, one token refresh and
 * retry on 401, 404/410 on delete counted as done.
 */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { getAccessToken } from './get-access-token.ts';
import { createGoogleClient, GoogleApiError, type GoogleEvent } from './google-client.ts';
import type { ConferenceState, MeetingProvider } from './meeting-provider.ts';

/** What the event says about its conference. */
export function conferenceOf(event: GoogleEvent): ConferenceState {
  const data = event.conferenceData;
  const code = data?.createRequest?.status?.statusCode;
  const video = data?.entryPoints?.find((e) => e.entryPointType === 'video');
  const meetUrl = event.hangoutLink ?? video?.uri ?? null;
  const meetingCode = data?.conferenceId ?? (meetUrl ? new URL(meetUrl).pathname.slice(1) || null : null);
  const status = meetUrl && (code === 'success' || code === undefined) ? 'ready' : code === 'pending' ? 'pending' : 'failed';
  return { status, meetUrl: status === 'ready' ? meetUrl : null, meetingCode: status === 'ready' ? meetingCode : null, htmlLink: event.htmlLink ?? null };
}

function translate(err: unknown): unknown {
  if (!(err instanceof GoogleApiError)) return err;
  if (err.status === 404 || err.status === 410) return new AppError('MEETING_NOT_FOUND', { message: 'The calendar event no longer exists in Google Calendar', cause: err });
  if (err.status === 400) return new AppError('UNPROCESSABLE', { message: `Google Calendar rejected the event: ${err.message}`, cause: err });
  if (err.status === 403 && !['rateLimitExceeded', 'userRateLimitExceeded'].includes(err.reason ?? '')) {
    return new AppError('UNPROCESSABLE', { message: `Google Calendar refused the change (${err.reason ?? 'forbidden'}); check the connected account's access`, cause: err });
  }
  return new AppError('UPSTREAM_UNAVAILABLE', { message: `Google Calendar is unavailable: ${err.message}`, cause: err });
}

export function googleProvider(ctx: AppContext, clientId: string): MeetingProvider {
  const google = createGoogleClient(ctx.config.google);
  const calendarId = ctx.config.google.calendarId;

  /** Runs `fn` with an access token; on 401 refreshes once and retries. */
  async function withToken<T>(fn: (token: string) => Promise<T>): Promise<T> {
    const token = await getAccessToken(ctx, clientId);
    try {
      return await fn(token);
    } catch (err) {
      if (!(err instanceof GoogleApiError) || err.status !== 401) throw translate(err);
      const fresh = await getAccessToken(ctx, clientId, { rejected: token });
      try {
        return await fn(fresh);
      } catch (again) {
        throw translate(again);
      }
    }
  }

  return {
    kind: 'google',
    async create(spec) {
      const body = {
        id: spec.eventId,
        summary: spec.title,
        ...(spec.description ? { description: spec.description } : {}),
        start: { dateTime: spec.start.toISOString(), timeZone: spec.timeZone },
        end: { dateTime: spec.end.toISOString(), timeZone: spec.timeZone },
        attendees: spec.attendees,
        conferenceData: { createRequest: { requestId: spec.requestId, conferenceSolutionKey: { type: 'hangoutsMeet' } } },
      };
      return withToken(async (token) => {
        try {
          return conferenceOf(await google.insertEvent(token, calendarId, body));
        } catch (err) {
          // Our id already exists: an earlier attempt (timed out, or answered 5xx after writing) made it.
          if (err instanceof GoogleApiError && err.status === 409) return conferenceOf(await google.getEvent(token, calendarId, spec.eventId));
          throw err;
        }
      });
    },
    async read(eventId) {
      return withToken(async (token) => conferenceOf(await google.getEvent(token, calendarId, eventId)));
    },
    async retryConference(eventId, requestId) {
      return withToken(async (token) => conferenceOf(await google.patchEvent(token, calendarId, eventId, {
        conferenceData: { createRequest: { requestId, conferenceSolutionKey: { type: 'hangoutsMeet' } } },
      })));
    },
    async reschedule(eventId, times) {
      await withToken((token) => google.patchEvent(token, calendarId, eventId, {
        start: { dateTime: times.start.toISOString(), timeZone: times.timeZone },
        end: { dateTime: times.end.toISOString(), timeZone: times.timeZone },
      }));
    },
    async cancel(eventId) {
      await withToken((token) => google.deleteEvent(token, calendarId, eventId));
    },
  };
}
