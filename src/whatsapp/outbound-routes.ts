/**
 * Outbound chat routes: send a message (202, durable), mark read, templates
 * (sync + list) and conversation actions (read, assign, close, reopen, contact).
 * The inbound side owns the conversation and message lists.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../auth/auth-hooks.ts';
import type { AppContext } from '../context.ts';
import { ErrorBodySchema } from '../platform/http/errors.ts';
import { assignConversation, conversationContact, markConversationRead, markMessageRead, setConversationOpen } from './manage-conversation.ts';
import { MEDIA_LIMITS } from './message-content.ts';
import { AssignBody, ConversationActionView, ContactProfile, IdParams, MessageView, SendMessageBody, TemplateView } from './outbound.schema.ts';
import { sendMessage } from './send-message.ts';
import { syncTemplates } from './sync-templates.ts';
import { listTemplateRows } from './templates.repo.ts';

const tags = { tags: ['chat'], security: [{ apiKey: [], clientCode: [] }] };
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 413: ErrorBodySchema, 422: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema, 503: ErrorBodySchema };

/** A base64 body of the largest inline upload (16 MB video/audio) plus JSON around it. */
const SEND_BODY_LIMIT = Math.ceil((MEDIA_LIMITS.video.maxBytes * 4) / 3) + 256 * 1024;

function actorOf(request: FastifyRequest): string {
  const header = request.headers['x-actor'];
  return typeof header === 'string' && header.length > 0 && header.length <= 200 ? header : 'api';
}

export async function registerWhatsappOutboundRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.post('/api/saas/chat/messages', {
    preHandler: auth.tenant,
    bodyLimit: SEND_BODY_LIMIT,
    schema: {
      ...tags,
      summary: 'Send a WhatsApp message (queued durably; answers 202, then statuses move it to sent, delivered, read)',
      description: 'Text, media (link, Meta media id or base64 data), template, interactive (button, list, cta_url), reaction, location, contacts; `context.messageId` replies to a message. '
        + 'Free-form messages need the customer\'s 24-hour window; templates are checked against the synced templates. An `idempotencyKey` (body or Idempotency-Key header) makes retries return the same message.',
      body: SendMessageBody,
      headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
      response: { 202: MessageView, ...errors },
    },
  }, async (request, reply) => {
    const body = request.body as SendMessageBody;
    const header = request.headers['idempotency-key'];
    const idempotencyKey = body.idempotencyKey ?? (typeof header === 'string' ? header : undefined);
    const db = await request.tenantDb();
    const result = await sendMessage(ctx, request.client!.id, db, { ...body, idempotencyKey, actor: actorOf(request) } as Parameters<typeof sendMessage>[3]);
    if (result.replayed) reply.header('idempotent-replayed', 'true');
    return reply.status(202).send(result.message);
  });

  app.post('/api/saas/chat/messages/:id/read', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Mark a received message (and the ones before it) as read at WhatsApp', params: IdParams, response: { 200: Type.Object({ id: Type.String(), waMessageId: Type.String(), read: Type.Boolean() }), ...errors } },
  }, async (request) => {
    const { id } = request.params as { id: string };
    return markMessageRead(ctx, request.client!.id, await request.tenantDb(), id);
  });

  app.post('/api/saas/chat/templates/sync', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Pull every template of the client\'s WhatsApp Business Account from Meta (all statuses); missing ones are marked deleted', response: { 200: Type.Object({ synced: Type.Integer(), deleted: Type.Integer(), pages: Type.Integer() }), ...errors } },
  }, async (request) => syncTemplates(ctx, request.client!.id));

  app.get('/api/saas/chat/templates', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Synced templates with status and components',
      querystring: Type.Object({ status: Type.Optional(Type.String({ maxLength: 40 })), name: Type.Optional(Type.String({ maxLength: 512 })), includeDeleted: Type.Boolean({ default: false }) }),
      response: { 200: Type.Object({ items: Type.Array(TemplateView) }), ...errors },
    },
  }, async (request) => {
    const query = request.query as { status?: string; name?: string; includeDeleted: boolean };
    const rows = await listTemplateRows(await request.tenantDb(), { status: query.status?.toUpperCase(), name: query.name, includeDeleted: query.includeDeleted });
    return {
      items: rows.map((t) => ({
        id: t.id, waTemplateId: t.wa_template_id, name: t.name, language: t.language, status: t.status, category: t.category, components: t.components,
        parameterCounts: t.parameter_counts, rejectedReason: t.rejected_reason, syncedAt: t.synced_at.toISOString(), deletedAt: t.deleted_at?.toISOString() ?? null,
      })),
    };
  });

  const conversationAction = (path: string, summary: string, run: (request: FastifyRequest, id: string) => Promise<unknown>, body?: typeof AssignBody) => {
    app.post(`/api/saas/chat/conversations/:id/${path}`, {
      preHandler: auth.tenant,
      schema: { ...tags, summary, params: IdParams, ...(body ? { body } : {}), response: { 200: ConversationActionView, ...errors } },
    }, async (request) => run(request, (request.params as { id: string }).id));
  };
  conversationAction('read', 'Mark the conversation read (unread count to zero, read receipt to WhatsApp)', async (request, id) => markConversationRead(ctx, request.client!.id, await request.tenantDb(), id));
  conversationAction('assign', 'Assign the conversation (assignedTo: null unassigns)', async (request, id) => assignConversation(ctx, request.client!.id, await request.tenantDb(), id, (request.body as { assignedTo: string | null }).assignedTo), AssignBody);
  conversationAction('close', 'Close the conversation', async (request, id) => setConversationOpen(ctx, request.client!.id, await request.tenantDb(), id, false));
  conversationAction('reopen', 'Reopen the conversation', async (request, id) => setConversationOpen(ctx, request.client!.id, await request.tenantDb(), id, true));

  app.get('/api/saas/chat/conversations/:id/contact', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'The contact behind a conversation, with its lead', params: IdParams, response: { 200: ContactProfile, ...errors } },
  }, async (request) => conversationContact(await request.tenantDb(), (request.params as { id: string }).id));
}
