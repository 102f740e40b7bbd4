/** `/api/crm/fields`: per-client custom field definitions for contacts and leads. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../../auth/auth-hooks.ts';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../platform/errors.ts';
import { IdParams, crmTags, errorResponses } from '../shared/schema.ts';
import { FIELD_TYPES, deleteField, insertField, listFields, updateField, type FieldEntity, type FieldType } from './fields.repo.ts';

const tags = crmTags('fields');
const Options = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 200, uniqueItems: true });
const CreateBody = Type.Object({
  entity: Type.Union([Type.Literal('contact'), Type.Literal('lead')]),
  key: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  label: Type.String({ minLength: 1, maxLength: 100 }),
  type: Type.Union(FIELD_TYPES.map((t) => Type.Literal(t))),
  required: Type.Optional(Type.Boolean()),
  options: Type.Optional(Options),
}, { additionalProperties: false });

export async function registerFieldRoutes(app: FastifyInstance, _ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.get('/api/crm/fields', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'List custom field definitions', querystring: Type.Object({ entity: Type.Optional(Type.Union([Type.Literal('contact'), Type.Literal('lead')])) }), response: errorResponses },
  }, async (request) => ({ items: await listFields(await request.tenantDb(), (request.query as { entity?: FieldEntity }).entity) }));

  app.post('/api/crm/fields', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Define a custom field (type, required, options for select/multiselect)', body: CreateBody, response: errorResponses },
  }, async (request, reply) => {
    const body = request.body as { entity: FieldEntity; key: string; label: string; type: FieldType; required?: boolean; options?: string[] };
    if ((body.type === 'select' || body.type === 'multiselect') && !body.options?.length) {
      throw new AppError('VALIDATION_FAILED', { message: `A ${body.type} field needs options` });
    }
    const field = await insertField(await request.tenantDb(), { ...body, required: body.required ?? false, options: body.options ?? [] });
    if (!field) throw new AppError('CONFLICT', { message: `A ${body.entity} field with key ${body.key} already exists` });
    return reply.status(201).send(field);
  });

  app.patch('/api/crm/fields/:id', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Change a field label, required flag or options', params: IdParams,
      body: Type.Object({ label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), required: Type.Optional(Type.Boolean()), options: Type.Optional(Options) }, { additionalProperties: false, minProperties: 1 }),
      response: errorResponses,
    },
  }, async (request) => {
    const field = await updateField(await request.tenantDb(), (request.params as { id: string }).id, request.body as { label?: string });
    if (!field) throw new AppError('FIELD_NOT_FOUND', { message: 'Field not found' });
    return field;
  });

  app.delete('/api/crm/fields/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Delete a field definition (stored values stay)', params: IdParams, response: errorResponses },
  }, async (request, reply) => {
    if (!(await deleteField(await request.tenantDb(), (request.params as { id: string }).id))) throw new AppError('FIELD_NOT_FOUND', { message: 'Field not found' });
    return reply.status(204).send();
  });
}
