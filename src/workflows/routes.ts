/**
 * Tenant routes: the trigger API, communication workflows (/api/saas/workflows),
 * CRM automations (/api/crm/automations) and job history (/api/saas/workflows/jobs).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { ErrorBodySchema } from '../platform/http/errors.ts';
import { assertAllowedUrl, HTTPS_REQUIRED_MESSAGE } from '../platform/http/safe-fetch.ts';
import { registerJobAdminRoutes } from './admin-routes.ts';
import { listWorkflowJobs, showWorkflowJob } from './job-history.ts';
import {
  createAutomation, createWorkflowDefinition, listDefinitions, removeDefinition, setDefinitionActive, showDefinition, updateDefinition,
} from './manage-definitions.ts';
import {
  AutomationBody, AutomationPatch, AutomationView, IdParams, JobDetailView, JobListQuery, JobView, ListQuery, TriggerBody, TriggerResponse,
  WorkflowBody, WorkflowPatch, WorkflowView,
} from './schema.ts';
import { triggerWorkflows } from './trigger-workflows.ts';
import type { WorkflowKind } from './workflows.repo.ts';

const security = [{ apiKey: [], clientCode: [] }];
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema };
const Page = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export async function registerWorkflowRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  const wf = { tags: ['workflows'], security };

  app.post('/api/saas/workflows/trigger', {
    preHandler: auth.tenant,
    // The app's validator coerces types (1 → "1"); the trigger contract is strict, so check the raw body first.
    preValidation: async (request) => strictBody(request.body),
    schema: {
      ...wf, summary: 'Fire a trigger event: schedules the matching active workflows and automations',
      description: 'Answers 202 with the scheduled jobs, or 200 with an empty list and a message when no active workflow listens to the trigger. The same event sent twice schedules nothing new.',
      body: TriggerBody, response: { 200: TriggerResponse, 202: TriggerResponse, ...errors },
    },
  }, async (request, reply) => {
    const body = request.body as TriggerBody;
    if (body.baseTime !== undefined && Number.isNaN(Date.parse(body.baseTime))) throw new AppError('VALIDATION_FAILED', { message: 'baseTime must be an ISO 8601 date-time' });
    if (body.callbackUrl) {
      try {
        assertAllowedUrl(body.callbackUrl, ctx.config.outbound);
      } catch (err) {
        throw new AppError('VALIDATION_FAILED', {
          message: (err as Error).message === HTTPS_REQUIRED_MESSAGE
            ? 'callbackUrl must be an https URL (port 443): http callbacks are refused in production'
            : 'callbackUrl must be an http(s) URL to a public host, without credentials',
        });
      }
    }
    const result = await triggerWorkflows(ctx, { ...body, clientId: request.client!.id });
    return reply.status(result.jobs.length > 0 ? 202 : 200).send(result);
  });

  app.get('/api/saas/workflows/jobs', {
    preHandler: auth.tenant,
    schema: { ...wf, summary: 'List workflow jobs (filters: status, trigger, run time range), newest first', querystring: JobListQuery, response: { 200: Page(JobView), ...errors } },
  }, async (request) => listWorkflowJobs(await request.tenantDb(), request.query as { limit: number }));

  app.get('/api/saas/workflows/jobs/:id', {
    preHandler: auth.tenant,
    schema: { ...wf, summary: 'Show one workflow job with its attempts', params: IdParams, response: { 200: JobDetailView, ...errors } },
  }, async (request) => showWorkflowJob(await request.tenantDb(), (request.params as { id: string }).id));

  registerDefinitionRoutes(app, auth, {
    kind: 'workflow', base: '/api/saas/workflows', tag: 'workflows', noun: 'communication workflow',
    body: WorkflowBody, patch: WorkflowPatch, view: WorkflowView,
    create: (db, body) => createWorkflowDefinition(db, body as WorkflowBody),
    update: (db, id, patch) => updateDefinition(db, 'workflow', id, patch),
  });
  registerDefinitionRoutes(app, auth, {
    kind: 'automation', base: '/api/crm/automations', tag: 'automations', noun: 'automation',
    body: AutomationBody, patch: AutomationPatch, view: AutomationView,
    create: (db, body) => createAutomation(db, body as AutomationBody, ctx.config.outbound),
    update: (db, id, patch) => updateDefinition(db, 'automation', id, patch, ctx.config.outbound),
  });
  await registerJobAdminRoutes(app, ctx, auth);
}

function strictBody(body: unknown): void {
  if (!body || typeof body !== 'object') return; // the schema validator reports it
  const candidate = Value.Default(TriggerBody, structuredClone(body));
  if (Value.Check(TriggerBody, candidate)) return;
  const first = [...Value.Errors(TriggerBody, candidate)][0] as { instancePath?: string; message?: string } | undefined;
  const where = first?.instancePath ? `body${first.instancePath.replaceAll('/', '.')}` : 'body';
  throw new AppError('VALIDATION_FAILED', { message: `Invalid request: ${where} ${first?.message ?? 'is invalid'}` });
}

interface DefinitionRoutes {
  kind: WorkflowKind;
  base: string;
  tag: string;
  noun: string;
  body: typeof WorkflowBody | typeof AutomationBody;
  patch: typeof WorkflowPatch | typeof AutomationPatch;
  view: typeof WorkflowView | typeof AutomationView;
  create: (db: TenantDb, body: unknown) => Promise<unknown>;
  update: (db: TenantDb, id: string, patch: object) => Promise<unknown>;
}

type TenantDb = Awaited<ReturnType<import('fastify').FastifyRequest['tenantDb']>>;

function registerDefinitionRoutes(app: FastifyInstance, auth: AuthHooks, d: DefinitionRoutes): void {
  const schema = { tags: [d.tag], security };
  const one = { 200: d.view, ...errors };

  app.post(d.base, {
    preHandler: auth.tenant,
    schema: { ...schema, summary: `Create a ${d.noun}`, body: d.body, response: { 201: d.view, ...errors } },
  }, async (request, reply) => reply.status(201).send(await d.create(await request.tenantDb(), request.body)));

  app.get(d.base, {
    preHandler: auth.tenant,
    schema: { ...schema, summary: `List ${d.noun}s, newest first`, querystring: ListQuery, response: { 200: Page(d.view), ...errors } },
  }, async (request) => listDefinitions(await request.tenantDb(), d.kind, request.query as { limit: number }));

  app.get(`${d.base}/:id`, {
    preHandler: auth.tenant,
    schema: { ...schema, summary: `Show a ${d.noun}`, params: IdParams, response: one },
  }, async (request) => showDefinition(await request.tenantDb(), d.kind, (request.params as { id: string }).id));

  app.patch(`${d.base}/:id`, {
    preHandler: auth.tenant,
    schema: { ...schema, summary: `Update a ${d.noun} (partial)`, params: IdParams, body: d.patch, response: one },
  }, async (request) => d.update(await request.tenantDb(), (request.params as { id: string }).id, request.body as object));

  app.post(`${d.base}/:id/activate`, {
    preHandler: auth.tenant,
    schema: { ...schema, summary: `Activate a ${d.noun}`, params: IdParams, response: one },
  }, async (request) => setDefinitionActive(await request.tenantDb(), d.kind, (request.params as { id: string }).id, true));

  app.post(`${d.base}/:id/deactivate`, {
    preHandler: auth.tenant,
    schema: { ...schema, summary: `Deactivate a ${d.noun} (pending jobs already scheduled still run)`, params: IdParams, response: one },
  }, async (request) => setDefinitionActive(await request.tenantDb(), d.kind, (request.params as { id: string }).id, false));

  app.delete(`${d.base}/:id`, {
    preHandler: auth.tenant,
    schema: { ...schema, summary: `Delete a ${d.noun}`, params: IdParams, response: { 200: Type.Object({ deleted: Type.Boolean() }), ...errors } },
  }, async (request) => removeDefinition(await request.tenantDb(), d.kind, (request.params as { id: string }).id));
}
