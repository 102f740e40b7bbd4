/** Request schemas shared by the CRM routes. */
import { Type } from 'typebox';
import { ErrorBodySchema } from '../../platform/http/errors.ts';

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const Cursor = Type.Optional(Type.String({ maxLength: 500 }));
export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50 });
export const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 });
export const CustomFields = Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.Unknown(), { maxProperties: 100 });
export const Timestamp = Type.String({ format: 'date-time' });

export const ContactFields = {
  name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  phone: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
  email: Type.Optional(Type.Union([Type.String({ maxLength: 320 }), Type.Null()])),
  timezone: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  tags: Type.Optional(Tags),
  customFields: Type.Optional(CustomFields),
  allowDuplicate: Type.Optional(Type.Boolean()),
};

/** Success bodies are documented by summary; errors share one shape. */
export const errorResponses = { 200: Type.Unknown(), 201: Type.Unknown(), 204: Type.Null(), 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 422: ErrorBodySchema };

/** OpenAPI tags and security for tenant CRM routes. */
export function crmTags(tag: string) {
  return { tags: [`crm: ${tag}`], security: [{ apiKey: [], clientCode: [] }] };
}
