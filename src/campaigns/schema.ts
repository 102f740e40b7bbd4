/** Request schemas of the email routes (TypeBox) and their types. */
import { Type, type Static } from 'typebox';

const Strings = (max: number) => Type.Array(Type.String({ minLength: 1, maxLength: 320 }), { maxItems: max });

export const AudienceSchema = Type.Union([
  Type.Object({
    type: Type.Literal('filter'),
    stages: Type.Optional(Strings(50)),
    tags: Type.Optional(Strings(50)),
    scoreMin: Type.Optional(Type.Integer()),
    scoreMax: Type.Optional(Type.Integer()),
    sources: Type.Optional(Strings(50)),
  }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('list'),
    contactIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 50_000 })),
    emails: Type.Optional(Type.Array(Type.String({ minLength: 3, maxLength: 320 }), { maxItems: 50_000 })),
  }, { additionalProperties: false }),
]);

const editable = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  subject: Type.String({ minLength: 1, maxLength: 998 }),
  html: Type.Optional(Type.String({ maxLength: 500_000 })),
  text: Type.Optional(Type.String({ maxLength: 500_000 })),
  fromName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  replyTo: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 320 }), Type.Null()])),
  audience: AudienceSchema,
  ratePerSecond: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 100_000 }), Type.Null()])),
  ratePerDay: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 10_000_000 }), Type.Null()])),
  trackOpens: Type.Optional(Type.Boolean()),
  trackClicks: Type.Optional(Type.Boolean()),
};

export const CreateCampaignBody = Type.Object(editable, { additionalProperties: false });
export type CreateCampaignBody = Static<typeof CreateCampaignBody>;
export const EditCampaignBody = Type.Partial(Type.Object(editable, { additionalProperties: false }));
export type EditCampaignBody = Static<typeof EditCampaignBody>;

export const CampaignParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const ScheduleBody = Type.Object({ sendAt: Type.Optional(Type.String({ format: 'date-time' })) }, { additionalProperties: false });
export const TestSendBody = Type.Object({
  to: Type.Array(Type.String({ format: 'email', maxLength: 320 }), { minItems: 1, maxItems: 5 }),
  contactId: Type.Optional(Type.String({ format: 'uuid' })),
}, { additionalProperties: false });
export const PreviewQuery = Type.Object({ contactId: Type.Optional(Type.String({ format: 'uuid' })) });
export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});
export const RecipientsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
  status: Type.Optional(Type.String({ maxLength: 20 })),
});
export const SuppressionBody = Type.Object({ email: Type.String({ format: 'email', maxLength: 320 }) }, { additionalProperties: false });
