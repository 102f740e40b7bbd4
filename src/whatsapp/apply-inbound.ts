/**
 * Applies the changes of one webhook body that belong to one client, in one
 * tenant transaction, idempotently: contacts by wa_id / BSUID, conversations,
 * messages once per wamid, reactions, statuses (forward only, parked when the
 * message is unknown), value-level errors, template status. After commit:
 * realtime events, domain-event dispatch, media downloads.
 */
import type { AppContext } from '../context.ts';
import { enqueueMediaDownload } from '../media/index.ts';
import { withTransaction, type Db } from '../platform/db/pool.ts';
import { recordDomainEvent, type RealtimeEvent } from '../platform/events.ts';
import { tenantDbById } from '../tenants/index.ts';
import {
  contactKeys, findContactByIdentity, findLeadByContact, recordInboundMessage,
  insertWhatsappError, lockContactKeys, rekeyContact, setReaction, updateTemplateStatus, upsertContact,
  type ContactRow, type LeadRow,
} from './inbound.repo.ts';
import type { InboundChange, InboundMessage, InboundStatus } from './parse-inbound.ts';
import { presentConversation, presentMessage } from './present.ts';
import { applyRecordedStatuses, insertStatusEvent } from './statuses.repo.ts';
import { syncTemplatesJob } from './sync-templates.job.ts';

export interface ApplyResult {
  messagesCreated: number;
  statusesRecorded: number;
  events: RealtimeEvent[];
}

interface Effects {
  events: RealtimeEvent[];
  media: Array<{ messageId: string; mediaId: string }>;
  domainEvents: number;
  messagesCreated: number;
  statusesRecorded: number;
}

const RETRYABLE_PG = new Set(['40P01', '40001', '23505']);

function presentLead(lead: LeadRow, contact: ContactRow) {
  return {
    lead: { id: lead.id, contactId: lead.contact_id, stage: lead.stage, source: lead.source, sourceDetails: lead.source_details ?? null, createdAt: lead.created_at.toISOString() },
    contact: { id: contact.id, name: contact.name, phone: contact.phone, waId: contact.wa_id, userId: contact.wa_user_id, username: contact.wa_username },
  };
}

async function applyMessage(tx: Db, clientId: string, phoneNumberId: string | null, m: InboundMessage, fx: Effects): Promise<void> {
  const identity = m.contact;
  if (!identity.waId && !identity.userId) return; // no sender identity at all: nothing to attach it to

  if (m.type === 'reaction' && m.reaction) {
    const reactor = identity.waId ?? identity.userId!;
    const updated = await setReaction(tx, m.reaction.targetWaMessageId, reactor, m.reaction.emoji);
    if (updated) {
      fx.events.push({
        clientId, event: 'message.updated', conversationId: updated.conversation_id,
        payload: { conversationId: updated.conversation_id, messageId: updated.id, waMessageId: m.reaction.targetWaMessageId, reactions: updated.reactions },
      });
    }
    return;
  }

  let contact: ContactRow;
  let created = false;
  let rekeyed = false;
  if (m.type === 'system' && (m.content.kind === 'user_changed_number' || m.content.kind === 'user_changed_user_id' || m.content.kind === 'customer_changed_number')) {
    const found = await findContactByIdentity(tx, identity);
    if (found) {
      contact = (await rekeyContact(tx, found.id, { waId: (m.content.waId as string | null) ?? null, userId: (m.content.userId as string | null) ?? null }))!;
      rekeyed = true;
    } else {
      ({ contact, created } = await upsertFromMessage(tx, m));
    }
  } else {
    ({ contact, created } = await upsertFromMessage(tx, m));
  }

  const recorded = await recordInboundMessage(tx, {
    contactId: contact.id,
    phoneNumberId,
    message: m,
    lead: {
      source: m.referral ? 'whatsapp_ad' : 'whatsapp',
      sourceDetails: m.referral ? { referral: m.referral.raw, ctwaClid: m.referral.ctwaClid, phoneNumberId } : { phoneNumberId },
    },
  });
  if (!recorded) return; // redelivery: nothing changes, nobody is notified
  const { message, conversation, lead } = recorded;
  const conversationId = message.conversation_id;
  fx.messagesCreated++;
  fx.events.push({ clientId, event: 'message.created', conversationId, payload: { conversationId, message: presentMessage(message) } });
  fx.events.push({ clientId, event: 'conversation.updated', conversationId, payload: { conversation: presentConversation(conversation) } });
  if (message.media_id) fx.media.push({ messageId: message.id, mediaId: message.media_id });

  if (lead) {
    await recordDomainEvent(tx, 'lead_captured', {
      leadId: lead.id, contactId: contact.id, conversationId, messageId: message.id, source: lead.source,
      phone: contact.phone, waId: contact.wa_id, userId: contact.wa_user_id, name: contact.name,
      referral: m.referral?.raw ?? null, newContact: created,
    });
    fx.domainEvents++;
    fx.events.push({ clientId, event: 'lead.created', payload: presentLead(lead, contact) });
  } else if (rekeyed) {
    const existing = await findLeadByContact(tx, contact.id);
    if (existing) fx.events.push({ clientId, event: 'lead.updated', payload: { ...presentLead(existing, contact), reason: 'contact_rekeyed' } });
  }
}

