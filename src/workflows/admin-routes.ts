/** Admin job routes (`x-core-api-key`): stats, stuck jobs, list, show, retry, cancel, kill. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { recordAudit } from '../audit/record-audit.ts';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { ErrorBodySchema } from '../platform/http/errors.ts';
import { cancelQueueJob, jobStats, killQueueJob, listQueueJobs, QUEUE_STATES, retryQueueJob, showQueueJob, stuckJobs, type QueueState } from './admin-jobs.ts';

const schema = { tags: ['admin: jobs'], security: [{ adminKey: [] }] };
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema };
const StateSchema = Type.Union(QUEUE_STATES.map((s) => Type.Literal(s)));
const JobItem = Type.Object({
  id: Type.String(), queue: Type.String(), state: Type.String(), attempts: Type.Integer(), maxAttempts: Type.Integer(),
  data: Type.Record(Type.String(), Type.Unknown()), output: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  startAfter: Type.String(), startedAt: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(),
  completedAt: Type.Union([Type.String(), Type.Null()]), heartbeatAt: Type.Union([Type.String(), Type.Null()]),
});
const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });

export async function registerJobAdminRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  const audit = (request: FastifyRequest, action: string, details: Record<string, unknown>) =>
    recordAudit(ctx.controlDb, { actor: 'admin', action, ip: request.ip, requestId: request.id, details });

  app.get('/api/admin/jobs/stats', {
    preHandler: auth.admin,
    schema: { ...schema, summary: 'Job counts by queue and state, and how many are stuck (active > 10 min)', response: { ...errors } },
  }, async () => jobStats(ctx));

  app.get('/api/admin/jobs/stuck', {
    preHandler: auth.admin,
    schema: { ...schema, summary: 'Jobs active for longer than olderThanMinutes (default 10)', querystring: Type.Object({ olderThanMinutes: Type.Integer({ minimum: 1, maximum: 10_080, default: 10 }) }), response: { 200: Type.Object({ items: Type.Array(JobItem) }), ...errors } },
  }, async (request) => stuckJobs(ctx, (request.query as { olderThanMinutes: number }).olderThanMinutes));

  app.get('/api/admin/jobs', {
    preHandler: auth.admin,
    schema: {
      ...schema, summary: 'List jobs, newest first (filters: queue, state; page with before=nextBefore)',
      querystring: Type.Object({ queue: Type.Optional(Type.String({ maxLength: 100 })), state: Type.Optional(StateSchema), limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), before: Type.Optional(Type.String({ format: 'date-time' })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(JobItem), nextBefore: Type.Union([Type.String(), Type.Null()]) }), ...errors },
    },
  }, async (request) => listQueueJobs(ctx, request.query as { queue?: string; state?: QueueState; limit: number; before?: string }));

  app.get('/api/admin/jobs/:id', {
    preHandler: auth.admin,
    schema: { ...schema, summary: 'Show one job', params: Params, response: { 200: JobItem, ...errors } },
  }, async (request) => showQueueJob(ctx, (request.params as { id: string }).id));

  for (const [verb, run, summary] of [
    ['retry', retryQueueJob, 'Re-queue a failed, cancelled or stuck job'],
    ['cancel', cancelQueueJob, 'Cancel a queued or running job'],
    ['kill', killQueueJob, 'Kill a poison job: no more attempts, recorded as failed'],
  ] as const) {
    app.post(`/api/admin/jobs/:id/${verb}`, {
      preHandler: auth.admin,
      schema: { ...schema, summary, params: Params, response: { 200: JobItem, ...errors } },
    }, async (request) => {
      const id = (request.params as { id: string }).id;
      const result = await run(ctx, id);
      await audit(request, `job.${verb}`, { jobId: id, queue: result.queue });
      return result;
    });
  }
}
