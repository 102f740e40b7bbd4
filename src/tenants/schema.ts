/** Request/response schemas for the admin client routes and per-client CORS. */
import { Type, type Static } from 'typebox';
import { CLIENT_CODE_PATTERN } from './create-client.ts';

export const ClientCodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });

export const CreateClientBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  email: Type.String({ format: 'email', maxLength: 320 }),
  clientCode: Type.Optional(Type.String({ pattern: CLIENT_CODE_PATTERN })),
}, { additionalProperties: false });
export type CreateClientBody = Static<typeof CreateClientBody>;

const SecretString = Type.String({ minLength: 1, maxLength: 4096 });
export const SecretsBody = Type.Object({
  whatsappToken: Type.Optional(SecretString),
  whatsappBusinessId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  whatsappPhoneNumberId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  whatsappWebhookToken: Type.Optional(SecretString),
  whatsappAppSecret: Type.Optional(SecretString),
  smtpHost: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  smtpPort: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: '^[0-9]{1,5}$' })])),
  smtpUser: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
  smtpPass: Type.Optional(SecretString),
  smtpFrom: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })),
  automationWebhookSecret: Type.Optional(SecretString),
}, { additionalProperties: false, minProperties: 1 });
export type SecretsBody = Static<typeof SecretsBody>;

export const DatasourceBody = Type.Object({ dbUri: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false });

export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$' })),
});

export const CorsBody = Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false });

export const ClientView = Type.Object({
  id: Type.String(), clientCode: Type.String(), name: Type.String(), email: Type.String(),
  apiKeyHint: Type.String(), apiKeyCreatedAt: Type.String(), apiKeyLastUsedAt: Type.Union([Type.String(), Type.Null()]), whatsappStatus: Type.String(),
  whatsappStatusReason: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(),
});
