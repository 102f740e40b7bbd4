/** Request and response schemas of the meet routes. */
import { Type, type Static } from 'typebox';

export const ConnectQuery = Type.Object({
  clientCode: Type.String({ minLength: 1, maxLength: 100 }),
  t: Type.Optional(Type.String({ maxLength: 1024, description: 'Token from POST /api/auth/google/connect-link (required when GOOGLE_CONNECT_LINK_REQUIRED=true)' })),
});
export type ConnectQuery = Static<typeof ConnectQuery>;

export const CallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  state: Type.Optional(Type.String({ maxLength: 2048 })),
  scope: Type.Optional(Type.String({ maxLength: 4096 })),
  error: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: true });
export type CallbackQuery = Static<typeof CallbackQuery>;

export const GoogleStatusView = Type.Object({
  configured: Type.Boolean(),
  sandbox: Type.Boolean(),
  connected: Type.Boolean(),
  needsReauth: Type.Boolean(),
  account: Type.Union([Type.String(), Type.Null()]),
  scopes: Type.Array(Type.String()),
  connectedAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  connectUrl: Type.Union([Type.String(), Type.Null()]),
});

const Attendee = Type.Object({ email: Type.String({ format: 'email', maxLength: 320 }), displayName: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });

export const CreateMeetingBody = Type.Object({
  title: Type.String({ minLength: 1, maxLength: 500 }),
  start: Type.String({ format: 'date-time', description: 'ISO 8601 with offset or Z' }),
  end: Type.String({ format: 'date-time' }),
  timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Asia/Kolkata' }),
  attendees: Type.Optional(Type.Array(Attendee, { maxItems: 100 })),
  description: Type.Optional(Type.String({ maxLength: 8000 })),
  appointmentId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Same key, same meeting (a retried create never makes two events)' })),
}, { additionalProperties: false });
export type CreateMeetingBody = Static<typeof CreateMeetingBody>;

export const RescheduleBody = Type.Object({
  start: Type.String({ format: 'date-time' }),
  end: Type.String({ format: 'date-time' }),
  timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false });
export type RescheduleBody = Static<typeof RescheduleBody>;

export const ListMeetingsQuery = Type.Object({
  appointmentId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});
export type ListMeetingsQuery = Static<typeof ListMeetingsQuery>;

export const EventIdParams = Type.Object({ eventId: Type.String({ pattern: '^[a-v0-9]{5,1024}$' }) });
export type EventIdParams = Static<typeof EventIdParams>;

export const MeetingView = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  meetUrl: Type.Union([Type.String(), Type.Null()]),
  meetingCode: Type.Union([Type.String(), Type.Null()]),
  status: Type.String({ description: 'pending | ready | failed | cancelled' }),
  title: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  start: Type.String(),
  end: Type.String(),
  timeZone: Type.String(),
  attendees: Type.Array(Type.Object({ email: Type.String(), displayName: Type.Optional(Type.String()) })),
  appointmentId: Type.Union([Type.String(), Type.Null()]),
  htmlLink: Type.Union([Type.String(), Type.Null()]),
  provider: Type.String(),
  sandbox: Type.Boolean({ description: 'true: a fake link from the sandbox provider (no Google credentials on this server)' }),
});
