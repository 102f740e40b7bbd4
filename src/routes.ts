/** Every HTTP route, registered in one place. Each domain exports `register*Routes(app, ctx, auth)`. */
import type { FastifyInstance } from 'fastify';
import type { AuthHooks } from './auth/auth-hooks.ts';
import type { AppContext } from './context.ts';
import { registerHealthRoutes } from './health/routes.ts';
import { registerMetricsRoutes } from './metrics/routes.ts';
import { registerConsoleRoutes } from './console/routes.ts';
import { registerAuditRoutes } from './audit/routes.ts';
import { registerClientRoutes } from './tenants/index.ts';
import { registerWorkflowRoutes } from './workflows/index.ts';
import { registerMediaRoutes } from './media/index.ts';
import { registerRealtimeRoutes } from './realtime/index.ts';
import { registerCrmRoutes } from './crm/index.ts';
import { registerMeetRoutes } from './meet/index.ts';
import { registerWhatsappInboundRoutes } from './whatsapp/inbound-routes.ts';
import { registerWhatsappOutboundRoutes } from './whatsapp/index.ts';
import { registerSandboxRoutes } from './sandbox/index.ts';
import { registerCampaignRoutes } from './campaigns/index.ts';

export async function registerRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  await registerHealthRoutes(app, ctx);
  await registerMetricsRoutes(app, ctx, auth);
  await registerConsoleRoutes(app);
  await registerAuditRoutes(app, ctx, auth);
  await registerClientRoutes(app, ctx, auth);
  await registerWorkflowRoutes(app, ctx, auth);
  await registerMediaRoutes(app, ctx, auth);
  await registerRealtimeRoutes(app, ctx, auth);
  await registerCrmRoutes(app, ctx, auth);
  await registerMeetRoutes(app, ctx, auth);
  await registerWhatsappInboundRoutes(app, ctx, auth);
  await registerWhatsappOutboundRoutes(app, ctx, auth);
  await registerSandboxRoutes(app, ctx, auth);
  await registerCampaignRoutes(app, ctx, auth);
}
