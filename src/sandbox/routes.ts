/** Sandbox routes: a customer writes in, and what the simulator was asked to send. */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { ErrorBodySchema } from '../platform/http/errors.ts';
import { attachSandboxLifecycle, sandboxOutbox, simulateInbound } from './index.ts';

const tags = { tags: ['sandbox'], security: [{ apiKey: [], clientCode: [] }] };
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 502: ErrorBodySchema };

const InboundBody = Type.Object({
  from: Type.String({ minLength: 7, maxLength: 16, description: 'Customer phone, E.164 digits (15550000001)' }),
  text: Type.String({ minLength: 1, maxLength: 4096 }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
}, { additionalProperties: false });

const OutboxItem = Type.Object({
  id: Type.String(), phoneNumberId: Type.String(), to: Type.Union([Type.String(), Type.Null()]), waMessageId: Type.Union([Type.String(), Type.Null()]),
  type: Type.Union([Type.String(), Type.Null()]), payload: Type.Unknown(), outcome: Type.String(), errorCode: Type.Union([Type.Integer(), Type.Null()]), createdAt: Type.String(),
});

export async function registerSandboxRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  attachSandboxLifecycle(app, ctx);

  app.post('/api/sandbox/inbound', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Simulate a customer writing in (signed inbound webhook for the client\'s sandbox number)', body: InboundBody,
      response: { 202: Type.Object({ waMessageId: Type.String(), from: Type.String(), phoneNumberId: Type.String(), delivered: Type.Boolean() }), ...errors },
    },
  }, async (request, reply) => {
    const body = request.body as Static<typeof InboundBody>;
    return reply.status(202).send(await simulateInbound(ctx, request.client!, body));
  });

  app.get('/api/sandbox/outbox', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'What the simulator was asked to send for this client (newest first)',
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: { 200: Type.Object({ phoneNumberId: Type.String(), items: Type.Array(OutboxItem) }), ...errors },
    },
  }, async (request) => {
    const { limit } = request.query as { limit: number };
    return sandboxOutbox(ctx, request.client!, limit);
  });
}
