/**
 * `create_meet` automation action: makes a Meet link (Google, or the sandbox
 * fake provider) and exposes `meetCode` and `meetUrl` to the next actions, e.g.
 * as the 4th variable of the original confirmation template (`{{meetCode}}`).
 * Idempotent across retries: the action's idempotency key fixes the event id. A conference Google
 * has not finished yet makes the step wait (ActionWaiting: re-run every WAIT_POLLS × poll delay, without using up
 * attempts, reading only our meeting row, which the `meet.check-conference` job settles) instead of
 * passing an empty code; after MAX_WAIT_MS, or when the conference failed, the step fails.
 */
import { Type } from 'typebox';
import { AppError } from '../platform/errors.ts';
import type { ActionDefinition } from '../workflows/actions/registry.ts';
import { ActionWaiting, interpolate } from '../workflows/actions/registry.ts';
import { createMeeting } from './create-meeting.ts';
import { findMeetingByKey } from './meetings.repo.ts';
import { presentMeeting } from './present-meeting.ts';
import { ensureConferenceCheck } from './settle-conference.ts';

/** A step waiting for a pending conference looks again every 15 × GOOGLE_CONFERENCE_POLL_MS (15 s by default), for 10 minutes in all. */
const WAIT_POLLS = 15;
const MAX_WAIT_MS = 10 * 60_000;

const ConfigSchema = Type.Object({
  /** Meeting title; `{{var}}` placeholders are filled from earlier actions. */
  title: Type.String({ minLength: 1, maxLength: 500 }),
  /** ISO 8601 start, or a placeholder: `{{name}}` (earlier action var) or `{{3}}` (3rd trigger variable). Default: now. */
  start: Type.Optional(Type.String({ maxLength: 100 })),
  durationMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 24 * 60, default: 30 })),
  timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, default: 'UTC' })),
  description: Type.Optional(Type.String({ maxLength: 8000 })),
  /** Attendee emails; `{{var}}` placeholders allowed. */
  attendees: Type.Optional(Type.Array(Type.String({ maxLength: 320 }), { maxItems: 50 })),
  appointmentId: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });

interface CreateMeetConfig {
  title: string;
  start?: string;
  durationMinutes?: number;
  timeZone?: string;
  description?: string;
  attendees?: string[];
  appointmentId?: string;
}

export const createMeetAction: ActionDefinition = {
  type: 'create_meet',
  configSchema: ConfigSchema,
  async execute(input, config: CreateMeetConfig) {
    // Trigger variables by position ({{1}} …), then earlier actions' vars.
    const positional = Object.fromEntries(input.variables.map((value, i) => [String(i + 1), value]));
    const fill = (text: string) => interpolate(text, { ...positional, ...input.vars });
    const start = config.start ? new Date(fill(config.start)) : new Date();
    const end = new Date(start.getTime() + (config.durationMinutes ?? 30) * 60_000);
    const appointmentId = config.appointmentId ? fill(config.appointmentId) : undefined;
    // Retries of this action reuse the meeting; an appointment keeps one meeting across automations.
    const idempotencyKey = appointmentId ? `appointment:${appointmentId}` : `action:${input.idempotencyKey}`;
    const stored = await findMeetingByKey(input.db, idempotencyKey);
    if (stored?.status === 'pending') {
      // Already asked for: the background check drives it (re-queued here in case it was lost); only our row is read.
      if (Date.now() - stored.created_at.getTime() > MAX_WAIT_MS) throw new AppError('UNPROCESSABLE', { message: `Meet link still not ready after ${MAX_WAIT_MS / 60_000} minutes` });
      await ensureConferenceCheck(input.ctx, input.clientId, stored.event_id);
      throw new ActionWaiting('Google is still creating the Meet conference; waiting for it', input.ctx.config.google.conferencePollMs * WAIT_POLLS);
    }
    const meeting = stored ? presentMeeting(stored) : await createMeeting(input.ctx, {
      clientId: input.clientId,
      title: fill(config.title),
      start,
      end,
      timeZone: config.timeZone ?? 'UTC',
      description: config.description ? fill(config.description) : null,
      attendees: (config.attendees ?? []).map(fill).filter((email) => email.includes('@')).map((email) => ({ email })),
      appointmentId,
      idempotencyKey,
    });
    // Never hand an empty code to the next action (the confirmation template): wait for a pending
    // conference (above, on the next run); a failed one is final.
    if (meeting.status === 'pending') throw new ActionWaiting('Google is still creating the Meet conference; waiting for it', input.ctx.config.google.conferencePollMs * WAIT_POLLS);
    if (meeting.status !== 'ready') throw new AppError('UNPROCESSABLE', { message: `Meet link unavailable (meeting ${meeting.status})` });
    const vars: Record<string, string> = { meetUrl: meeting.meetUrl ?? '', meetCode: meeting.meetingCode ?? '' };
    return { output: { eventId: meeting.eventId, meetUrl: meeting.meetUrl, meetingCode: meeting.meetingCode, status: meeting.status, sandbox: meeting.sandbox }, vars };
  },
};
