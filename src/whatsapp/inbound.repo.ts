/** SQL for applying inbound WhatsApp traffic to a tenant database (contacts, conversations, messages, leads). */
import pg from 'pg';
import type { Db } from '../platform/db/pool.ts';
import type { InboundContact, InboundMessage } from './parse-inbound.ts';

export interface ContactRow {
  id: string;
  phone: string | null;
  wa_id: string | null;
  wa_user_id: string | null;
  wa_username: string | null;
  name: string | null;
}

export interface ConversationRow {
  id: string;
  contact_id: string;
  phone_number_id: string | null;
  status: string;
  last_inbound_at: Date | null;
  last_message_at: Date | null;
  last_message_preview: string | null;
  unread_count: number;
  updated_at: Date;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  contact_id: string;
  direction: string;
  wa_message_id: string | null;
  type: string;
  text: string | null;
  content: Record<string, unknown>;
  reply_to_wa_id: string | null;
  is_forwarded: boolean;
  status: string;
  error: unknown;
  reactions: Record<string, string>;
  media_id: string | null;
  media_status: string | null;
  media_storage_key: string | null;
  media_mime_type: string | null;
  media_size: string | null;
  media_filename: string | null;
  wa_timestamp: Date | null;
  created_at: Date;
}

export interface LeadRow {
  id: string;
  contact_id: string;
  stage: string;
  source: string;
  source_details: unknown;
  created_at: Date;
}

const CONTACT_COLUMNS = 'id, phone, wa_id, wa_user_id, wa_username, name';
export const MESSAGE_COLUMNS = `id, conversation_id, contact_id, direction, wa_message_id, type, text, content, reply_to_wa_id, is_forwarded,
  status, error, reactions, media_id, media_status, media_storage_key, media_mime_type, media_size, media_filename, wa_timestamp, created_at`;

/**
 * Serialises work on one person's contact across concurrent transactions (keys sorted by the caller's
 * set, so two transactions never wait on each other in opposite orders).
 */
