/** `/api/crm/contacts`: create, show, update, delete, list, duplicates, merge, timeline. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../../auth/auth-hooks.ts';
import type { AppContext } from '../../context.ts';
import { ContactFields, Cursor, IdParams, Limit, crmTags, errorResponses } from '../shared/schema.ts';
import { createContact, type CreateContactOptions } from './create-contact.ts';
import { findDuplicateContacts } from './find-duplicates.ts';
import { listContacts, type ListContactsOptions } from './list-contacts.ts';
import { mergeContacts } from './merge-contacts.ts';
import { deleteContact, showContact, updateContact, type UpdateContactOptions } from './update-contact.ts';

const tags = crmTags('contacts');
const ContactBody = Type.Object(ContactFields, { additionalProperties: false });
const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  tag: Type.Optional(Type.String({ maxLength: 64 })),
  createdFrom: Type.Optional(Type.String({ format: 'date-time' })),
  createdTo: Type.Optional(Type.String({ format: 'date-time' })),
  sort: Type.Optional(Type.Union([Type.Literal('created_desc'), Type.Literal('created_asc'), Type.Literal('name_asc'), Type.Literal('updated_desc')])),
  limit: Limit,
  cursor: Cursor,
});

export async function registerContactRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.post('/api/crm/contacts', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Create a contact (phone to E.164, email validated; 409 on a duplicate unless allowDuplicate)', body: ContactBody, response: errorResponses },
  }, async (request, reply) => reply.status(201).send(await createContact(ctx, await request.tenantDb(), request.body as CreateContactOptions)));

  app.get('/api/crm/contacts', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'List contacts: prefix search on name, phone, email; filters; cursor pages', querystring: ListQuery, response: errorResponses },
  }, async (request) => listContacts(ctx, await request.tenantDb(), request.query as ListContactsOptions));

  app.get('/api/crm/contacts/duplicates', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Groups of contacts sharing a phone or email', querystring: Type.Object({ limit: Limit }), response: errorResponses },
  }, async (request) => findDuplicateContacts(await request.tenantDb(), request.query as { limit: number }));

  app.get('/api/crm/contacts/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Show a contact', params: IdParams, response: errorResponses },
  }, async (request) => showContact(await request.tenantDb(), (request.params as { id: string }).id));

  app.patch('/api/crm/contacts/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Update a contact (custom fields are merged; null removes a key)', params: IdParams, body: ContactBody, response: errorResponses },
  }, async (request) => updateContact(ctx, await request.tenantDb(), (request.params as { id: string }).id, request.body as UpdateContactOptions));

  app.delete('/api/crm/contacts/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Delete a contact with its lead, activities and conversations', params: IdParams, response: errorResponses },
  }, async (request, reply) => {
    await deleteContact(await request.tenantDb(), (request.params as { id: string }).id);
    return reply.status(204).send();
  });

  app.post('/api/crm/contacts/:id/merge', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Merge contact otherId into this one (leads, activities, conversations move; otherId is deleted)',
      params: IdParams, body: Type.Object({ otherId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }), response: errorResponses,
    },
  }, async (request) => mergeContacts(ctx, await request.tenantDb(), request.client!.id, (request.params as { id: string }).id, (request.body as { otherId: string }).otherId));
}
