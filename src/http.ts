/** Builds the HTTP app for the `api` role: platform pieces, auth, CORS, every route. */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { createAuthHooks } from './auth/auth-hooks.ts';
import { registerCors } from './auth/cors-hooks.ts';
import type { AppContext } from './context.ts';
import { createHttpApp } from './platform/http/app.ts';
import { registerRoutes } from './routes.ts';
import { instrumentHttp } from './metrics/routes.ts';

export async function buildHttpApp(ctx: AppContext, options: { loggerInstance?: FastifyServerOptions['loggerInstance'] } = {}): Promise<FastifyInstance> {
  const app = await createHttpApp({
    bodyLimit: ctx.config.bodyLimitBytes,
    logLevel: ctx.config.logLevel,
    version: ctx.config.version,
    loggerInstance: options.loggerInstance ?? ctx.logger,
  });
  instrumentHttp(app, ctx);
  registerCors(app, ctx);
  const auth = createAuthHooks(ctx);
  // Routes declare `preHandler: auth.tenant` / `auth.admin`; authentication is moved to onRequest so it
  // runs before the body is read and validated (no schema hints or 413s for unauthenticated callers).
  const authHooks = new Set<unknown>([auth.admin, auth.tenant]);
  app.addHook('onRoute', (route) => {
    const pre = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    const moved = pre.filter((hook) => authHooks.has(hook));
    if (moved.length === 0) return;
    const onRequest = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.preHandler = pre.filter((hook) => !authHooks.has(hook));
    route.onRequest = [...moved, ...onRequest] as typeof route.onRequest;
  });
  await registerRoutes(app, ctx, auth);
  return app;
}
