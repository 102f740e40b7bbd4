/** `GET /api/crm/leads/:id/timeline` and `GET /api/crm/contacts/:id/timeline`. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../../auth/auth-hooks.ts';
import type { AppContext } from '../../context.ts';
import { Cursor, IdParams, Limit, crmTags, errorResponses } from '../shared/schema.ts';
import { contactTimeline, leadTimeline } from './get-timeline.ts';

const Query = Type.Object({
  limit: Limit,
  cursor: Cursor,
  /** Comma-separated item types (message, note, stage_changed, appointment, score_changed, automation, campaign …). */
  types: Type.Optional(Type.String({ maxLength: 300 })),
});

function parse(query: { limit: number; cursor?: string; types?: string }) {
  return { limit: query.limit, cursor: query.cursor, types: query.types?.split(',').map((t) => t.trim()).filter(Boolean) };
}

export async function registerTimelineRoutes(app: FastifyInstance, _ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.get('/api/crm/leads/:id/timeline', {
    preHandler: auth.tenant,
    schema: { ...crmTags('leads'), summary: 'Everything that happened with this lead, newest first (cursor pages)', params: IdParams, querystring: Query, response: errorResponses },
  }, async (request) => leadTimeline(await request.tenantDb(), (request.params as { id: string }).id, parse(request.query as { limit: number })));

  app.get('/api/crm/contacts/:id/timeline', {
    preHandler: auth.tenant,
    schema: { ...crmTags('contacts'), summary: 'Everything that happened with this contact, newest first (cursor pages)', params: IdParams, querystring: Query, response: errorResponses },
  }, async (request) => contactTimeline(await request.tenantDb(), (request.params as { id: string }).id, parse(request.query as { limit: number })));
}
