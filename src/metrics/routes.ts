/** `GET /metrics` (Prometheus text), protected by the admin token or METRICS_TOKEN; HTTP latency hook. */
import type { FastifyInstance } from 'fastify';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { safeEqual } from '../platform/crypto/api-keys.ts';
import { registerCoreCollectors } from './metrics.ts';

/** Adds the latency histogram hook; call before routes are registered. */
export function instrumentHttp(app: FastifyInstance, ctx: AppContext): void {
  const latency = ctx.metrics.histogram('ecodrix_http_request_duration_seconds', 'HTTP request latency by route, method and status');
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    latency.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}

export async function registerMetricsRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  registerCoreCollectors(ctx, ctx.metrics);
  app.get('/metrics', {
    schema: { tags: ['operations'], summary: 'Prometheus metrics (x-core-api-key, or Authorization: Bearer METRICS_TOKEN)', security: [{ adminKey: [] }] },
  }, async (request, reply) => {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = ctx.config.metricsToken;
    if (!(bearer && token && safeEqual(bearer, token))) {
      await auth.admin(request, reply);
    }
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return ctx.metrics.render();
  });
}


