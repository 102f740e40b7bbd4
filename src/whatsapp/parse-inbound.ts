/**
 * Meta webhook body → typed model. Pure: no I/O, no clock. Every entry,
 * change, message and status is returned; unknown message types become
 * `unsupported` and unknown fields `other`, always with the raw payload kept.
 * Tolerates missing `profile`, `wa_id`, `from` and unknown keys everywhere.
 */

export type InboundMessageType =
  | 'text' | 'image' | 'video' | 'audio' | 'document' | 'sticker' | 'location' | 'contacts'
  | 'interactive' | 'button' | 'order' | 'system' | 'reaction' | 'request_welcome' | 'unsupported';

export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

type Json = Record<string, unknown>;

export interface InboundContact {
  waId: string | null;
  userId: string | null;
  username: string | null;
  profileName: string | null;
}

export interface InboundMedia {
  kind: MediaType;
  id: string;
  mimeType: string | null;
  sha256: string | null;
  /** Documents only; user input, kept as data and never used in a path. */
  filename: string | null;
  caption: string | null;
  voice?: boolean;
  animated?: boolean;
}

export interface InboundReferral {
  sourceUrl: string | null;
  sourceId: string | null;
  sourceType: string | null;
  headline: string | null;
  body: string | null;
  mediaType: string | null;
  ctwaClid: string | null;
  raw: Json;
}

export interface InboundMessage {
  waMessageId: string;
  /** Meta's timestamp (seconds → Date); null when absent or invalid. */
  timestamp: Date | null;
  from: string | null;
  fromUserId: string | null;
  /** The sender's contacts[] item, matched by wa_id / user_id. */
  contact: InboundContact;
  type: InboundMessageType;
  /** Meta's own type string (differs from `type` for unknown types). */
  metaType: string;
  /** Plain text for previews and search. */
  text: string | null;
  /** Typed content for this type (see README "message content"). */
  content: Json;
  replyTo: { waMessageId: string; from: string | null } | null;
  forwarded: boolean;
  frequentlyForwarded: boolean;
  referral: InboundReferral | null;
  media: InboundMedia | null;
  reaction: { targetWaMessageId: string; emoji: string | null } | null;
  errors: Json[] | null;
  raw: Json;
}

export interface InboundStatus {
  waMessageId: string;
  status: string;
  timestamp: Date | null;
  recipientId: string | null;
  recipientUserId: string | null;
  pricing: Json | null;
  conversation: Json | null;
  errors: Json[] | null;
  bizOpaqueCallbackData: string | null;
  raw: Json;
}

export type InboundChange =
  | {
      kind: 'messages';
      entryId: string | null;
      phoneNumberId: string | null;
      displayPhoneNumber: string | null;
      contacts: InboundContact[];
      messages: InboundMessage[];
      statuses: InboundStatus[];
      errors: Json[];
    }
  | {
      kind: 'template_status';
      entryId: string | null;
      templateId: string | null;
      name: string | null;
      language: string | null;
      event: string;
      reason: string | null;
      raw: Json;
    }
  | { kind: 'other'; entryId: string | null; field: string; phoneNumberId: string | null; raw: Json };

export class WebhookShapeError extends Error {}

function obj(value: unknown): Json | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Json : null;
}
function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
/** Ids may arrive as numbers (template ids) or strings; never trust them as numbers. */
function str(value: unknown): string | null {
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}
function num(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}
function time(value: unknown): Date | null {
  const n = num(value);
  if (n === null || n <= 0 || n > 1e11) return null;
  return new Date(n * 1000);
}

export function parseContact(raw: unknown): InboundContact {
  const c = obj(raw) ?? {};
  const profile = obj(c.profile) ?? {};
  return { waId: str(c.wa_id), userId: str(c.user_id), username: str(profile.username) ?? str(c.username), profileName: str(profile.name) };
}

function parseMedia(kind: MediaType, payload: Json | null): InboundMedia | null {
  const id = payload ? str(payload.id) : null;
  if (!payload || !id) return null;
  return {
    kind,
    id,
    mimeType: str(payload.mime_type),
    sha256: str(payload.sha256),
    filename: kind === 'document' ? str(payload.filename) : null,
    caption: str(payload.caption),
    ...(kind === 'audio' ? { voice: payload.voice === true } : {}),
    ...(kind === 'sticker' ? { animated: payload.animated === true } : {}),
  };
}

