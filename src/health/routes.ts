/** `GET /api/saas/health`: liveness plus control database status; 503 when the database is down. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';

const startedAt = Date.now();

export async function checkHealth(ctx: AppContext) {
  let database: 'ok' | 'down' = 'ok';
  let latencyMs: number | null = null;
  const start = performance.now();
  try {
    await Promise.race([
      ctx.controlDb.query('SELECT 1'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
    ]);
    latencyMs = Math.round((performance.now() - start) * 100) / 100;
  } catch {
    database = 'down';
  }
  const pools = ctx.tenantPools.stats();
  return {
    status: database === 'ok' ? 'ok' as const : 'degraded' as const,
    database,
    databaseLatencyMs: latencyMs,
    version: ctx.config.version,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    tenantPools: pools.pools,
  };
}

export async function registerHealthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/api/saas/health', {
    schema: {
      tags: ['operations'], summary: 'Health: database status, version, uptime',
      response: {
        200: HealthSchema,
        503: HealthSchema,
      },
    },
  }, async (_request, reply) => {
    const health = await checkHealth(ctx);
    return reply.status(health.database === 'ok' ? 200 : 503).send(health);
  });
}

const HealthSchema = Type.Object({
  status: Type.String(), database: Type.String(), databaseLatencyMs: Type.Union([Type.Number(), Type.Null()]),
  version: Type.String(), uptimeSeconds: Type.Number(), tenantPools: Type.Number(),
});
