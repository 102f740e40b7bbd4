/** `/api/crm/settings` (first-contact SLA window) and `GET /api/crm/sla/breaches`. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../../auth/auth-hooks.ts';
import type { AppContext } from '../../context.ts';
import { Limit, crmTags, errorResponses } from '../shared/schema.ts';
import { LEAD_SELECT, presentLead, type LeadRow } from '../leads/leads.repo.ts';
import { slaWindowMinutes } from './flag-sla-breaches.ts';

const tags = crmTags('settings');

export async function registerSlaRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.get('/api/crm/settings', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'CRM settings of this client (first-contact SLA window)', response: errorResponses },
  }, async (request) => {
    const db = await request.tenantDb();
    return { firstContactSlaMinutes: await slaWindowMinutes(ctx, db), defaultFirstContactSlaMinutes: ctx.config.crm.slaMinutes };
  });

  app.patch('/api/crm/settings', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Set the first-contact SLA window (null: server default)',
      body: Type.Object({ firstContactSlaMinutes: Type.Union([Type.Integer({ minimum: 1, maximum: 10_080 }), Type.Null()]) }, { additionalProperties: false }),
      response: errorResponses,
    },
  }, async (request) => {
    const db = await request.tenantDb();
    await db.query('UPDATE crm_settings SET first_contact_sla_minutes = $1, updated_at = now()', [(request.body as { firstContactSlaMinutes: number | null }).firstContactSlaMinutes]);
    return { firstContactSlaMinutes: await slaWindowMinutes(ctx, db), defaultFirstContactSlaMinutes: ctx.config.crm.slaMinutes };
  });

  app.get('/api/crm/sla/breaches', {
    preHandler: auth.tenant,
    schema: { ...crmTags('leads'), summary: 'Leads flagged for missing the first-contact SLA, newest flag first', querystring: Type.Object({ limit: Limit }), response: errorResponses },
  }, async (request) => {
    const db = await request.tenantDb();
    const { rows } = await db.query<LeadRow>(`${LEAD_SELECT} WHERE l.sla_breached_at IS NOT NULL ORDER BY l.sla_breached_at DESC, l.id DESC LIMIT $1`, [(request.query as { limit: number }).limit]);
    return { items: rows.map(presentLead) };
  });
}