function parseReferral(raw: unknown): InboundReferral | null {
  const r = obj(raw);
  if (!r) return null;
  return {
    sourceUrl: str(r.source_url), sourceId: str(r.source_id), sourceType: str(r.source_type), headline: str(r.headline),
    body: str(r.body), mediaType: str(r.media_type), ctwaClid: str(r.ctwa_clid), raw: r,
  };
}

function typedContent(type: string, payload: Json | null, m: Json): { type: InboundMessageType; text: string | null; content: Json } {
  const p = payload ?? {};
  switch (type) {
    case 'text':
      return { type: 'text', text: str(p.body), content: { body: str(p.body) ?? '' } };
    case 'image': case 'video': case 'audio': case 'document': case 'sticker': {
      const media = parseMedia(type, payload);
      return { type, text: media?.caption ?? null, content: media ? { ...media } : { missing: true } };
    }
    case 'location': {
      const content = { latitude: num(p.latitude), longitude: num(p.longitude), name: str(p.name), address: str(p.address), url: str(p.url) };
      return { type: 'location', text: content.name ?? content.address ?? 'Location', content };
    }
    case 'contacts': {
      const cards = arr(m.contacts).map((raw) => {
        const c = obj(raw) ?? {};
        const name = obj(c.name) ?? {};
        return {
          name: str(name.formatted_name) ?? [str(name.first_name), str(name.last_name)].filter(Boolean).join(' '),
          phones: arr(c.phones).map((x) => ({ phone: str(obj(x)?.phone), waId: str(obj(x)?.wa_id), type: str(obj(x)?.type) })),
          emails: arr(c.emails).map((x) => ({ email: str(obj(x)?.email), type: str(obj(x)?.type) })),
          organization: obj(c.org),
          raw: c,
        };
      });
      return { type: 'contacts', text: cards.map((c) => c.name).filter(Boolean).join(', ') || 'Contact', content: { contacts: cards } };
    }
    case 'interactive': {
      const kind = str(p.type) ?? 'unknown';
      if (kind === 'button_reply' || kind === 'list_reply') {
        const reply = obj(p[kind]) ?? {};
        return { type: 'interactive', text: str(reply.title), content: { kind, id: str(reply.id), title: str(reply.title), description: str(reply.description) } };
      }
      if (kind === 'nfm_reply') {
        const reply = obj(p.nfm_reply) ?? {};
        const json = typeof reply.response_json === 'string' ? reply.response_json : null;
        let response: unknown;
        try {
          response = json ? JSON.parse(json) : null;
        } catch {
          response = null;
        }
        return { type: 'interactive', text: str(reply.body), content: { kind, name: str(reply.name), body: str(reply.body), response, responseJson: json } };
      }
      return { type: 'interactive', text: null, content: { kind, raw: p } };
    }
    case 'button':
      return { type: 'button', text: str(p.text), content: { payload: str(p.payload), text: str(p.text) } };
    case 'order': {
      const items = arr(p.product_items).map((x) => {
        const i = obj(x) ?? {};
        return { productRetailerId: str(i.product_retailer_id), quantity: num(i.quantity), itemPrice: num(i.item_price), currency: str(i.currency) };
      });
      return { type: 'order', text: str(p.text) ?? `Order (${items.length} items)`, content: { catalogId: str(p.catalog_id), text: str(p.text), items } };
    }
    case 'system':
      return {
        type: 'system', text: str(p.body),
        content: { kind: str(p.type), body: str(p.body), waId: str(p.wa_id), userId: str(p.user_id), previousUserId: str(p.previous_user_id), parentUserId: str(p.parent_user_id) },
      };
    case 'reaction':
      return { type: 'reaction', text: str(p.emoji), content: { targetWaMessageId: str(p.message_id), emoji: str(p.emoji) } };
    case 'request_welcome':
      return { type: 'request_welcome', text: null, content: {} };
    default:
      return { type: 'unsupported', text: null, content: { metaType: type, detail: type === 'unsupported' ? str(obj(m.unsupported)?.type) : null } };
  }
}

