/**
 * Where meetings are made: Google Calendar (the client's connected account)
 * or, when this server has no Google credentials, the clearly marked fake
 * provider (sandbox). Use cases only see this interface.
 */
import type { AppContext } from '../context.ts';
import { isGoogleConfigured } from './config.ts';
import { fakeProvider } from './fake-provider.ts';
import { googleProvider } from './google-provider.ts';
import type { Attendee } from './meetings.repo.ts';

export interface MeetingSpec {
  eventId: string;
  /** conferenceData.createRequest.requestId: fresh for every create request. */
  requestId: string;
  title: string;
  description: string | null;
  start: Date;
  end: Date;
  timeZone: string;
  attendees: Attendee[];
}

export interface ConferenceState {
  status: 'pending' | 'ready' | 'failed';
  meetUrl: string | null;
  meetingCode: string | null;
  htmlLink: string | null;
}

export interface MeetingProvider {
  readonly kind: 'google' | 'sandbox';
  /** Creates the event with a Meet conference request; idempotent on `eventId` (an existing event is returned). */
  create(spec: MeetingSpec): Promise<ConferenceState>;
  /** Re-reads the conference state. */
  read(eventId: string): Promise<ConferenceState>;
  /** After a `failure`: asks again with a new requestId. */
  retryConference(eventId: string, requestId: string): Promise<ConferenceState>;
  /** Moves the event (the conference and its link stay). */
  reschedule(eventId: string, times: { start: Date; end: Date; timeZone: string }): Promise<void>;
  /** Deletes the event; an event already gone counts as done. */
  cancel(eventId: string): Promise<void>;
}

/** The provider for new meetings of this client. */
export function providerFor(ctx: AppContext, clientId: string): MeetingProvider {
  return isGoogleConfigured(ctx.config) ? googleProvider(ctx, clientId) : fakeProvider();
}

/** The provider that made an existing meeting (a sandbox meeting stays with the fake provider). */
export function providerOf(ctx: AppContext, clientId: string, kind: 'google' | 'sandbox'): MeetingProvider {
  return kind === 'sandbox' ? fakeProvider() : googleProvider(ctx, clientId);
}
