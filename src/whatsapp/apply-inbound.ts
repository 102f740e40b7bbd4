/**
 * Applies the changes routed to one client (the share of every row of a
 * claimed inbox batch) in one tenant transaction, idempotently, in a few
 * set-based statements whatever the batch size: contact locks and the
 * senders' contacts read with BEGIN (one round trip), new ones inserted and
 * known ones filled in with one statement, then one
 * statement for conversations, messages (once per wamid), leads and their
 * `lead_captured` events, reactions, value-level errors, template status, and
 * statuses in two (recorded once per (wamid, status); forward only; parked when
 * the message is unknown). Batches that re-key a contact (number / BSUID
 * changes) or whose senders' ids conflict are applied message by message.
 * After commit: realtime events, domain-event dispatch, media downloads.
 */
import type pg from 'pg';
import type { AppContext } from '../context.ts';
import { enqueueMediaDownload } from '../media/index.ts';
import { withTransaction, type Db } from '../platform/db/pool.ts';
import { recordDomainEvent, type RealtimeEvent } from '../platform/events.ts';
import { tenantDbById } from '../tenants/index.ts';
import {
  contactKeys, contactsByIdentity, findContactByIdentity, findContactsByIdentitiesSql, findLeadByContact, insertWhatsappError, lockContactKeysSql,
  recordInboundMessage, recordInboundMessages, rekeyContact, setReaction, updateTemplateStatus, upsertContact, writeContacts,
  type ContactRow, type ContactWrite, type InboundMessageInput, type LeadRow,
} from './inbound.repo.ts';
import type { InboundChange, InboundContact, InboundMessage, InboundStatus } from './parse-inbound.ts';
import { presentConversation, presentMessage } from './present.ts';
import { applyRecordedStatuses, applyRecordedStatusesMany, insertStatusEvent, insertStatusEvents } from './statuses.repo.ts';
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