export async function lockContactKeys(db: Db, keys: string[]): Promise<void> {
  const sorted = [...new Set(keys)].sort();
  if (sorted.length === 0) return;
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k ORDER BY k`, [sorted]);
}

/** lockContactKeys as SQL without parameters, to send with BEGIN in one round trip (undefined when there are no keys). */
export function lockContactKeysSql(keys: string[]): string | undefined {
  const sorted = [...new Set(keys)].sort();
  if (sorted.length === 0) return undefined;
  return `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(ARRAY[${sorted.map((k) => pg.escapeLiteral(k)).join(', ')}]::text[]) AS k ORDER BY k`;
}

export function contactKeys(c: Pick<InboundContact, 'waId' | 'userId'>): string[] {
  return [c.waId ? `wa:${c.waId}` : null, c.userId ? `bsuid:${c.userId}` : null].filter((k): k is string => k !== null);
}

export async function findContactByIdentity(db: Db, identity: { waId: string | null; userId: string | null }): Promise<ContactRow | undefined> {
  const { rows } = await db.query<ContactRow>(
    `SELECT ${CONTACT_COLUMNS} FROM contacts WHERE wa_user_id = $2 OR wa_id = $1
     ORDER BY (wa_user_id IS NOT DISTINCT FROM $2) DESC LIMIT 1`,
    [identity.waId, identity.userId],
  );
  return rows[0];
}

/**
 * Finds the contact by BSUID or wa_id (call under lockContactKeys) and fills in what is new;
 * creates it when unknown. The CRM's own name is never overwritten by the WhatsApp profile name.
 */
export async function upsertContact(db: Db, c: InboundContact): Promise<{ contact: ContactRow; created: boolean; changed: boolean }> {
  const existing = await findContactByIdentity(db, c);
  if (!existing) {
    const { rows } = await db.query<ContactRow>(
      `INSERT INTO contacts (phone, wa_id, wa_user_id, wa_username, name) VALUES ($1, $1, $2, $3, $4) RETURNING ${CONTACT_COLUMNS}`,
      [c.waId, c.userId, c.username, c.profileName],
    );
    return { contact: rows[0], created: true, changed: true };
  }
  const wouldChange = (c.waId !== null && existing.wa_id === null) || (c.userId !== null && existing.wa_user_id === null)
    || (c.username !== null && existing.wa_username !== c.username) || (existing.name === null && c.profileName !== null)
    || (existing.phone === null && c.waId !== null);
  if (!wouldChange) return { contact: existing, created: false, changed: false };
  const { rows } = await db.query<ContactRow & { changed: boolean }>(
    `UPDATE contacts SET
       wa_id = CASE WHEN $2::text IS NOT NULL AND wa_id IS NULL AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.wa_id = $2 AND o.id <> $1) THEN $2 ELSE wa_id END,
       phone = coalesce(phone, $2),
       wa_user_id = CASE WHEN $3::text IS NOT NULL AND wa_user_id IS NULL AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.wa_user_id = $3 AND o.id <> $1) THEN $3 ELSE wa_user_id END,
       wa_username = coalesce($4, wa_username),
       name = coalesce(name, $5),
       updated_at = now()
     WHERE id = $1 AND (
       ($2::text IS NOT NULL AND wa_id IS NULL) OR ($3::text IS NOT NULL AND wa_user_id IS NULL)
       OR ($4::text IS NOT NULL AND wa_username IS DISTINCT FROM $4) OR (name IS NULL AND $5::text IS NOT NULL) OR (phone IS NULL AND $2::text IS NOT NULL))
     RETURNING ${CONTACT_COLUMNS}`,
    [existing.id, c.waId, c.userId, c.username, c.profileName],
  );
  return { contact: rows[0] ?? existing, created: false, changed: rows.length > 0 };
}

/** Re-keys a contact after `user_changed_number` / `user_changed_user_id` (never creates a new one). */
export async function rekeyContact(db: Db, contactId: string, next: { waId: string | null; userId: string | null }): Promise<ContactRow | undefined> {
  const { rows } = await db.query<ContactRow>(
    `UPDATE contacts SET
       wa_id = CASE WHEN $2::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.wa_id = $2 AND o.id <> $1) THEN $2 ELSE wa_id END,
       phone = coalesce($2, phone),
       wa_user_id = CASE WHEN $3::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.wa_user_id = $3 AND o.id <> $1) THEN $3 ELSE wa_user_id END,
       updated_at = now()
     WHERE id = $1 RETURNING ${CONTACT_COLUMNS}`,
    [contactId, next.waId, next.userId],
  );
  return rows[0];
}

/** The contact's conversation on this business number (created when missing). */
export async function ensureConversation(db: Db, contactId: string, phoneNumberId: string | null): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO conversations (contact_id, phone_number_id) VALUES ($1, $2)
     ON CONFLICT (contact_id, (coalesce(phone_number_id, ''))) DO UPDATE SET phone_number_id = EXCLUDED.phone_number_id
     RETURNING id`,
    [contactId, phoneNumberId],
  );
  return rows[0].id;
}

function toDate(value: unknown): Date | null {
  return typeof value === 'string' ? new Date(value) : null;
}

/**
 * One statement for a new inbound message: unless the wamid is already stored, upsert the contact's
 * conversation on this number counting the message (24-hour window, preview, unread), insert the
 * message, and create the contact's lead when it has none. Call under the contact's lock.
 * @returns undefined when the wamid was already stored (nothing changed)
 */
