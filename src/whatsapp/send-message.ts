/**
 * Use case: send a WhatsApp message. Checks everything Meta would refuse up
 * front (content limits, the 24-hour window for free-form messages, the synced
 * template and its parameters), stores the message as `queued` under its
 * idempotency key (a repeated key returns the existing message), and enqueues
 * the durable send job keyed by the message id. Answered with 202 by the route.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { tenantDbById } from '../tenants/index.ts';
import { resolveGraphTarget } from './graph-client.ts';
import { ensureConversation, lockContactKeys, upsertContact } from './inbound.repo.ts';
import { normaliseContent, normalisePhone, type SendContentInput, type StoredContent } from './message-content.ts';
import {
  findByIdempotencyKey, findConversationAndTemplates, findConversationByPhone, findConversationMessage, findConversationWithContact, insertQueuedMessage,
  type ConversationWithContact,
} from './outbound.repo.ts';
import { presentMessage, type MessageView } from './present.ts';
import { sendMessageJob } from './send-message.job.ts';
import { bodyFromVariables, checkTemplateParameters, type SendComponent } from './template-rules.ts';
import { findTemplate, findTemplateLanguages, type TemplateRow } from './templates.repo.ts';

const WINDOW_MS = 24 * 60 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SendMessageInput extends SendContentInput {
  /** An existing conversation, or… */
  conversationId?: string;
  /** …a phone number (contact and conversation are created when new). */
  to?: string;
  /** Reply to a message of the conversation (our id or its wamid). */
  context?: { messageId: string };
  idempotencyKey?: string;
  /** Who sends (user, `workflow:<id>`, `api`). */
  actor: string;
}

export interface SendMessageResult { message: MessageView; replayed: boolean }

export async function sendMessage(ctx: AppContext, clientId: string, db: pg.Pool, input: SendMessageInput): Promise<SendMessageResult> {
  if (input.idempotencyKey) {
    const existing = await findByIdempotencyKey(db, input.idempotencyKey);
    if (existing) return { message: presentMessage(existing), replayed: true };
  }
  const normalised = normaliseContent(input);
  if ((input.conversationId === undefined) === (input.to === undefined)) {
    throw new AppError('VALIDATION_FAILED', { message: 'Give either conversationId or to (a phone number)' });
  }
  const to = input.to !== undefined ? normalisePhone(input.to) : undefined;
  // Fails fast while the client's sends are paused (token rejected) and gives the sending number.
  const target = await resolveGraphTarget(ctx, clientId);
  let conversation: ConversationWithContact | undefined;
  let templates: TemplateRow[] | undefined;
  if (input.conversationId !== undefined && input.type === 'template' && input.template) {
    // The common automated send: conversation and template in one round trip.
    ({ conversation, templates } = await findConversationAndTemplates(db, input.conversationId, input.template.name, input.template.language));
    if (!conversation) throw new AppError('NOT_FOUND', { message: 'Conversation not found' });
  } else if (input.conversationId !== undefined) {
    conversation = await findConversationWithContact(db, input.conversationId);
    if (!conversation) throw new AppError('NOT_FOUND', { message: 'Conversation not found' });
  } else if (input.type === 'template') {
    conversation = await conversationForPhone(db, to!, target.phoneNumberId);
  } else {
    // Free-form to a number we have no conversation with is outside the window: nothing is created.
    conversation = await findConversationByPhone(db, to!, target.phoneNumberId);
    if (!conversation) throw outsideWindow(null);
  }
  if (!conversation) throw new AppError('NOT_FOUND', { message: 'Conversation not found' });
  const recipient = conversation.wa_id ?? conversation.phone;
  if (!recipient) throw new AppError('UNPROCESSABLE', { message: 'This contact has no WhatsApp phone number to send to' });

  if (input.type !== 'template') {
    const last = conversation.last_inbound_at;
    if (!last || Date.now() - last.getTime() > WINDOW_MS) throw outsideWindow(last);
  }

  const body = normalised.body as Record<string, unknown>;
  if (input.type === 'template') Object.assign(body, await checkTemplate(db, input.template!, templates));
  if (input.type === 'reaction') {
    const target = await findConversationMessage(db, conversation.id, input.reaction!.messageId);
    if (!target?.wa_message_id) throw new AppError('NOT_FOUND', { message: 'The message to react to was not found in this conversation (or has not been sent yet)' });
    body.waMessageId = target.wa_message_id;
  }
  let replyToWaId: string | null = null;
  if (input.context) {
    if (input.type === 'reaction') throw new AppError('VALIDATION_FAILED', { message: 'context is not allowed on reactions' });
    const quoted = await findConversationMessage(db, conversation.id, input.context.messageId);
    if (!quoted?.wa_message_id) throw new AppError('NOT_FOUND', { message: 'The message to reply to was not found in this conversation (or has not been sent yet)' });
    replyToWaId = quoted.wa_message_id;
  }

  const content: StoredContent = { to: recipient, type: input.type, body: normalised.body };
  const idempotencyKey = input.idempotencyKey ?? `auto:${randomUUID()}`;
  // Job first, then the row (one statement: message, media bytes, conversation): a crash in between
  // leaves a job without a message (it gives up), never a queued message without a job. The job
  // waits for the row (see performSends); when the row is not written, the job is cancelled.
  const messageId = randomUUID();
  const jobId = await enqueueSend(ctx, clientId, messageId);
  let inserted;
  try {
    inserted = await insertQueuedMessage(db, {
      id: messageId, conversationId: conversation.id, contactId: conversation.contact_id, type: input.type, text: normalised.preview, content,
      replyToWaId, idempotencyKey, sentBy: input.actor, upload: normalised.upload ?? null,
    });
  } catch (err) {
    await ctx.queue.cancel(sendMessageJob.name, [jobId]).catch(() => {});
    throw err;
  }
  const { row, created } = inserted;
  if (!created) {
    await ctx.queue.cancel(sendMessageJob.name, [jobId]).catch(() => {});
    return { message: presentMessage(row), replayed: true };
  }
  const message = presentMessage(row);
  ctx.realtime.publish({ clientId, event: 'message.created', payload: { conversationId: conversation.id, message }, conversationId: conversation.id });
  return { message, replayed: false };
}