/** Message by message (batches that re-key contacts); the contact locks are already held. */
async function applySequential(tx: Db, clientId: string, changes: InboundChange[], fx: Effects): Promise<void> {
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

const REKEY_KINDS = new Set(['user_changed_number', 'user_changed_user_id', 'customer_changed_number']);

/** One sender of a batch: the merged identity of all its messages (ids never conflict inside it). */
interface Sender {
  waId: string | null;
  userId: string | null;
  /** Latest username seen, first profile name seen (the order upsertContact would leave them in). */
  username: string | null;
  profileName: string | null;
}

interface BatchPlan {
  senders: Sender[];
  /** New-message candidates in delivery order, wamids unique, each with its sender's index. */
  messages: Array<{ phoneNumberId: string | null; message: InboundMessage; sender: number }>;
  reactions: InboundMessage[];
  errors: Array<Record<string, unknown>>;
  templates: Array<Extract<InboundChange, { kind: 'template_status' }>>;
  /** (wamid, status) unique, first occurrence kept. */
  statuses: InboundStatus[];
}

/**
 * Splits a client's changes for the set-based path.
 * @returns null when they must be applied message by message (a contact re-key, or one sender's ids conflicting)
 */
function planBatch(changes: InboundChange[]): BatchPlan | null {
  const plan: BatchPlan = { senders: [], messages: [], reactions: [], errors: [], templates: [], statuses: [] };
  const seenWamids = new Set<string>();
  const seenStatuses = new Set<string>();
  const contacts: Array<{ contact: InboundContact; keys: string[] }> = [];
  for (const change of changes) {
    if (change.kind === 'template_status') {
      plan.templates.push(change);
      continue;
    }
    if (change.kind !== 'messages') continue;
    for (const m of change.messages) {
      if (!m.contact.waId && !m.contact.userId) continue; // no sender identity at all: nothing to attach it to
      if (m.type === 'reaction' && m.reaction) {
        plan.reactions.push(m);
        continue;
      }
      if (m.type === 'system' && REKEY_KINDS.has(String(m.content.kind))) return null;
      if (seenWamids.has(m.waMessageId)) continue; // the same message twice in one batch: stored once
      seenWamids.add(m.waMessageId);
      plan.messages.push({ phoneNumberId: change.phoneNumberId, message: m, sender: contacts.length });
      contacts.push({ contact: m.contact, keys: contactKeys(m.contact) });
    }
    for (const s of change.statuses) {
      const key = `${s.waMessageId}\u0000${s.status}`;
      if (seenStatuses.has(key)) continue;
      seenStatuses.add(key);
      plan.statuses.push(s);
    }
    plan.errors.push(...change.errors);
  }
  // Messages whose senders share an id (wa_id or BSUID) belong to one sender: union-find over the keys.
  const parent = new Map<string, string>();
  const root = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  for (const { keys } of contacts) {
    for (const k of keys) if (!parent.has(k)) parent.set(k, k);
    for (const k of keys.slice(1)) parent.set(root(k), root(keys[0]));
  }
  const senderOfRoot = new Map<string, number>();
  const senderOfMessage = contacts.map(({ contact, keys }) => {
    const r = root(keys[0]);
    let index = senderOfRoot.get(r);
    if (index === undefined) {
      index = plan.senders.length;
      senderOfRoot.set(r, index);
      plan.senders.push({ waId: null, userId: null, username: null, profileName: null });
    }
    const sender = plan.senders[index];
    if (contact.waId) sender.waId ??= contact.waId;
    if (contact.userId) sender.userId ??= contact.userId;
    if ((contact.waId && sender.waId !== contact.waId) || (contact.userId && sender.userId !== contact.userId)) return -1;
    sender.username = contact.username ?? sender.username;
    sender.profileName ??= contact.profileName;
    return index;
  });
  if (senderOfMessage.includes(-1)) return null; // e.g. one BSUID with two phone numbers: let the per-message rules decide
  for (const item of plan.messages) item.sender = senderOfMessage[item.sender];
  plan.statuses.sort(byWamid);
  return plan;
}

/** The set-based apply of one client's share of a batch (the contact locks are already held). */
async function applyBatch(tx: Db, clientId: string, plan: BatchPlan, lookup: pg.QueryResult | undefined, fx: Effects): Promise<void> {
  // Contacts: every sender looked up (in the BEGIN round trip), then one statement inserting the new and filling in the known.
  const found = contactsByIdentity((lookup?.rows ?? []) as Parameters<typeof contactsByIdentity>[0]);
  const contactOf = new Array<ContactRow>(plan.senders.length);
  const created = new Set<number>();
  const inserts: Array<{ write: ContactWrite; senders: number[] }> = [];
  const fills = new Map<string, { write: ContactWrite; senders: number[] }>();
  plan.senders.forEach((sender, index) => {
    const existing = found.get(index);
    if (!existing) {
      inserts.push({ write: { id: null, ...sender }, senders: [index] });
      created.add(index);
      return;
    }
    contactOf[index] = existing;
    const wouldChange = (sender.waId !== null && existing.wa_id === null) || (sender.userId !== null && existing.wa_user_id === null)
      || (sender.username !== null && existing.wa_username !== sender.username) || (existing.name === null && sender.profileName !== null)
      || (existing.phone === null && sender.waId !== null);
    if (!wouldChange) return;
    const fill = fills.get(existing.id);
    if (!fill) {
      fills.set(existing.id, { write: { id: existing.id, ...sender }, senders: [index] });
    } else {
      // Two senders of the batch turned out to be one stored contact (one matched by wa_id, the other by BSUID).
      fill.write.waId ??= sender.waId;
      fill.write.userId ??= sender.userId;
      fill.write.username = sender.username ?? fill.write.username;
      fill.write.profileName ??= sender.profileName;
      fill.senders.push(index);
    }
  });
  if (inserts.length > 0 || fills.size > 0) {
    const { inserted, updated } = await writeContacts(tx, [...inserts.map((i) => i.write), ...[...fills.values()].map((f) => f.write)]);
    const byKey = new Map<string, ContactRow>();
    for (const row of inserted) for (const key of contactKeys({ waId: row.wa_id, userId: row.wa_user_id })) byKey.set(key, row);
    for (const { write, senders } of inserts) {
      const row = contactKeys(write).map((k) => byKey.get(k)).find((r) => r !== undefined);
      if (!row) throw new Error('inbound contact insert returned no row for a sender');
      for (const index of senders) contactOf[index] = row;
    }
    const byId = new Map(updated.map((row) => [row.id, row]));
    for (const { write, senders } of fills.values()) {
      const row = byId.get(write.id!);
      if (row) for (const index of senders) contactOf[index] = row;
    }
  }

  // Conversations, messages, leads and lead_captured events: one statement.
  const inputs: InboundMessageInput[] = plan.messages.map(({ phoneNumberId, message: m, sender }) => {
    const contact = contactOf[sender];
    return {
      contactId: contact.id,
      phoneNumberId,
      message: m,
      lead: {
        source: m.referral ? 'whatsapp_ad' : 'whatsapp',
        sourceDetails: m.referral ? { referral: m.referral.raw, ctwaClid: m.referral.ctwaClid, phoneNumberId } : { phoneNumberId },
      },
      leadEvent: {
        phone: contact.phone, waId: contact.wa_id, userId: contact.wa_user_id, name: contact.name,
        referral: m.referral?.raw ?? null, newContact: created.has(sender),
      },
    };
  });
  const recorded = await recordInboundMessages(tx, inputs);
  const contactById = new Map(contactOf.map((c) => [c.id, c]));
  const lastOfConversation = new Map<string, string>();
  for (const message of recorded.messages) lastOfConversation.set(message.conversation_id, message.id);
  const leadAnnounced = new Set<string>();
  for (const message of recorded.messages) {
    const conversationId = message.conversation_id;
    fx.messagesCreated++;
    fx.events.push({ clientId, event: 'message.created', conversationId, payload: { conversationId, message: presentMessage(message) } });
    const conversation = recorded.conversations.get(conversationId);
    if (conversation && lastOfConversation.get(conversationId) === message.id) {
      fx.events.push({ clientId, event: 'conversation.updated', conversationId, payload: { conversation: presentConversation(conversation) } });
    }
    if (message.media_id) fx.media.push({ messageId: message.id, mediaId: message.media_id });
    const lead = recorded.leads.get(message.contact_id);
    if (lead && !leadAnnounced.has(lead.id)) {
      leadAnnounced.add(lead.id);
      fx.domainEvents++;
      fx.events.push({ clientId, event: 'lead.created', payload: presentLead(lead, contactById.get(message.contact_id)!) });
    }
  }

  for (const m of plan.reactions) {
    const updated = await setReaction(tx, m.reaction!.targetWaMessageId, m.contact.waId ?? m.contact.userId!, m.reaction!.emoji);
    if (updated) {
      fx.events.push({
        clientId, event: 'message.updated', conversationId: updated.conversation_id,
        payload: { conversationId: updated.conversation_id, messageId: updated.id, waMessageId: m.reaction!.targetWaMessageId, reactions: updated.reactions },
      });
    }
  }
  for (const e of plan.errors) await insertWhatsappError(tx, e);
  for (const t of plan.templates) {
    await updateTemplateStatus(tx, { templateId: t.templateId, name: t.name, language: t.language, status: t.event, reason: t.reason });
  }

  // Statuses after the messages (a status may refer to one of them): record once, then move messages forward,
  // including new messages whose statuses had arrived before them (parked).
  const recordedStatuses = await insertStatusEvents(tx, plan.statuses);
  fx.statusesRecorded += recordedStatuses.length;
  for (const moved of await applyRecordedStatusesMany(tx, [...recordedStatuses, ...recorded.parked])) {
    fx.events.push({
      clientId, event: 'message.updated', conversationId: moved.conversationId,
      payload: { conversationId: moved.conversationId, messageId: moved.messageId, waMessageId: moved.waMessageId, status: moved.status, error: moved.error ?? null },
    });
  }
}

/** Applies `changes` (all routed to `clientId`) and publishes what changed once committed. */
export async function applyClientChanges(ctx: AppContext, clientId: string, changes: InboundChange[]): Promise<ApplyResult> {
  const db = await tenantDbById(ctx, clientId);
  const plan = planBatch(changes);
  // The contact locks (sorted: concurrent transactions never wait on each other in a cycle) and the senders'
  // contacts, read under those locks, in the BEGIN round trip.
  const lock = lockContactKeysSql(keysOf(changes));
  const prelude = plan && lock && plan.senders.length > 0 ? `${lock}; ${findContactsByIdentitiesSql(plan.senders)}` : lock;
  let fx: Effects;
  for (let attempt = 1; ; attempt++) {
    fx = { events: [], media: [], domainEvents: 0, messagesCreated: 0, statusesRecorded: 0 };
    try {
      await withTransaction(db, (tx, started) => (plan ? applyBatch(tx, clientId, plan, plan.senders.length > 0 ? started : undefined, fx) : applySequential(tx, clientId, changes, fx)), { prelude });
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
  await Promise.all(fx.media.map((media) => enqueueMediaDownload(ctx, { clientId, messageId: media.messageId, mediaId: media.mediaId }).catch((err: Error) => {
    // The message is stored with media_status 'pending'; the media domain's sweep can pick it up again.
    ctx.logger.warn({ clientId, messageId: media.messageId, err: err.message }, 'could not queue media download');
  })));
  if (changes.some((c) => c.kind === 'template_status')) {
    // A template changed at Meta: re-sync the client's templates (components, new ones), at most once a minute.
    await ctx.queue.enqueue(syncTemplatesJob, { clientId }, { key: `${clientId}:webhook:${Math.floor(Date.now() / 60_000)}` }).catch((err: Error) => {
      ctx.logger.warn({ clientId, err: err.message }, 'could not queue a template re-sync');
    });
  }
  return { messagesCreated: fx.messagesCreated, statusesRecorded: fx.statusesRecorded, events: fx.events };
}
