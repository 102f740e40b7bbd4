/**
 * The Fastify instance with everything that is not a domain: request ids,
 * JSON parsing that keeps the raw bytes (webhook signatures need them) and
 * refuses prototype keys and deep nesting, one error format, JSON 404s,
 * OpenAPI at /openapi.json and docs at /docs.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '../errors.ts';
import { loggerOptions } from '../logger.ts';
import { registerErrorHandling } from './errors.ts';
import { lazyCompilers } from './lazy-compilers.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Exact request bytes for JSON bodies (signature checks need them). */
    rawBody?: Buffer;
  }
  interface FastifyContextConfig {
    /**
     * false: no per-request "incoming request" / "request completed" lines for this route (a hot,
     * high-volume route whose outcomes are counted in metrics). Errors are still logged by the error handler.
     */
    accessLog?: boolean;
  }
  interface FastifyInstance {
    /** Every route registered (method, url, whether it has a schema), for route-table tests and docs. */
    routeTable: RouteEntry[];
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  hidden: boolean;
}

export const MAX_JSON_DEPTH = 32;

export interface HttpAppOptions {
  bodyLimit: number;
  logLevel: string;
  version: string;
  /** Pass a pino instance (tests capture logs this way). */
  loggerInstance?: FastifyServerOptions['loggerInstance'];
}

/** Depth of nested arrays/objects, stopping early past `limit`. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(node as object)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

export async function createHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  // Route schemas compile on first use or in the background once listening, not before (start-up time).
  const compilers = lazyCompilers();
  const app = Fastify({
    schemaController: { compilersFactory: compilers.compilersFactory },
    ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: loggerOptions(options.logLevel) }),
    bodyLimit: options.bodyLimit,
    // genReqId reads x-request-id itself, accepting only safe values (Fastify would take any header value).
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,100}$/.test(given) ? given : randomUUID();
    },
    logController: new LogController({ disableRequestLogging: (request) => (request as FastifyRequest).routeOptions?.config?.accessLog === false }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // Generous: on a loaded machine (CI, many test files at once) registering every route can take a while.
    pluginTimeout: 60_000,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      routeTable.push({ method, url: route.url, hidden: Boolean((route.schema as { hide?: boolean } | undefined)?.hide) });
    }
  });

  app.addHook('onListen', () => {
    void compilers.warm((err, where) => app.log.error({ err, route: where }, 'route schema does not compile'));
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const parseJson = app.getDefaultJsonParser('error', 'error');
  // JSON only by default (text/plain → 415); routes that take other bodies add their parser in their own scope.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json(\s*;.*)?$/i, { parseAs: 'buffer' }, (request, body, done) => {
    const buffer = body as Buffer;
    request.rawBody = buffer;
    if (buffer.length === 0) return done(null, undefined);
    parseJson(request, buffer.toString('utf8'), (err, value) => {
      if (err) return done(new AppError('MALFORMED_JSON', { message: `Malformed JSON body: ${err.message.replace(/^Unexpected/, 'unexpected')}` }), undefined);
      if (jsonDepthExceeds(value, MAX_JSON_DEPTH)) return done(new AppError('BAD_REQUEST', { message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` }), undefined);
      done(null, value);
    });
  });

  registerErrorHandling(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'ECODrIx API', version: options.version, description: 'Multi-tenant WhatsApp CRM and automation server.' },
      components: {
        securitySchemes: {
          adminKey: { type: 'apiKey', in: 'header', name: 'x-core-api-key' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          clientCode: { type: 'apiKey', in: 'header', name: 'x-client-code' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export type HttpApp = Awaited<ReturnType<typeof createHttpApp>>;