export async function recordInboundMessage(db: Db, input: {
  contactId: string;
  phoneNumberId: string | null;
  message: InboundMessage;
  lead: { source: string; sourceDetails: unknown };
}): Promise<{ message: MessageRow; conversation: ConversationRow; lead: LeadRow | null } | undefined> {
  const m = input.message;
  const media = m.media;
  const { rows } = await db.query<{ message: Record<string, unknown> | null; conversation: Record<string, unknown> | null; lead: Record<string, unknown> | null }>(
    `WITH dup AS (SELECT EXISTS (SELECT 1 FROM messages WHERE wa_message_id = $2) AS seen),
     conv AS (
       INSERT INTO conversations AS c (contact_id, phone_number_id, last_inbound_at, last_message_at, last_message_preview, unread_count)
       SELECT $1, $16, $17, $17, $18, 1 FROM dup WHERE NOT dup.seen
       ON CONFLICT (contact_id, (coalesce(phone_number_id, ''))) DO UPDATE SET
         last_inbound_at = greatest(c.last_inbound_at, EXCLUDED.last_inbound_at),
         last_message_preview = CASE WHEN c.last_message_at IS NULL OR EXCLUDED.last_message_at >= c.last_message_at
           THEN EXCLUDED.last_message_preview ELSE c.last_message_preview END,
         last_message_at = greatest(c.last_message_at, EXCLUDED.last_message_at),
         unread_count = c.unread_count + 1, status = 'open', updated_at = now()
       RETURNING c.id, c.contact_id, c.phone_number_id, c.status, c.last_inbound_at, c.last_message_at, c.last_message_preview, c.unread_count, c.updated_at),
     msg AS (
       INSERT INTO messages (conversation_id, contact_id, direction, wa_message_id, type, text, content, raw, reply_to_wa_id, is_forwarded,
         status, status_rank, error, media_id, media_status, media_mime_type, media_sha256, media_filename, wa_timestamp)
       SELECT conv.id, $1, 'inbound', $2, $3, $4, $5, $6, $7, $8, 'received', 0, $9, $10, $11, $12, $13, $14, $15 FROM conv
       ON CONFLICT (wa_message_id) WHERE wa_message_id IS NOT NULL DO NOTHING
       RETURNING ${MESSAGE_COLUMNS}),
     lead AS (
       INSERT INTO leads (contact_id, pipeline_id, source, source_details)
       SELECT $1, (SELECT id FROM pipelines WHERE is_default LIMIT 1), $19, $20 FROM msg
       ON CONFLICT (contact_id) DO NOTHING
       RETURNING id, contact_id, stage, source, source_details, created_at)
     SELECT (SELECT row_to_json(msg) FROM msg) AS message, (SELECT row_to_json(conv) FROM conv) AS conversation,
       (SELECT row_to_json(lead) FROM lead) AS lead`,
    [
      input.contactId, m.waMessageId, m.type, m.text, m.content, m.raw, m.replyTo?.waMessageId ?? null, m.forwarded,
      m.errors ? JSON.stringify(m.errors) : null,
      media?.id ?? null, media ? 'pending' : null, media?.mimeType ?? null, media?.sha256 ?? null, media?.filename ?? null, m.timestamp,
      input.phoneNumberId, m.timestamp ?? new Date(), (m.text ?? `[${m.type}]`).slice(0, 200),
      input.lead.source, input.lead.sourceDetails === null ? null : JSON.stringify(input.lead.sourceDetails),
    ],
  );
  const row = rows[0];
  if (!row?.message || !row.conversation) return undefined;
  const message = { ...row.message, wa_timestamp: toDate(row.message.wa_timestamp), created_at: toDate(row.message.created_at) } as unknown as MessageRow;
  const c = row.conversation;
  const conversation = {
    ...c, last_inbound_at: toDate(c.last_inbound_at), last_message_at: toDate(c.last_message_at), updated_at: toDate(c.updated_at),
  } as unknown as ConversationRow;
  const lead = row.lead ? { ...row.lead, created_at: toDate(row.lead.created_at) } as unknown as LeadRow : null;
  return { message, conversation, lead };
}

/** Counts a new inbound message on its conversation: window, preview, unread. */
export async function touchConversationInbound(db: Db, conversationId: string, at: Date, preview: string): Promise<ConversationRow> {
  const { rows } = await db.query<ConversationRow>(
    `UPDATE conversations SET
       last_inbound_at = greatest(last_inbound_at, $2),
       last_message_preview = CASE WHEN last_message_at IS NULL OR $2 >= last_message_at THEN $3 ELSE last_message_preview END,
       last_message_at = greatest(last_message_at, $2),
       unread_count = unread_count + 1,
       status = 'open',
       updated_at = now()
     WHERE id = $1
     RETURNING id, contact_id, phone_number_id, status, last_inbound_at, last_message_at, last_message_preview, unread_count, updated_at`,
    [conversationId, at, preview.slice(0, 200)],
  );
  return rows[0];
}

