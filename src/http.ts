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
  await registerRoutes(app, ctx, auth);
  return app;
}
