/** Admin client routes (`x-core-api-key`) and the tenant CORS routes. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { ErrorBodySchema } from '../platform/http/errors.ts';
import { createClient } from './create-client.ts';
import { deleteClient, listClients, requireClient, rotateClientKey, showClient, type Actor } from './manage-client.ts';
import { checkDatasourceHealth, setDatasource } from './datasource.ts';
import { setClientSecrets } from './set-secrets.ts';
import { addCorsOrigin, listCorsOrigins, removeCorsOrigin } from './cors.ts';
import { ClientCodeParams, ClientView, CorsBody, CreateClientBody, DatasourceBody, ListQuery, SecretsBody } from './schema.ts';

const adminTags = { tags: ['admin: clients'], security: [{ adminKey: [] }] };
const tenantTags = { tags: ['cors'], security: [{ apiKey: [], clientCode: [] }] };
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };

function adminActor(request: FastifyRequest): Actor {
  return { actor: 'admin', ip: request.ip, requestId: request.id };
}

export async function registerClientRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.post('/api/clients', {
    preHandler: auth.admin,
    schema: { ...adminTags, summary: 'Create a client; the API key is shown once', body: CreateClientBody, response: { 201: Type.Intersect([ClientView, Type.Object({ apiKey: Type.String() })]), 409: ErrorBodySchema, ...errors } },
  }, async (request, reply) => {
    const body = request.body as CreateClientBody;
    const created = await createClient(ctx, { ...body, ...adminActor(request) });
    return reply.status(201).send(created);
  });

  app.get('/api/clients', {
    preHandler: auth.admin,
    schema: { ...adminTags, summary: 'List clients', querystring: ListQuery, response: { 200: Type.Object({ items: Type.Array(ClientView), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errors } },
  }, async (request) => {
    const query = request.query as { limit: number; cursor?: string };
    return listClients(ctx, query);
  });

  app.get('/api/clients/:code', {
    preHandler: auth.admin,
    schema: { ...adminTags, summary: 'Show a client with masked secrets and datasource', params: ClientCodeParams, response: { ...errors } },
  }, async (request) => showClient(ctx, (request.params as { code: string }).code));

  app.post('/api/clients/:code/secrets', {
    preHandler: auth.admin,
    schema: { ...adminTags, summary: 'Set or update secrets (encrypted at rest; partial updates allowed)', params: ClientCodeParams, body: SecretsBody, response: { ...errors } },
  }, async (request) => {
    const client = await requireClient(ctx, (request.params as { code: string }).code);
    const body = request.body as Record<string, string | number>;
    const secrets = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, String(v)]));
    return setClientSecrets(ctx, client, secrets, adminActor(request));
  });

  app.post('/api/clients/:code/datasource', {
    preHandler: auth.admin,
    schema: { ...adminTags, summary: 'Register the client database (checked by connecting)', params: ClientCodeParams, body: DatasourceBody, response: { 422: ErrorBodySchema, ...errors } },
  }, async (request) => {
    const client = await requireClient(ctx, (request.params as { code: string }).code);
    return setDatasource(ctx, client, (request.body as { dbUri: string }).dbUri, adminActor(request));
  });

  app.get('/api/clients/:code/datasource/health', {
    preHandler: auth.admin,
    schema: {
      ...adminTags, summary: 'Reach the client database now: ok, latency, and what failed (200 either way)', params: ClientCodeParams,
      response: { 200: Type.Object({ ok: Type.Boolean(), latencyMs: Type.Integer(), detail: Type.String() }), ...errors },
    },
  }, async (request) => checkDatasourceHealth(ctx, await requireClient(ctx, (request.params as { code: string }).code)));

  app.post('/api/clients/:code/rotate-key', {
    preHandler: auth.admin,
    schema: { ...adminTags, summary: 'Issue a new API key; the old one stops working at once', params: ClientCodeParams, response: { ...errors } },
  }, async (request) => rotateClientKey(ctx, (request.params as { code: string }).code, adminActor(request)));

  app.delete('/api/clients/:code', {
    preHandler: auth.admin,
    schema: { ...adminTags, summary: 'Offboard a client (its tenant database is not dropped)', params: ClientCodeParams, response: { ...errors } },
  }, async (request) => deleteClient(ctx, (request.params as { code: string }).code, adminActor(request)));

  app.post('/api/saas/cors', {
    preHandler: auth.tenant,
    schema: { ...tenantTags, summary: 'Allow a browser origin for this client', body: CorsBody, response: { ...errors } },
  }, async (request, reply) => reply.status(201).send(await addCorsOrigin(ctx, request.client!.id, (request.body as { url: string }).url)));

  app.get('/api/saas/cors', {
    preHandler: auth.tenant,
    schema: { ...tenantTags, summary: 'List allowed origins', response: { 200: Type.Object({ origins: Type.Array(Type.String()) }), ...errors } },
  }, async (request) => ({ origins: await listCorsOrigins(ctx, request.client!.id) }));

  app.delete('/api/saas/cors', {
    preHandler: auth.tenant,
    schema: { ...tenantTags, summary: 'Remove an allowed origin', body: CorsBody, response: { ...errors } },
  }, async (request) => ({ removed: await removeCorsOrigin(ctx, request.client!.id, (request.body as { url: string }).url) }));
}
