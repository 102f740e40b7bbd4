/** `/api/crm/scoring/...` rules, settings and recalculation; `/api/crm/leads/:id/score` and `/signals`. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../../auth/auth-hooks.ts';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../platform/errors.ts';
import { IdParams, crmTags, errorResponses } from '../shared/schema.ts';
import { getLeadScore } from './lead-score.ts';
import { FIT_OPERATORS, SIGNALS, createRule, deleteRule, getScoringConfig, updateRule, updateScoringSettings, type RuleInput, type SettingsInput } from './manage-rules.ts';
import { enqueueScoreRecalculations } from './nightly-scoring.job.ts';
import { recordLeadSignal } from './record-signal.ts';
import { scoreLead } from './score-lead.ts';

const tags = crmTags('scoring');
const RuleFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  group: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  signal: Type.Union(SIGNALS.map((s) => Type.Literal(s))),
  points: Type.Number({ minimum: -1000, maximum: 1000 }),
  maxPoints: Type.Union([Type.Number({ minimum: 0, maximum: 10_000 }), Type.Null()]),
  field: Type.Union([Type.String({ maxLength: 80 }), Type.Null()]),
  operator: Type.Union([...FIT_OPERATORS.map((o) => Type.Literal(o)), Type.Null()]),
  value: Type.Unknown(),
  decays: Type.Boolean(),
  isActive: Type.Boolean(),
  position: Type.Integer({ minimum: 0, maximum: 10_000 }),
};
const CreateRule = Type.Object({
  key: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  name: RuleFields.name, group: RuleFields.group, signal: RuleFields.signal, points: RuleFields.points,
  maxPoints: Type.Optional(RuleFields.maxPoints), field: Type.Optional(RuleFields.field), operator: Type.Optional(RuleFields.operator),
  value: Type.Optional(RuleFields.value), decays: Type.Optional(RuleFields.decays), isActive: Type.Optional(RuleFields.isActive), position: Type.Optional(RuleFields.position),
}, { additionalProperties: false });
const UpdateRule = Type.Partial(Type.Object(Object.fromEntries(Object.entries(RuleFields).filter(([k]) => k !== 'signal'))), { additionalProperties: false, minProperties: 1 });
const Settings = Type.Object({
  halfLifeDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
  fastReplyMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
  thresholds: Type.Optional(Type.Array(Type.Object({ key: Type.String({ minLength: 1, maxLength: 40 }), score: Type.Integer({ minimum: 1, maximum: 100_000 }) }, { additionalProperties: false }), { maxItems: 20 })),
  groups: Type.Optional(Type.Array(Type.Object({ key: RuleFields.group, name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), cap: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]) }, { additionalProperties: false }), { maxItems: 50 })),
}, { additionalProperties: false, minProperties: 1 });
const LeadIdParams = Type.Object({ leadId: Type.String({ format: 'uuid' }) });

export async function registerScoringRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.get('/api/crm/scoring/rules', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Scoring rules, groups (caps) and settings (half-life, thresholds)', response: errorResponses },
  }, async (request) => getScoringConfig(await request.tenantDb()));

  app.post('/api/crm/scoring/rules', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Add a scoring rule (signal rule or fit rule on a field)', body: CreateRule, response: errorResponses },
  }, async (request, reply) => reply.status(201).send(await createRule(await request.tenantDb(), request.body as RuleInput & { key: string; name: string; group: string; signal: string; points: number })));

  app.patch('/api/crm/scoring/rules/:id', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Change a scoring rule', params: IdParams, body: UpdateRule, response: errorResponses },
  }, async (request) => updateRule(await request.tenantDb(), (request.params as { id: string }).id, request.body as RuleInput));

  app.delete('/api/crm/scoring/rules/:id', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Delete a scoring rule', params: IdParams, response: errorResponses },
  }, async (request, reply) => {
    await deleteRule(await request.tenantDb(), (request.params as { id: string }).id);
    return reply.status(204).send();
  });

  app.patch('/api/crm/scoring/settings', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Set half-life, fast-reply window, thresholds and group caps', body: Settings, response: errorResponses },
  }, async (request) => updateScoringSettings(await request.tenantDb(), request.body as SettingsInput));

  app.post('/api/crm/scoring/:leadId/recalculate', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Recompute one lead score now (runbook §6)', params: LeadIdParams, response: errorResponses },
  }, async (request) => scoreLead(ctx, await request.tenantDb(), { clientId: request.client!.id, leadId: (request.params as { leadId: string }).leadId, reason: 'api' }));

  app.post('/api/crm/scoring/recalculate', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Recalculate every lead of this client in the background (resumable job); poll the run', response: { ...errorResponses, 202: Type.Unknown() } },
  }, async (request, reply) => {
    await request.tenantDb();
    const runKey = `manual:${randomUUID()}`;
    await enqueueScoreRecalculations(ctx, { now: new Date(), runKey, reason: 'api-bulk', clientIds: [request.client!.id] });
    return reply.status(202).send({ runKey, status: `/api/crm/scoring/runs/${encodeURIComponent(runKey)}` });
  });

  app.get('/api/crm/scoring/runs/:key', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Progress of a bulk recalculation', params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 100 }) }), response: errorResponses },
  }, async (request) => {
    const db = await request.tenantDb();
    const { rows } = await db.query<{ key: string; processed: number; changed: number; started_at: Date; finished_at: Date | null }>(
      'SELECT key, processed, changed, started_at, finished_at FROM scoring_runs WHERE key = $1', [(request.params as { key: string }).key]);
    if (!rows[0]) return { runKey: (request.params as { key: string }).key, status: 'queued', processed: 0, changed: 0 };
    const run = rows[0];
    return { runKey: run.key, status: run.finished_at ? 'finished' : 'running', processed: run.processed, changed: run.changed, startedAt: run.started_at.toISOString(), finishedAt: run.finished_at?.toISOString() ?? null };
  });

  app.get('/api/crm/leads/:id/score', {
    preHandler: auth.tenant,
    schema: { ...crmTags('leads'), summary: 'Why the lead has its score: per-rule and per-group breakdown, thresholds, history', params: IdParams, querystring: Type.Object({ historyLimit: Type.Integer({ minimum: 0, maximum: 100, default: 20 }) }), response: errorResponses },
  }, async (request) => getLeadScore(await request.tenantDb(), (request.params as { id: string }).id, request.query as { historyLimit: number }));

  app.post('/api/crm/leads/:id/signals', {
    preHandler: auth.tenant,
    schema: {
      ...crmTags('leads'), summary: 'Record a scoring signal (purchase, enrolment, email_open …) and rescore the lead', params: IdParams,
      body: Type.Object({
        signal: Type.Union(SIGNALS.filter((s) => s !== 'fit').map((s) => Type.Literal(s))),
        occurredAt: Type.Optional(Type.String({ format: 'date-time' })),
        sourceKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      }, { additionalProperties: false }),
      response: errorResponses,
    },
  }, async (request, reply) => {
    const body = request.body as { signal: string; occurredAt?: string; sourceKey?: string; data?: Record<string, unknown> };
    const occurredAt = body.occurredAt ? new Date(body.occurredAt) : undefined;
    if (occurredAt && occurredAt.getTime() > Date.now() + 60_000) throw new AppError('VALIDATION_FAILED', { message: 'occurredAt is in the future' });
    return reply.status(201).send(await recordLeadSignal(ctx, await request.tenantDb(), { clientId: request.client!.id, leadId: (request.params as { id: string }).id, ...body, occurredAt }));
  });
}