function outsideWindow(last: Date | null): AppError {
  return new AppError('OUTSIDE_24H_WINDOW', {
    message: last
      ? `The customer last wrote at ${last.toISOString()}, more than 24 hours ago: only an approved template can be sent now (type "template").`
      : 'The customer has not written to this number yet: only an approved template can be sent (type "template").',
    details: { lastInboundAt: last?.toISOString() ?? null, hint: 'Send an approved template instead (type "template")' },
  });
}

/** Enqueues the send job, keyed by the message id (a second enqueue of the same message is a no-op). */
async function enqueueSend(ctx: AppContext, clientId: string, messageId: string): Promise<string> {
  try {
    // Concurrent sends share one INSERT into the queue.
    return await ctx.queue.enqueue(sendMessageJob, { clientId, messageId }, { key: messageId, coalesce: true });
  } catch (err) {
    throw new AppError('UPSTREAM_UNAVAILABLE', { message: 'Could not queue the message; nothing was stored, try again', cause: err, retryAfterSeconds: 2 });
  }
}

async function conversationForPhone(db: pg.Pool, phone: string, phoneNumberId: string): Promise<ConversationWithContact | undefined> {
  const conversationId = await withTransaction(db, async (tx) => {
    await lockContactKeys(tx, [`wa:${phone}`]);
    const { contact } = await upsertContact(tx, { waId: phone, userId: null, username: null, profileName: null });
    return ensureConversation(tx, contact.id, phoneNumberId);
  });
  return findConversationWithContact(db, conversationId);
}

/** Checks a template send against the synced template; returns what to store (language, components). */
async function checkTemplate(db: pg.Pool, input: NonNullable<SendContentInput['template']>, loaded?: TemplateRow[]): Promise<{ language: string; components: SendComponent[] }> {
  let template;
  if (input.language) {
    template = loaded ? loaded.find((t) => t.language === input.language) : await findTemplate(db, input.name, input.language);
  } else {
    const all = loaded ?? await findTemplateLanguages(db, input.name);
    template = all.find((t) => t.status === 'APPROVED' && t.language === 'en_US') ?? all.find((t) => t.status === 'APPROVED') ?? all[0];
  }
  if (!template) throw new AppError('TEMPLATE_NOT_FOUND', { message: 'Template not found', details: { name: input.name, language: input.language ?? null, hint: 'Sync templates: POST /api/saas/chat/templates/sync' } });
  if (template.status !== 'APPROVED') {
    throw new AppError('TEMPLATE_NOT_APPROVED', { message: `Template ${template.name} (${template.language}) is ${template.status}; only APPROVED templates can be sent`, details: { status: template.status } });
  }
  if (input.variables && input.components?.some((c) => c.type.toLowerCase() === 'body')) {
    throw new AppError('VALIDATION_FAILED', { message: 'template: give the body parameters either as variables or as a body component, not both' });
  }
  const components = [...bodyFromVariables(template.parameter_counts, input.variables ?? []), ...(input.components ?? [])];
  checkTemplateParameters(template.name, template.parameter_counts, components);
  return { language: template.language, components };
}

export interface SendTemplateOptions {
  clientId: string;
  phone: string;
  templateName: string;
  language?: string;
  variables: string[];
  idempotencyKey: string;
  conversationId?: string;
  actor: string;
}

/**
 * For automations (`send_whatsapp` actions): a template to a phone number, queued
 * durably under the caller's idempotency key (a repeat returns the same message).
 */
export async function sendTemplateMessage(ctx: AppContext, options: SendTemplateOptions): Promise<{ messageId: string; status: string; conversationId: string; waMessageId: string | null }> {
  const db = await tenantDbById(ctx, options.clientId);
  // A conversationId from the caller's own system may not be ours: fall back to the phone then.
  const known = options.conversationId && UUID.test(options.conversationId) && await findConversationWithContact(db, options.conversationId);
  const recipient = known ? { conversationId: options.conversationId } : { to: options.phone };
  const { message } = await sendMessage(ctx, options.clientId, db, {
    ...recipient,
    type: 'template',
    template: { name: options.templateName, language: options.language, variables: options.variables },
    idempotencyKey: options.idempotencyKey,
    actor: options.actor,
  });
  return { messageId: message.id, status: message.status, conversationId: message.conversationId, waMessageId: message.waMessageId };
}
