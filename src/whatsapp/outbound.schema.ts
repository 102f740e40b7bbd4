/** Request/response schemas of the outbound chat routes (send, templates, conversation actions). */
import { Type, type Static } from 'typebox';
import { MESSAGE_TYPES } from './message-content.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Obj = Type.Record(Type.String(), Type.Unknown());

const Media = Type.Object({
  link: Type.Optional(Type.String({ maxLength: 2000, description: 'Public https:// URL Meta fetches' })),
  mediaId: Type.Optional(Type.String({ maxLength: 40, description: 'A Meta media id from an earlier upload' })),
  data: Type.Optional(Type.String({ description: 'The file, base64 (uploaded to Meta by the send job)' })),
  mimeType: Type.Optional(Type.String({ maxLength: 100 })),
  caption: Type.Optional(Type.String({ maxLength: 1024 })),
  filename: Type.Optional(Type.String({ maxLength: 240 })),
  voice: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

const Component = Type.Object({
  type: Type.String({ enum: ['header', 'body', 'button'] }),
  sub_type: Type.Optional(Type.String()),
  index: Type.Optional(Type.Union([Type.String(), Type.Integer()])),
  parameters: Type.Optional(Type.Array(Obj, { maxItems: 20 })),
});

export const SendMessageBody = Type.Object({
  conversationId: Type.Optional(Type.String({ format: 'uuid' })),
  to: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'Customer phone, E.164 (digits, + optional)' })),
  type: Type.Union(MESSAGE_TYPES.map((t) => Type.Literal(t))),
  text: Type.Optional(Type.Object({ body: Type.String({ minLength: 1, maxLength: 4096 }), previewUrl: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
  image: Type.Optional(Media), video: Type.Optional(Media), audio: Type.Optional(Media), document: Type.Optional(Media), sticker: Type.Optional(Media),
  template: Type.Optional(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 512 }),
    language: Type.Optional(Type.String({ minLength: 2, maxLength: 15 })),
    variables: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 50, description: 'Body parameters, in order' })),
    components: Type.Optional(Type.Array(Component, { maxItems: 20, description: 'Header/body/button parameters in the Cloud API shape' })),
  }, { additionalProperties: false })),
  interactive: Type.Optional(Obj),
  reaction: Type.Optional(Type.Object({ messageId: Type.String({ minLength: 1, maxLength: 200 }), emoji: Type.String({ maxLength: 16 }) }, { additionalProperties: false })),
  location: Type.Optional(Type.Object({
    latitude: Type.Number(), longitude: Type.Number(), name: Type.Optional(Type.String({ maxLength: 1000 })), address: Type.Optional(Type.String({ maxLength: 1000 })),
  }, { additionalProperties: false })),
  contacts: Type.Optional(Type.Array(Obj, { minItems: 1, maxItems: 20 })),
  context: Type.Optional(Type.Object({ messageId: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })),
  idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false });
export type SendMessageBody = Static<typeof SendMessageBody>;

export const MessageView = Type.Object({
  id: Type.String(), conversationId: Type.String(), contactId: Type.String(), direction: Type.String(),
  waMessageId: Nullable(Type.String()), type: Type.String(), text: Nullable(Type.String()),
  content: Type.Unknown(), replyToWaMessageId: Nullable(Type.String()), forwarded: Type.Boolean(),
  status: Type.String({ description: 'queued → sent → delivered → read; failed; unknown (a timed-out send being reconciled)' }),
  error: Type.Unknown(), reactions: Type.Record(Type.String(), Type.String()),
  media: Type.Unknown(), timestamp: Nullable(Type.String()), createdAt: Type.String(),
});

export const TemplateView = Type.Object({
  id: Type.String(), waTemplateId: Nullable(Type.String()), name: Type.String(), language: Type.String(), status: Type.String(),
  category: Nullable(Type.String()), components: Type.Array(Obj), parameterCounts: Type.Unknown(), rejectedReason: Nullable(Type.String()),
  syncedAt: Type.String(), deletedAt: Nullable(Type.String()),
});

export const ConversationActionView = Type.Object({
  id: Type.String(), contactId: Type.String(), phoneNumberId: Nullable(Type.String()), status: Type.String(), assignedTo: Nullable(Type.String()),
  lastInboundAt: Nullable(Type.String()), lastMessageAt: Nullable(Type.String()), lastMessagePreview: Nullable(Type.String()),
  unreadCount: Type.Integer(), updatedAt: Type.String(),
});

export const ContactProfile = Type.Object({
  id: Type.String(), phone: Nullable(Type.String()), waId: Nullable(Type.String()), userId: Nullable(Type.String()), username: Nullable(Type.String()),
  name: Nullable(Type.String()), email: Nullable(Type.String()), tags: Type.Array(Type.String()), customFields: Type.Unknown(), createdAt: Type.String(),
  lead: Type.Union([Type.Null(), Type.Object({ id: Type.String(), stage: Nullable(Type.String()), score: Type.Union([Type.Number(), Type.Null()]), owner: Nullable(Type.String()), source: Nullable(Type.String()) })]),
});

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const AssignBody = Type.Object({ assignedTo: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()]) }, { additionalProperties: false });
