/** `/api/crm/pipelines`: pipelines with ordered stages (a default one always exists). */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../../auth/auth-hooks.ts';
import type { AppContext } from '../../context.ts';
import { IdParams, crmTags, errorResponses } from '../shared/schema.ts';
import { createPipeline, deletePipeline, listPipelines, showPipeline, updatePipeline, type StageInput } from './manage-pipelines.ts';

const tags = crmTags('pipelines');
const Stages = Type.Array(Type.Object({
  key: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  name: Type.String({ minLength: 1, maxLength: 100 }),
  isWon: Type.Optional(Type.Boolean()),
  isLost: Type.Optional(Type.Boolean()),
}, { additionalProperties: false }), { minItems: 1, maxItems: 50 });

export async function registerPipelineRoutes(app: FastifyInstance, _ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.get('/api/crm/pipelines', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'List pipelines with their stages in order', response: errorResponses },
  }, async (request) => listPipelines(await request.tenantDb()));

  app.post('/api/crm/pipelines', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Create a pipeline', body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), stages: Stages, isDefault: Type.Optional(Type.Boolean()) }, { additionalProperties: false }), response: errorResponses },
  }, async (request, reply) => reply.status(201).send(await createPipeline(await request.tenantDb(), request.body as { name: string; stages: StageInput[] })));

  app.get('/api/crm/pipelines/:id', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Show a pipeline', params: IdParams, response: errorResponses },
  }, async (request) => showPipeline(await request.tenantDb(), (request.params as { id: string }).id));

  app.patch('/api/crm/pipelines/:id', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Rename, make default, or replace the ordered stage list', params: IdParams,
      body: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), stages: Type.Optional(Stages), isDefault: Type.Optional(Type.Literal(true)) }, { additionalProperties: false, minProperties: 1 }),
      response: errorResponses,
    },
  }, async (request) => updatePipeline(await request.tenantDb(), (request.params as { id: string }).id, request.body as { name?: string }));

  app.delete('/api/crm/pipelines/:id', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Delete an empty, non-default pipeline', params: IdParams, response: errorResponses },
  }, async (request, reply) => {
    await deletePipeline(await request.tenantDb(), (request.params as { id: string }).id);
    return reply.status(204).send();
  });
}
