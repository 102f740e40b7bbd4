/**
 * SANDBOX ONLY: the fake meeting provider used when this server has no Google
 * credentials (GOOGLE_CLIENT_ID unset). It calls nothing and returns
 * well-formed but FAKE Meet links (`https://meet.google.com/abc-defg-hij`
 * shape) whose code is derived from the event id, itself a hash of the client
 * and the idempotency key: the same request always gets the same link.
 * Responses carry `sandbox: true` so nobody mistakes them for real meetings.
 */
import { createHash } from 'node:crypto';
import type { ConferenceState, MeetingProvider } from './meeting-provider.ts';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** A Meet-shaped code (`xxx-yyyy-zzz`) derived from `seed`. */
export function fakeMeetingCode(seed: string): string {
  const bytes = createHash('sha256').update(`ecodrix-sandbox-meet\0${seed}`).digest();
  const letters = [...bytes.subarray(0, 10)].map((b) => LETTERS[b % LETTERS.length]).join('');
  return `${letters.slice(0, 3)}-${letters.slice(3, 7)}-${letters.slice(7, 10)}`;
}

function state(eventId: string): ConferenceState {
  const code = fakeMeetingCode(eventId);
  return { status: 'ready', meetUrl: `https://meet.google.com/${code}`, meetingCode: code, htmlLink: null };
}

export function fakeProvider(): MeetingProvider {
  return {
    kind: 'sandbox',
    async create(spec) {
      return state(spec.eventId);
    },
    async read(eventId) {
      return state(eventId);
    },
    async retryConference(eventId) {
      return state(eventId);
    },
    async reschedule() {},
    async cancel() {},
  };
}
