/** Every CRM route (`/api/crm/...`), registered from `src/routes.ts`. */
import type { FastifyInstance } from 'fastify';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { registerContactRoutes } from './contacts/routes.ts';
import { registerFieldRoutes } from './fields/routes.ts';
import { registerLeadRoutes } from './leads/routes.ts';
import { registerPipelineRoutes } from './pipelines/routes.ts';
import { registerTimelineRoutes } from './timeline/routes.ts';
import { registerScoringRoutes } from './scoring/routes.ts';
import { registerSlaRoutes } from './sla/routes.ts';
import { registerAppointmentRoutes } from './appointments/routes.ts';

export async function registerCrmRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  await registerFieldRoutes(app, ctx, auth);
  await registerContactRoutes(app, ctx, auth);
  await registerLeadRoutes(app, ctx, auth);
  await registerPipelineRoutes(app, ctx, auth);
  await registerTimelineRoutes(app, ctx, auth);
  await registerScoringRoutes(app, ctx, auth);
  await registerSlaRoutes(app, ctx, auth);
  await registerAppointmentRoutes(app, ctx, auth);
}
