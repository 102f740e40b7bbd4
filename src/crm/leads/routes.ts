/** `/api/crm/leads`: create, show, update, delete, list, stage moves, notes, CSV import and export. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../../auth/auth-hooks.ts';
import type { AppContext } from '../../context.ts';
import { ContactFields, Cursor, CustomFields, IdParams, Limit, Tags, crmTags, errorResponses } from '../shared/schema.ts';
import { addLeadNote, NOTE_KINDS, type NoteKind } from './add-note.ts';
import { createLead, type CreateLeadOptions } from './create-lead.ts';
import { exportLeadsCsv } from './export-leads.ts';
import { importLeads } from './import-leads.ts';
import { LEAD_SORTS, listLeads, type ListLeadsOptions } from './list-leads.ts';
import { moveLeadStage } from './move-lead-stage.ts';
import { deleteLead, showLead, updateLead, type UpdateLeadOptions } from './update-lead.ts';

const tags = crmTags('leads');
const Source = Type.String({ minLength: 1, maxLength: 40 });
const Owner = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()]);
const CreateBody = Type.Object({
  contactId: Type.Optional(Type.String({ format: 'uuid' })),
  contact: Type.Optional(Type.Object(ContactFields, { additionalProperties: false })),
  pipelineId: Type.Optional(Type.String({ format: 'uuid' })),
  stage: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  source: Type.Optional(Source),
  sourceDetails: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
  owner: Type.Optional(Owner),
  customFields: Type.Optional(CustomFields),
  tags: Type.Optional(Tags),
}, { additionalProperties: false });
const UpdateBody = Type.Object({
  source: Type.Optional(Source), owner: Type.Optional(Owner), customFields: Type.Optional(CustomFields), tags: Type.Optional(Tags),
}, { additionalProperties: false, minProperties: 1 });
const Filters = {
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  stage: Type.Optional(Type.String({ maxLength: 64 })),
  pipelineId: Type.Optional(Type.String({ format: 'uuid' })),
  tag: Type.Optional(Type.String({ maxLength: 64 })),
  scoreMin: Type.Optional(Type.Integer()),
  scoreMax: Type.Optional(Type.Integer()),
  source: Type.Optional(Type.String({ maxLength: 40 })),
  owner: Type.Optional(Type.String({ maxLength: 200 })),
  createdFrom: Type.Optional(Type.String({ format: 'date-time' })),
  createdTo: Type.Optional(Type.String({ format: 'date-time' })),
};
const ListQuery = Type.Object({
  ...Filters,
  sort: Type.Optional(Type.Union(Object.keys(LEAD_SORTS).map((k) => Type.Literal(k)))),
  limit: Limit,
  cursor: Cursor,
});

export async function registerLeadRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.post('/api/crm/leads', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Create a lead for contactId or a new contact; records lead_captured', body: CreateBody, response: errorResponses },
  }, async (request, reply) => reply.status(201).send(await createLead(ctx, await request.tenantDb(), request.client!.id, request.body as CreateLeadOptions)));

  app.get('/api/crm/leads', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'List leads: search, filters (stage, tag, score range, source, owner, created range), sort, cursor pages', querystring: ListQuery, response: errorResponses },
  }, async (request) => listLeads(ctx, await request.tenantDb(), request.query as ListLeadsOptions));

  app.get('/api/crm/leads/export', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Export the leads matching the list filters as CSV (streamed)', querystring: Type.Object(Filters), response: errorResponses },
  }, async (request, reply) => {
    const db = await request.tenantDb();
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="leads-${new Date().toISOString().slice(0, 10)}.csv"`);
    return reply.send(Readable.from(exportLeadsCsv(ctx, db, request.query as ListLeadsOptions)));
  });

  await app.register(async (scope) => {
    // The CSV body reaches the use case as a stream: a large import never sits in memory.
    scope.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));
    scope.post('/api/crm/leads/import', {
      preHandler: auth.tenant,
      schema: {
        ...tags, summary: 'Import leads from a CSV body (text/csv); returns a per-row report of rejections and reasons',
        querystring: Type.Object({ pipelineId: Type.Optional(Type.String({ format: 'uuid' })), dryRun: Type.Optional(Type.Boolean()) }),
        response: errorResponses,
      },
    }, async (request) => {
      const query = request.query as { pipelineId?: string; dryRun?: boolean };
      return importLeads(ctx, await request.tenantDb(), request.client!.id, request.body as AsyncIterable<Buffer>, { ...query, actor: 'api' });
    });
  });

  app.get('/api/crm/leads/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Show a lead with its contact', params: IdParams, response: errorResponses },
  }, async (request) => showLead(await request.tenantDb(), (request.params as { id: string }).id));

  app.patch('/api/crm/leads/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Update owner, source, custom fields (merged) or tags', params: IdParams, body: UpdateBody, response: errorResponses },
  }, async (request) => updateLead(ctx, await request.tenantDb(), request.client!.id, (request.params as { id: string }).id, request.body as UpdateLeadOptions));

  app.delete('/api/crm/leads/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Delete a lead (the contact stays)', params: IdParams, response: errorResponses },
  }, async (request, reply) => {
    await deleteLead(ctx, await request.tenantDb(), request.client!.id, (request.params as { id: string }).id);
    return reply.status(204).send();
  });

  app.post('/api/crm/leads/:id/stage', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Move a lead to a stage; records an activity and lead.stage_changed',
      params: IdParams,
      body: Type.Object({ stage: Type.String({ minLength: 1, maxLength: 64 }), pipelineId: Type.Optional(Type.String({ format: 'uuid' })), reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
      response: errorResponses,
    },
  }, async (request) => {
    const body = request.body as { stage: string; pipelineId?: string; reason?: string };
    return moveLeadStage(ctx, await request.tenantDb(), request.client!.id, (request.params as { id: string }).id, { ...body, actor: 'api' });
  });

  app.post('/api/crm/leads/:id/notes', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Add a note; kinds other than note (call, meeting, email, whatsapp) also log a contact for the SLA',
      params: IdParams,
      body: Type.Object({
        body: Type.String({ minLength: 1, maxLength: 10_000 }),
        kind: Type.Optional(Type.Union(NOTE_KINDS.map((k) => Type.Literal(k)))),
        author: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      }, { additionalProperties: false }),
      response: errorResponses,
    },
  }, async (request, reply) => {
    const body = request.body as { body: string; kind?: NoteKind; author?: string };
    return reply.status(201).send(await addLeadNote(ctx, await request.tenantDb(), request.client!.id, (request.params as { id: string }).id, { body: body.body, kind: body.kind, actor: body.author ?? 'api' }));
  });
}
