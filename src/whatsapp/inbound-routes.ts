/**
 * HTTP routes of inbound WhatsApp: the Meta webhook (handshake + signed
 * delivery), the chat read API, and the admin inbox routes.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { InboxBatcher } from './inbox-batcher.ts';
import { INBOX_STATES } from './inbox.repo.ts';
import { listConversationMessages, listConversations } from './list-conversations.ts';
import { listWebhookInbox, replayWebhook } from './manage-inbox.ts';
import { controlListener } from './control-listener.ts';
import { receiveWebhook } from './receive-webhook.ts';
import { verifyWebhookHandshake } from './verify-webhook.ts';

/** Meta sends up to about 3 MB per delivery. */
export const WEBHOOK_BODY_LIMIT = 3 * 1024 * 1024;

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Any = Type.Unknown();

const ConversationSchema = Type.Object({
  id: Type.String(), contactId: Type.String(), phoneNumberId: Nullable(Type.String()), status: Type.String(),
  lastInboundAt: Nullable(Type.String()), lastMessageAt: Nullable(Type.String()), lastMessagePreview: Nullable(Type.String()),
  unreadCount: Type.Integer(), updatedAt: Type.String(),
  contact: Type.Object({
    id: Type.String(), name: Nullable(Type.String()), phone: Nullable(Type.String()), waId: Nullable(Type.String()),
    userId: Nullable(Type.String()), username: Nullable(Type.String()),
  }),
});

const MessageSchema = Type.Object({
  id: Type.String(), conversationId: Type.String(), contactId: Type.String(), direction: Type.String(),
  waMessageId: Nullable(Type.String()), type: Type.String(), text: Nullable(Type.String()),
  content: Type.Record(Type.String(), Any), replyToWaMessageId: Nullable(Type.String()), forwarded: Type.Boolean(),
  status: Type.String(), error: Any, reactions: Type.Record(Type.String(), Type.String()),
  media: Type.Union([Type.Null(), Type.Object({
    id: Nullable(Type.String()), status: Nullable(Type.String()), mimeType: Nullable(Type.String()),
    size: Type.Union([Type.Number(), Type.Null()]), filename: Nullable(Type.String()), url: Nullable(Type.String()),
  })]),
  timestamp: Nullable(Type.String()), createdAt: Type.String(),
});

const InboxRowSchema = Type.Object({
  id: Type.String(), receivedAt: Type.String(), state: Type.String(), attempts: Type.Integer(), nextAttemptAt: Type.String(),
  lastError: Nullable(Type.String()), clientIds: Type.Array(Type.String()), unroutable: Type.Array(Any),
  processedAt: Nullable(Type.String()), size: Type.Integer(),
});

export async function registerWhatsappInboundRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  const batcher = new InboxBatcher(ctx.controlDb);
  // The route-cache invalidation listener runs while the API does.
  const listener = controlListener(ctx);
  await listener.acquire();
  app.addHook('onClose', async () => {
    ctx.logger.info('closing webhook intake');
    await batcher.drain();
    await listener.release();
    ctx.logger.info('webhook intake closed');
  });

  // The webhook keeps the exact bytes (signatures) and parses nothing before the signature is checked.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (request, body, done) => {
      request.rawBody = body as Buffer;
      done(null, body);
    });

    scope.get('/api/saas/whatsapp/webhook', {
      // Request logs would carry hub.verify_token in the URL.
      logLevel: 'warn',
      schema: {
        tags: ['whatsapp'], summary: 'Meta webhook verification handshake (echoes hub.challenge as text/plain)',
        querystring: Type.Object({
          'hub.mode': Type.Optional(Type.String()), 'hub.verify_token': Type.Optional(Type.String()), 'hub.challenge': Type.Optional(Type.String({ maxLength: 256 })),
        }),
      },
    }, async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const challenge = await verifyWebhookHandshake(ctx, { mode: q['hub.mode'], token: q['hub.verify_token'], challenge: q['hub.challenge'] });
      return reply.status(200).type('text/plain; charset=utf-8').send(challenge);
    });

    scope.post('/api/saas/whatsapp/webhook', {
      bodyLimit: WEBHOOK_BODY_LIMIT,
      // Thousands per second at peak: no access log lines (counted in ecodrix_webhooks_received_total and the
      // latency histogram); rejections and failures are still logged by the error handler.
      config: { accessLog: false },
      schema: {
        tags: ['whatsapp'],
        summary: 'Signed webhook delivery from Meta (X-Hub-Signature-256 over the raw body); 200 once stored',
        headers: Type.Object({ 'x-hub-signature-256': Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ received: Type.Boolean() }) },
      },
    }, async (request) => {
      const raw = Buffer.isBuffer(request.rawBody) ? request.rawBody : Buffer.alloc(0);
      const header = request.headers['x-hub-signature-256'];
      await receiveWebhook(ctx, batcher, raw, typeof header === 'string' ? header : undefined);
      return { received: true };
    });
  });

  app.get('/api/saas/chat/conversations', {
    preHandler: auth.tenant,
    schema: {
      tags: ['chat'], summary: 'Conversations, newest activity first, with unread counts (cursor pagination, search by name or phone)',
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 30 }),
        cursor: Type.Optional(Type.String({ maxLength: 200 })),
        search: Type.Optional(Type.String({ maxLength: 100 })),
      }),
      response: { 200: Type.Object({ conversations: Type.Array(ConversationSchema), nextCursor: Nullable(Type.String()) }) },
    },
  }, async (request) => {
    const q = request.query as { limit: number; cursor?: string; search?: string };
    return listConversations(await request.tenantDb(), q);
  });

  app.get('/api/saas/chat/conversations/:id/messages', {
    preHandler: auth.tenant,
    schema: {
      tags: ['chat'], summary: 'Messages of a conversation, newest first, with statuses, reactions and media (cursor pagination)',
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
        cursor: Type.Optional(Type.String({ maxLength: 200 })),
      }),
      response: { 200: Type.Object({ messages: Type.Array(MessageSchema), nextCursor: Nullable(Type.String()) }) },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const q = request.query as { limit: number; cursor?: string };
    return listConversationMessages(await request.tenantDb(), id, q);
  });

  app.get('/api/admin/webhooks', {
    preHandler: auth.admin,
    schema: {
      tags: ['admin'], summary: 'Webhook inbox rows (newest first), optionally by state',
      querystring: Type.Object({
        state: Type.Optional(Type.Union(INBOX_STATES.map((s) => Type.Literal(s)))),
        before: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
      }),
      response: { 200: Type.Object({ webhooks: Type.Array(InboxRowSchema), nextBefore: Nullable(Type.String()) }) },
    },
  }, async (request) => listWebhookInbox(ctx, request.query as { state?: (typeof INBOX_STATES)[number]; before?: string; limit: number }));

  app.post('/api/admin/webhooks/:id/replay', {
    preHandler: auth.admin,
    schema: {
      tags: ['admin'], summary: 'Replay a dead, unroutable or done webhook inbox row',
      params: Type.Object({ id: Type.String({ maxLength: 40 }) }),
      response: { 200: Type.Object({ id: Type.String(), previousState: Type.String(), state: Type.String() }) },
    },
  }, async (request) => replayWebhook(ctx, (request.params as { id: string }).id, { actor: 'admin', ip: request.ip, requestId: request.id }));
}
