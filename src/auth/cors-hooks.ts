/**
 * Per-client CORS. A preflight carries no client code, so it is answered for
 * any origin some client registered (or this server's own); the real request
 * is then checked against the client named in `x-client-code` by the tenant
 * auth hook. Admin routes never get CORS headers.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { isKnownOrigin } from '../tenants/cors.ts';
import { isSameOrigin } from './auth-hooks.ts';

const ALLOWED_HEADERS = 'content-type, x-api-key, x-client-code, x-request-id, idempotency-key';
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';

export function registerCors(app: FastifyInstance, ctx: AppContext): void {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || request.url.startsWith('/api/clients') || request.url.startsWith('/api/admin')) return;
    const known = isSameOrigin(request, origin) || (await isKnownOrigin(ctx, origin));
    if (!known) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    reply.header('access-control-expose-headers', 'x-request-id, retry-after');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', '600');
      return reply.status(204).send();
    }
  });
}