export function parseMessage(raw: unknown, contacts: InboundContact[]): InboundMessage | null {
  const m = obj(raw);
  const id = m ? str(m.id) : null;
  if (!m || !id) return null;
  const metaType = str(m.type) ?? 'unknown';
  const payload = obj(m[metaType]);
  const { type, text, content } = typedContent(metaType, payload, m);
  const from = str(m.from);
  const fromUserId = str(m.from_user_id);
  const matched = contacts.find((c) => (fromUserId && c.userId === fromUserId) || (from && c.waId === from))
    ?? (contacts.length === 1 ? contacts[0] : undefined);
  const contact: InboundContact = {
    waId: matched?.waId ?? from,
    userId: matched?.userId ?? fromUserId,
    username: matched?.username ?? null,
    profileName: matched?.profileName ?? null,
  };
  const context = obj(m.context);
  const replyId = context ? str(context.id) : null;
  const media = (MEDIA_TYPES as readonly string[]).includes(type) ? parseMedia(type as MediaType, payload) : null;
  const reaction = type === 'reaction' && str(payload?.message_id)
    ? { targetWaMessageId: str(payload!.message_id)!, emoji: str(payload!.emoji) }
    : null;
  return {
    waMessageId: id,
    timestamp: time(m.timestamp),
    from,
    fromUserId,
    contact,
    type,
    metaType,
    text,
    content,
    replyTo: replyId ? { waMessageId: replyId, from: str(context!.from) } : null,
    forwarded: context?.forwarded === true || context?.frequently_forwarded === true,
    frequentlyForwarded: context?.frequently_forwarded === true,
    referral: parseReferral(m.referral),
    media,
    reaction,
    errors: Array.isArray(m.errors) ? m.errors.filter((e) => obj(e)) as Json[] : null,
    raw: m,
  };
}

export function parseStatus(raw: unknown): InboundStatus | null {
  const s = obj(raw);
  const id = s ? str(s.id) : null;
  const status = s ? str(s.status) : null;
  if (!s || !id || !status) return null;
  return {
    waMessageId: id,
    status: status.toLowerCase(),
    timestamp: time(s.timestamp),
    recipientId: str(s.recipient_id),
    recipientUserId: str(s.recipient_user_id),
    pricing: obj(s.pricing),
    conversation: obj(s.conversation),
    errors: Array.isArray(s.errors) ? s.errors.filter((e) => obj(e)) as Json[] : null,
    bizOpaqueCallbackData: str(s.biz_opaque_callback_data),
    raw: s,
  };
}

function parseChange(entryId: string | null, raw: unknown): InboundChange {
  const change = obj(raw) ?? {};
  const field = str(change.field) ?? 'unknown';
  const value = obj(change.value) ?? {};
  const metadata = obj(value.metadata);
  if (field === 'messages') {
    const contacts = arr(value.contacts).map(parseContact);
    return {
      kind: 'messages',
      entryId,
      phoneNumberId: metadata ? str(metadata.phone_number_id) : null,
      displayPhoneNumber: metadata ? str(metadata.display_phone_number) : null,
      contacts,
      messages: arr(value.messages).map((m) => parseMessage(m, contacts)).filter((m): m is InboundMessage => m !== null),
      statuses: arr(value.statuses).map(parseStatus).filter((s): s is InboundStatus => s !== null),
      errors: arr(value.errors).map(obj).filter((e): e is Json => e !== null),
    };
  }
  if (field === 'message_template_status_update') {
    return {
      kind: 'template_status',
      entryId,
      templateId: str(value.message_template_id),
      name: str(value.message_template_name),
      language: str(value.message_template_language),
      event: str(value.event) ?? 'UNKNOWN',
      reason: str(value.reason),
      raw: value,
    };
  }
  return { kind: 'other', entryId, field, phoneNumberId: metadata ? str(metadata.phone_number_id) : null, raw: value };
}

/**
 * Every change of a webhook body, in order.
 * @throws WebhookShapeError when the body is not a WhatsApp webhook envelope at all
 */
export function parseWebhookBody(body: unknown): InboundChange[] {
  const root = obj(body);
  if (!root || !Array.isArray(root.entry)) throw new WebhookShapeError('body is not a webhook envelope (no entry[] array)');
  const changes: InboundChange[] = [];
  for (const rawEntry of root.entry) {
    const entry = obj(rawEntry);
    if (!entry) continue;
    const entryId = str(entry.id);
    for (const change of arr(entry.changes)) changes.push(parseChange(entryId, change));
  }
  return changes;
}

/** phone_number_ids and WABA ids named in a body (for choosing per-client app secrets). */
export function routingKeysOf(body: unknown): { phoneNumberIds: string[]; wabaIds: string[] } {
  const phones = new Set<string>();
  const wabas = new Set<string>();
  const root = obj(body);
  for (const rawEntry of arr(root?.entry)) {
    const entry = obj(rawEntry);
    const id = entry ? str(entry.id) : null;
    for (const change of arr(entry?.changes)) {
      const phone = str(obj(obj(obj(change)?.value)?.metadata)?.phone_number_id);
      if (phone) phones.add(phone);
      else if (id) wabas.add(id);
    }
  }
  return { phoneNumberIds: [...phones], wabaIds: [...wabas] };
}