/** Creates the contact's lead when it has none. @returns the new lead, or undefined when one existed */
export async function insertLeadIfMissing(db: Db, input: { contactId: string; source: string; sourceDetails: unknown }): Promise<LeadRow | undefined> {
  const { rows } = await db.query<LeadRow>(
    `INSERT INTO leads (contact_id, pipeline_id, source, source_details)
     VALUES ($1, (SELECT id FROM pipelines WHERE is_default LIMIT 1), $2, $3)
     ON CONFLICT (contact_id) DO NOTHING
     RETURNING id, contact_id, stage, source, source_details, created_at`,
    [input.contactId, input.source, input.sourceDetails === null ? null : JSON.stringify(input.sourceDetails)],
  );
  return rows[0];
}

export async function findLeadByContact(db: Db, contactId: string): Promise<LeadRow | undefined> {
  const { rows } = await db.query<LeadRow>('SELECT id, contact_id, stage, source, source_details, created_at FROM leads WHERE contact_id = $1', [contactId]);
  return rows[0];
}

/**
 * Sets (or with a null emoji removes) one person's reaction on a message.
 * @returns the message when its reactions changed, undefined otherwise (unknown target or no change)
 */
export async function setReaction(db: Db, targetWaMessageId: string, reactor: string, emoji: string | null): Promise<{ id: string; conversation_id: string; reactions: Record<string, string> } | undefined> {
  const { rows } = await db.query<{ id: string; conversation_id: string; reactions: Record<string, string> }>(
    `UPDATE messages SET
       reactions = CASE WHEN $3::text IS NULL THEN reactions - $2 ELSE jsonb_set(reactions, ARRAY[$2], to_jsonb($3::text)) END,
       updated_at = now()
     WHERE wa_message_id = $1 AND (reactions ->> $2) IS DISTINCT FROM $3::text
     RETURNING id, conversation_id, reactions`,
    [targetWaMessageId, reactor, emoji],
  );
  return rows[0];
}

export async function insertWhatsappError(db: Db, error: Record<string, unknown>): Promise<void> {
  const code = typeof error.code === 'number' ? error.code : Number.isFinite(Number(error.code)) ? Number(error.code) : null;
  await db.query(
    'INSERT INTO whatsapp_errors (code, title, message, details) VALUES ($1, $2, $3, $4)',
    [code, typeof error.title === 'string' ? error.title : null, typeof error.message === 'string' ? error.message : null, error],
  );
}