async function upsertFromMessage(tx: Db, m: InboundMessage): Promise<{ contact: ContactRow; created: boolean }> {
  const result = await upsertContact(tx, m.contact);
  return { contact: result.contact, created: result.created };
}

/** Every contact key the messages touch (the sender, and the new ids of a number change). */
function keysOf(changes: InboundChange[]): string[] {
  const keys: string[] = [];
  for (const change of changes) {
    if (change.kind !== 'messages') continue;
    for (const m of change.messages) {
      keys.push(...contactKeys(m.contact));
      if (m.type === 'system') {
        keys.push(...contactKeys({
          waId: typeof m.content.waId === 'string' ? m.content.waId : null,
          userId: typeof m.content.userId === 'string' ? m.content.userId : null,
        }));
      }
    }
  }
  return keys;
}

const byWamid = (a: InboundStatus, b: InboundStatus) => (a.waMessageId < b.waMessageId ? -1 : a.waMessageId > b.waMessageId ? 1 : 0);

async function applyAll(tx: Db, clientId: string, changes: InboundChange[], fx: Effects): Promise<void> {
  // All contact locks first, in one sorted batch: concurrent transactions never wait on each other in a cycle.
  await lockContactKeys(tx, keysOf(changes));
  const statuses: InboundStatus[] = [];
  for (const change of changes) {
    if (change.kind === 'messages') {
      for (const m of change.messages) await applyMessage(tx, clientId, change.phoneNumberId, m, fx);
      statuses.push(...change.statuses);
      for (const e of change.errors) await insertWhatsappError(tx, e);
    } else if (change.kind === 'template_status') {
      await updateTemplateStatus(tx, { templateId: change.templateId, name: change.name, language: change.language, status: change.event, reason: change.reason });
    }
  }
  // After the messages (a status may refer to one of them), sorted so message rows are updated in one order.
  for (const s of statuses.sort(byWamid)) {
    if (!(await insertStatusEvent(tx, s))) continue; // same (wamid, status) again: already handled
    fx.statusesRecorded++;
    const moved = await applyRecordedStatuses(tx, s.waMessageId);
    if (moved) {
      fx.events.push({
        clientId, event: 'message.updated', conversationId: moved.conversationId,
        payload: { conversationId: moved.conversationId, messageId: moved.messageId, waMessageId: moved.waMessageId, status: moved.status, error: moved.error ?? null },
      });
    }
  }
}

/** Applies `changes` (all routed to `clientId`) and publishes what changed once committed. */
export async function applyClientChanges(ctx: AppContext, clientId: string, changes: InboundChange[]): Promise<ApplyResult> {
  const db = await tenantDbById(ctx, clientId);
  let fx: Effects;
  for (let attempt = 1; ; attempt++) {
    fx = { events: [], media: [], domainEvents: 0, messagesCreated: 0, statusesRecorded: 0 };
    try {
      await withTransaction(db, (tx) => applyAll(tx, clientId, changes, fx));
      break;
    } catch (err) {
      // Deadlock / serialization / a concurrent insert of the same key: the next attempt sees the winner's row.
      if (attempt < 4 && RETRYABLE_PG.has((err as { code?: string }).code ?? '')) continue;
      throw err;
    }
  }
  for (const event of fx.events) {
    try {
      ctx.realtime.publish(event);
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message, event: event.event }, 'realtime publish failed');
    }
  }
  if (fx.domainEvents > 0) ctx.domainEvents.recorded(clientId);
  for (const media of fx.media) {
    await enqueueMediaDownload(ctx, { clientId, messageId: media.messageId, mediaId: media.mediaId }).catch((err: Error) => {
      // The message is stored with media_status 'pending'; the media domain's sweep can pick it up again.
      ctx.logger.warn({ clientId, messageId: media.messageId, err: err.message }, 'could not queue media download');
    });
  }
  if (changes.some((c) => c.kind === 'template_status')) {
    // A template changed at Meta: re-sync the client's templates (components, new ones), at most once a minute.
    await ctx.queue.enqueue(syncTemplatesJob, { clientId }, { key: `${clientId}:webhook:${Math.floor(Date.now() / 60_000)}` }).catch((err: Error) => {
      ctx.logger.warn({ clientId, err: err.message }, 'could not queue a template re-sync');
    });
  }
  return { messagesCreated: fx.messagesCreated, statusesRecorded: fx.statusesRecorded, events: fx.events };
}