/** Applies `message_template_status_update`. @returns true when a stored template matched */
export async function updateTemplateStatus(db: Db, input: { templateId: string | null; name: string | null; language: string | null; status: string; reason: string | null }): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE whatsapp_templates SET status = $4,
       rejected_reason = CASE WHEN $4 = 'REJECTED' THEN $5 ELSE rejected_reason END, synced_at = now()
     WHERE (wa_template_id = $1) OR ($1::text IS NULL AND name = $2 AND language = $3)
        OR (wa_template_id IS NULL AND name = $2 AND language = $3)`,
    [input.templateId, input.name, input.language, input.status, input.reason],
  );
  return (rowCount ?? 0) > 0;
}

// ---------------------------------------------------------------- batched apply (one statement per step for many messages)

/** One sender identity of a batch (the messages of one person merged; keys never conflict inside it). */
export interface IdentityInput {
  waId: string | null;
  userId: string | null;
}

const literal = (value: string | null) => (value === null ? 'NULL' : pg.escapeLiteral(value));

/**
 * SQL (values as escaped literals, to run in the BEGIN round trip after lockContactKeysSql) finding the
 * stored contact of each identity, by BSUID first, then wa_id (as findContactByIdentity). Read its rows
 * with contactsByIdentity.
 */
export function findContactsByIdentitiesSql(identities: IdentityInput[]): string {
  return `SELECT i.idx - 1 AS idx, c.id, c.phone, c.wa_id, c.wa_user_id, c.wa_username, c.name
     FROM unnest(ARRAY[${identities.map((i) => literal(i.waId)).join(', ')}]::text[],
                 ARRAY[${identities.map((i) => literal(i.userId)).join(', ')}]::text[]) WITH ORDINALITY AS i(wa_id, user_id, idx)
     CROSS JOIN LATERAL (
       SELECT ${CONTACT_COLUMNS} FROM contacts c WHERE c.wa_user_id = i.user_id OR c.wa_id = i.wa_id
       ORDER BY (c.wa_user_id IS NOT DISTINCT FROM i.user_id) DESC LIMIT 1) c`;
}

/** The rows of findContactsByIdentitiesSql: contact by the identity's index. */
export function contactsByIdentity(rows: Array<ContactRow & { idx: string | number }>): Map<number, ContactRow> {
  const found = new Map<number, ContactRow>();
  for (const { idx, ...contact } of rows) found.set(Number(idx), contact);
  return found;
}

/** A new contact, or what an inbound batch fills in on a stored one (the same rules as upsertContact). */
export interface ContactWrite {
  /** null: insert a new contact. */
  id: string | null;
  waId: string | null;
  userId: string | null;
  username: string | null;
  profileName: string | null;
}

/**
 * Inserts the new contacts and fills in the stored ones, in one statement (call under lockContactKeys).
 * The CRM's own name is never overwritten. @returns the inserted rows and the rows that changed
 */
export async function writeContacts(db: Db, writes: ContactWrite[]): Promise<{ inserted: ContactRow[]; updated: ContactRow[] }> {
  const inserts = writes.filter((w) => w.id === null);
  const updates = writes.filter((w) => w.id !== null);
  if (writes.length === 0) return { inserted: [], updated: [] };
  const { rows } = await db.query<ContactRow & { kind: 'ins' | 'upd' }>(
    `WITH ins AS (
       INSERT INTO contacts (phone, wa_id, wa_user_id, wa_username, name)
       SELECT w, w, u, un, n FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(w, u, un, n, idx) ORDER BY idx
       RETURNING ${CONTACT_COLUMNS}),
     upd AS (
       UPDATE contacts c SET
         wa_id = CASE WHEN t.w IS NOT NULL AND c.wa_id IS NULL AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.wa_id = t.w AND o.id <> c.id) THEN t.w ELSE c.wa_id END,
         phone = coalesce(c.phone, t.w),
         wa_user_id = CASE WHEN t.u IS NOT NULL AND c.wa_user_id IS NULL AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.wa_user_id = t.u AND o.id <> c.id) THEN t.u ELSE c.wa_user_id END,
         wa_username = coalesce(t.un, c.wa_username),
         name = coalesce(c.name, t.n),
         updated_at = now()
       FROM unnest($5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[]) AS t(id, w, u, un, n)
       WHERE c.id = t.id AND (
         (t.w IS NOT NULL AND c.wa_id IS NULL) OR (t.u IS NOT NULL AND c.wa_user_id IS NULL)
         OR (t.un IS NOT NULL AND c.wa_username IS DISTINCT FROM t.un) OR (c.name IS NULL AND t.n IS NOT NULL) OR (c.phone IS NULL AND t.w IS NOT NULL))
       RETURNING c.id, c.phone, c.wa_id, c.wa_user_id, c.wa_username, c.name)
     SELECT 'ins' AS kind, * FROM ins UNION ALL SELECT 'upd' AS kind, * FROM upd`,
    [
      inserts.map((w) => w.waId), inserts.map((w) => w.userId), inserts.map((w) => w.username), inserts.map((w) => w.profileName),
      updates.map((w) => w.id), updates.map((w) => w.waId), updates.map((w) => w.userId), updates.map((w) => w.username), updates.map((w) => w.profileName),
    ],
  );
  const strip = ({ kind: _kind, ...row }: ContactRow & { kind: string }) => row;
  return { inserted: rows.filter((r) => r.kind === 'ins').map(strip), updated: rows.filter((r) => r.kind === 'upd').map(strip) };
}

/** One new inbound message of a batch, its contact resolved. */
export interface InboundMessageInput {
  contactId: string;
  phoneNumberId: string | null;
  message: InboundMessage;
  lead: { source: string; sourceDetails: unknown };
  /** Fields of the `lead_captured` event when this message creates the contact's lead (leadId, conversationId, messageId added in SQL). */
  leadEvent: Record<string, unknown>;
}

export interface RecordedBatch {
  /** Newly stored messages, in input order (redeliveries are absent). */
  messages: MessageRow[];
  /** Each touched conversation after the batch, by id. */
  conversations: Map<string, ConversationRow>;
  /** Leads created, by contact id. */
  leads: Map<string, LeadRow>;
  /** Wamids of new messages that already had parked (unapplied) status events. */
  parked: string[];
}

/**
 * One statement for a batch of inbound messages (wamids unique within the batch; call under the contacts'
 * locks): skip wamids already stored, upsert each conversation once counting its new messages (24-hour
 * window, preview of the latest, unread), insert the messages (created_at in batch order), create the
 * lead of each contact that has none (from its first new message) with its `lead_captured` event, and
 * report parked statuses of the new messages.
 */
export async function recordInboundMessages(db: Db, inputs: InboundMessageInput[]): Promise<RecordedBatch> {
  const empty: RecordedBatch = { messages: [], conversations: new Map(), leads: new Map(), parked: [] };
  if (inputs.length === 0) return empty;
  const col = <T>(fn: (input: InboundMessageInput, m: InboundMessage) => T) => inputs.map((input) => fn(input, input.message));
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
  const { rows: [row] } = await db.query<{ messages: Array<Record<string, unknown>>; conversations: Array<Record<string, unknown>>; leads: Array<Record<string, unknown>>; parked: string[] }>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[], $9::boolean[],
         $10::jsonb[], $11::text[], $12::text[], $13::text[], $14::text[], $15::timestamptz[], $16::timestamptz[], $17::text[], $18::text[], $19::jsonb[], $20::jsonb[])
         WITH ORDINALITY AS t(contact_id, phone_number_id, wamid, type, text, content, raw, reply_to, forwarded,
           error, media_id, media_mime, media_sha, media_filename, wa_ts, at, preview, lead_source, lead_details, lead_event, ord)),
     fresh AS (SELECT i.* FROM input i WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.wa_message_id = i.wamid)),
     per_conv AS (
       SELECT DISTINCT ON (contact_id, coalesce(phone_number_id, '')) contact_id, phone_number_id,
         max(at) OVER w AS last_at, count(*) OVER w AS n, preview
       FROM fresh WINDOW w AS (PARTITION BY contact_id, coalesce(phone_number_id, ''))
       ORDER BY contact_id, coalesce(phone_number_id, ''), at DESC, ord DESC),
     conv AS (
       INSERT INTO conversations AS c (contact_id, phone_number_id, last_inbound_at, last_message_at, last_message_preview, unread_count)
       SELECT contact_id, phone_number_id, last_at, last_at, preview, n FROM per_conv ORDER BY contact_id, coalesce(phone_number_id, '')
       ON CONFLICT (contact_id, (coalesce(phone_number_id, ''))) DO UPDATE SET
         last_inbound_at = greatest(c.last_inbound_at, EXCLUDED.last_inbound_at),
         last_message_preview = CASE WHEN c.last_message_at IS NULL OR EXCLUDED.last_message_at >= c.last_message_at
           THEN EXCLUDED.last_message_preview ELSE c.last_message_preview END,
         last_message_at = greatest(c.last_message_at, EXCLUDED.last_message_at),
         unread_count = c.unread_count + EXCLUDED.unread_count, status = 'open', updated_at = now()
       RETURNING c.id, c.contact_id, c.phone_number_id, c.status, c.last_inbound_at, c.last_message_at, c.last_message_preview, c.unread_count, c.updated_at),
     msg AS (
       INSERT INTO messages (conversation_id, contact_id, direction, wa_message_id, type, text, content, raw, reply_to_wa_id, is_forwarded,
         status, status_rank, error, media_id, media_status, media_mime_type, media_sha256, media_filename, wa_timestamp, created_at)
       SELECT conv.id, f.contact_id, 'inbound', f.wamid, f.type, f.text, f.content, f.raw, f.reply_to, f.forwarded, 'received', 0, f.error,
         f.media_id, CASE WHEN f.media_id IS NOT NULL THEN 'pending' END, f.media_mime, f.media_sha, f.media_filename, f.wa_ts,
         now() + make_interval(secs => f.ord / 1000000.0)
       FROM fresh f JOIN conv ON conv.contact_id = f.contact_id AND coalesce(conv.phone_number_id, '') = coalesce(f.phone_number_id, '')
       ORDER BY f.ord
       ON CONFLICT (wa_message_id) WHERE wa_message_id IS NOT NULL DO NOTHING
       RETURNING ${MESSAGE_COLUMNS}),
     firsts AS (
       SELECT DISTINCT ON (f.contact_id) f.contact_id, f.lead_source, f.lead_details, f.lead_event, msg.id AS message_id, msg.conversation_id
       FROM fresh f JOIN msg ON msg.wa_message_id = f.wamid ORDER BY f.contact_id, f.ord),
     lead AS (
       INSERT INTO leads (contact_id, pipeline_id, source, source_details)
       SELECT contact_id, (SELECT id FROM pipelines WHERE is_default LIMIT 1), lead_source, lead_details FROM firsts ORDER BY contact_id
       ON CONFLICT (contact_id) DO NOTHING
       RETURNING id, contact_id, stage, source, source_details, created_at),
     captured AS (
       INSERT INTO domain_events (type, data)
       SELECT 'lead_captured', f.lead_event || jsonb_build_object('leadId', lead.id, 'contactId', lead.contact_id, 'conversationId', f.conversation_id,
         'messageId', f.message_id, 'source', lead.source)
       FROM lead JOIN firsts f ON f.contact_id = lead.contact_id ORDER BY lead.contact_id
       RETURNING id)
     SELECT (SELECT coalesce(json_agg(msg), '[]') FROM msg) AS messages,
       (SELECT coalesce(json_agg(conv), '[]') FROM conv) AS conversations,
       (SELECT coalesce(json_agg(lead), '[]') FROM lead) AS leads,
       (SELECT coalesce(array_agg(DISTINCT e.wa_message_id), '{}') FROM message_status_events e
         WHERE NOT e.applied AND e.wa_message_id IN (SELECT wa_message_id FROM msg)) AS parked`,
    [
      col((i) => i.contactId), col((i) => i.phoneNumberId), col((_, m) => m.waMessageId), col((_, m) => m.type), col((_, m) => m.text),
      col((_, m) => json(m.content)), col((_, m) => json(m.raw)), col((_, m) => m.replyTo?.waMessageId ?? null), col((_, m) => m.forwarded),
      col((_, m) => json(m.errors)), col((_, m) => m.media?.id ?? null), col((_, m) => m.media?.mimeType ?? null),
      col((_, m) => m.media?.sha256 ?? null), col((_, m) => m.media?.filename ?? null), col((_, m) => m.timestamp?.toISOString() ?? null),
      col((_, m) => (m.timestamp ?? new Date()).toISOString()), col((_, m) => (m.text ?? `[${m.type}]`).slice(0, 200)),
      col((i) => i.lead.source), col((i) => json(i.lead.sourceDetails)), col((i) => JSON.stringify(i.leadEvent)),
    ],
  );
  const order = new Map(inputs.map((input, index) => [input.message.waMessageId, index]));
  const messages = row.messages
    .map((m) => ({ ...m, wa_timestamp: toDate(m.wa_timestamp), created_at: toDate(m.created_at) }) as unknown as MessageRow)
    .sort((a, b) => order.get(a.wa_message_id!)! - order.get(b.wa_message_id!)!);
  const conversations = new Map(row.conversations.map((c) => [c.id as string, {
    ...c, last_inbound_at: toDate(c.last_inbound_at), last_message_at: toDate(c.last_message_at), updated_at: toDate(c.updated_at),
  } as unknown as ConversationRow]));
  const leads = new Map(row.leads.map((l) => [l.contact_id as string, { ...l, created_at: toDate(l.created_at) } as unknown as LeadRow]));
  return { messages, conversations, leads, parked: row.parked };
}
