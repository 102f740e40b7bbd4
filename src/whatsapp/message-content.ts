/**
 * Outbound message content, pure: checks a send request against the Cloud API's
 * limits (so Meta never sees a malformed payload), normalises it into what we
 * store on the message, and turns a stored message into the Graph payload.
 */
import { AppError } from '../platform/errors.ts';
import type { SendComponent } from './template-rules.ts';

export const MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'template', 'interactive', 'reaction', 'location', 'contacts'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type MediaKind = (typeof MEDIA_TYPES)[number];

/** Cloud API sending limits (reference §10). */
export const MEDIA_LIMITS: Record<MediaKind, { maxBytes: number; mimeTypes: string[] }> = {
  image: { maxBytes: 5 * 1024 * 1024, mimeTypes: ['image/jpeg', 'image/png'] },
  video: { maxBytes: 16 * 1024 * 1024, mimeTypes: ['video/mp4', 'video/3gpp'] },
  audio: { maxBytes: 16 * 1024 * 1024, mimeTypes: ['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg'] },
  document: {
    maxBytes: 100 * 1024 * 1024,
    mimeTypes: ['text/plain', 'application/pdf', 'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.ms-excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/vnd.ms-powerpoint',
      'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
  },
  sticker: { maxBytes: 500 * 1024, mimeTypes: ['image/webp'] },
};

export interface MediaInput { link?: string; mediaId?: string; data?: string; mimeType?: string; caption?: string; filename?: string; voice?: boolean }
export interface TemplateInput { name: string; language?: string; variables?: string[]; components?: SendComponent[] }

/** The send request as validated at the edge (one object per type, like the Cloud API). */
export interface SendContentInput {
  type: MessageType;
  text?: { body: string; previewUrl?: boolean };
  image?: MediaInput; video?: MediaInput; audio?: MediaInput; document?: MediaInput; sticker?: MediaInput;
  template?: TemplateInput;
  interactive?: Record<string, unknown>;
  reaction?: { messageId: string; emoji: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  contacts?: Array<Record<string, unknown>>;
}

/** What is stored in `messages.content` for an outbound message. */
export interface StoredContent {
  to: string;
  type: MessageType;
  body?: Record<string, unknown> | Array<Record<string, unknown>>;
}

export interface NormalisedContent {
  /** The per-type object to store (reaction/context references are resolved later). */
  body: Record<string, unknown> | Array<Record<string, unknown>>;
  preview: string | null;
  upload?: { data: Buffer; mimeType: string; filename: string | null };
}

function invalid(message: string): AppError {
  return new AppError('VALIDATION_FAILED', { message });
}

/** E.164 digits without '+', or a VALIDATION_FAILED naming the problem. */
export function normalisePhone(value: string): string {
  const digits = value.trim().replace(/^\+/, '').replace(/[\s\-().]/g, '');
  if (!/^\d+$/.test(digits)) throw invalid(`to: "${value}" is not a phone number (use E.164 digits, e.g. 15550000001)`);
  if (digits.startsWith('0')) throw invalid(`to: "${value}" must start with the country code (E.164), not 0`);
  if (digits.length < 7 || digits.length > 15) throw invalid(`to: "${value}" must have 7 to 15 digits (E.164)`);
  return digits;
}

function checkLength(value: unknown, max: number, what: string, required = true): void {
  if (value === undefined || value === null) {
    if (required) throw invalid(`${what} is required`);
    return;
  }
  if (typeof value !== 'string' || (required && value.length === 0)) throw invalid(`${what} must be a non-empty string`);
  if (value.length > max) throw invalid(`${what} must be at most ${max} characters (got ${value.length})`);
}

function httpsUrl(value: string, what: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${what} is not a valid URL`);
  }
  if (url.protocol !== 'https:') throw invalid(`${what} must be a public https:// URL (Meta fetches it)`);
}

/** A document name safe for Meta and for Content-Disposition: no path separators, quotes or control characters. */
function sanitiseFilename(name: string): string {
  return [...name].map((ch) => (ch < ' ' || ch === '\u007f' || '\\/"'.includes(ch) ? '_' : ch)).join('').slice(0, 240);
}

function normaliseMedia(kind: MediaKind, input: MediaInput): NormalisedContent {
  const sources = [input.link, input.mediaId, input.data].filter((v) => v !== undefined).length;
  if (sources !== 1) throw invalid(`${kind}: give exactly one of link, mediaId or data (base64)`);
  if (input.caption !== undefined && (kind === 'audio' || kind === 'sticker')) throw invalid(`${kind} messages cannot have a caption`);
  checkLength(input.caption, 1024, `${kind}.caption`, false);
  if (input.filename !== undefined && kind !== 'document') throw invalid('filename is only for documents');
  if (input.voice !== undefined && kind !== 'audio') throw invalid('voice is only for audio');
  const limits = MEDIA_LIMITS[kind];
  const body: Record<string, unknown> = {};
  if (input.caption !== undefined) body.caption = input.caption;
  if (input.filename !== undefined) body.filename = sanitiseFilename(input.filename);
  if (input.voice) body.voice = true;
  if (input.link !== undefined) {
    httpsUrl(input.link, `${kind}.link`);
    body.link = input.link;
    return { body, preview: input.caption ?? `[${kind}]` };
  }
  if (input.mediaId !== undefined) {
    if (!/^\d{1,32}$/.test(input.mediaId)) throw invalid(`${kind}.mediaId must be a Meta media id (digits)`);
    body.mediaId = input.mediaId;
    return { body, preview: input.caption ?? `[${kind}]` };
  }
  const mimeType = (input.mimeType ?? '').split(';')[0].trim().toLowerCase();
  if (!mimeType) throw invalid(`${kind}.mimeType is required with data`);
  if (!limits.mimeTypes.includes(mimeType)) throw invalid(`${kind}: ${mimeType} is not accepted by WhatsApp (use ${limits.mimeTypes.join(', ')})`);
  const data = input.data!.replace(/^data:[^,]*,/, '');
  if (!/^[A-Za-z0-9+/=_-]*$/.test(data.slice(0, 1000)) || data.length === 0) throw invalid(`${kind}.data must be base64`);
  // Check the size before decoding anything big.
  const approx = Math.floor((data.length * 3) / 4);
  if (approx > limits.maxBytes + 3) throw tooLarge(kind, approx, limits.maxBytes);
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length === 0) throw invalid(`${kind}.data is empty`);
  if (bytes.length > limits.maxBytes) throw tooLarge(kind, bytes.length, limits.maxBytes);
  body.upload = true;
  body.mimeType = mimeType;
  body.size = bytes.length;
  return { body, preview: input.caption ?? `[${kind}]`, upload: { data: bytes, mimeType, filename: (body.filename as string | undefined) ?? null } };
}

function tooLarge(kind: MediaKind, size: number, max: number): AppError {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 2 : 1)} MB`;
  return new AppError('PAYLOAD_TOO_LARGE', { message: `${kind} is ${mb(size)}; WhatsApp accepts at most ${mb(max)} for ${kind}`, details: { size, maxBytes: max } });
}

function normaliseInteractive(i: Record<string, unknown>): NormalisedContent {
  const body = i.body as { text?: unknown } | undefined;
  const action = i.action as Record<string, unknown> | undefined;
  if (!action || typeof action !== 'object') throw invalid('interactive.action is required');
  const header = i.header as { type?: unknown; text?: unknown } | undefined;
  const footer = i.footer as { text?: unknown } | undefined;
  if (footer !== undefined) checkLength(footer.text, 60, 'interactive.footer.text');
  if (i.type === 'button') {
    checkLength(body?.text, 1024, 'interactive.body.text');
    if (header !== undefined && header.type === 'text') checkLength(header.text, 60, 'interactive.header.text');
    const buttons = action.buttons;
    if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3) throw invalid('interactive buttons: give 1 to 3 buttons');
    const ids = new Set<string>();
    buttons.forEach((b: { type?: unknown; reply?: { id?: unknown; title?: unknown } }, n) => {
      if (b?.type !== 'reply') throw invalid(`interactive button ${n + 1}: type must be "reply"`);
      checkLength(b.reply?.id, 256, `interactive button ${n + 1} id`);
      checkLength(b.reply?.title, 20, `interactive button ${n + 1} title`);
      if (ids.has(String(b.reply?.id))) throw invalid('interactive buttons: ids must be unique');
      ids.add(String(b.reply?.id));
    });
  } else if (i.type === 'list') {
    checkLength(body?.text, 4096, 'interactive.body.text');
    if (header !== undefined && header.type !== 'text') throw invalid('interactive list: the header can only be text');
    if (header !== undefined) checkLength(header.text, 60, 'interactive.header.text');
    checkLength(action.button, 20, 'interactive.action.button');
    const sections = action.sections;
    if (!Array.isArray(sections) || sections.length < 1 || sections.length > 10) throw invalid('interactive list: give 1 to 10 sections');
    let rows = 0;
    for (const [s, section] of (sections as Array<{ title?: unknown; rows?: unknown }>).entries()) {
      if (sections.length > 1) checkLength(section.title, 24, `interactive list section ${s + 1} title`);
      if (!Array.isArray(section.rows) || section.rows.length === 0) throw invalid(`interactive list section ${s + 1}: rows are required`);
      for (const row of section.rows as Array<{ id?: unknown; title?: unknown; description?: unknown }>) {
        rows++;
        checkLength(row.id, 200, `interactive list row ${rows} id`);
        checkLength(row.title, 24, `interactive list row ${rows} title`);
        checkLength(row.description, 72, `interactive list row ${rows} description`, false);
      }
    }
    if (rows > 10) throw invalid(`interactive list: at most 10 rows in all (got ${rows})`);
  } else if (i.type === 'cta_url') {
    checkLength(body?.text, 1024, 'interactive.body.text');
    const parameters = action.parameters as { display_text?: unknown; url?: unknown } | undefined;
    if (action.name !== 'cta_url') throw invalid('interactive cta_url: action.name must be "cta_url"');
    checkLength(parameters?.display_text, 20, 'interactive cta_url display_text');
    checkLength(parameters?.url, 2000, 'interactive cta_url url');
    httpsUrl(String(parameters?.url), 'interactive cta_url url');
  } else {
    throw invalid('interactive.type must be button, list or cta_url');
  }
  return { body: i, preview: typeof body?.text === 'string' ? body.text : '[interactive]' };
}

/** Checks and normalises the content of a send request (template and reaction references are checked by the use case). */
export function normaliseContent(input: SendContentInput): NormalisedContent {
  const type = input.type;
  const given = MESSAGE_TYPES.filter((t) => input[t] !== undefined);
  if (!given.includes(type)) throw invalid(`type is ${type} but the request has no ${type} object`);
  const extra = given.filter((t) => t !== type);
  if (extra.length) throw invalid(`type is ${type}; remove ${extra.join(', ')}`);
  switch (type) {
    case 'text': {
      const text = input.text!;
      checkLength(text.body, 4096, 'text.body');
      return { body: { body: text.body, ...(text.previewUrl ? { preview_url: true } : {}) }, preview: text.body };
    }
    case 'image': case 'video': case 'audio': case 'document': case 'sticker':
      return normaliseMedia(type, input[type]!);
    case 'interactive':
      return normaliseInteractive(input.interactive!);
    case 'reaction': {
      const reaction = input.reaction!;
      if ([...reaction.emoji].length > 2 && reaction.emoji !== '') throw invalid('reaction.emoji must be a single emoji (or "" to remove)');
      return { body: { messageId: reaction.messageId, emoji: reaction.emoji }, preview: reaction.emoji || '[reaction removed]' };
    }
    case 'location': {
      const l = input.location!;
      if (!(l.latitude >= -90 && l.latitude <= 90) || !(l.longitude >= -180 && l.longitude <= 180)) throw invalid('location: latitude must be within ±90 and longitude within ±180');
      checkLength(l.name, 1000, 'location.name', false);
      checkLength(l.address, 1000, 'location.address', false);
      return { body: { ...l }, preview: l.name ?? '[location]' };
    }
    case 'contacts': {
      const contacts = input.contacts!;
      if (contacts.length === 0) throw invalid('contacts: give at least one contact');
      contacts.forEach((c, n) => checkLength((c.name as { formatted_name?: unknown } | undefined)?.formatted_name, 500, `contacts[${n}].name.formatted_name`));
      return { body: contacts, preview: `[contact] ${String((contacts[0].name as { formatted_name: string }).formatted_name)}` };
    }
    case 'template': {
      const t = input.template!;
      return { body: { name: t.name }, preview: `[template] ${t.name}` };
    }
  }
}

/** The Graph `messages` payload for a stored outbound message. */
export function buildGraphPayload(input: { messageId: string; content: StoredContent; replyToWaId: string | null; mediaId: string | null }): Record<string, unknown> {
  const { content } = input;
  const payload: Record<string, unknown> = {
    messaging_product: 'whatsapp', recipient_type: 'individual', to: content.to, type: content.type,
    // Echoed on status webhooks: lets a send whose answer was lost be matched later.
    biz_opaque_callback_data: callbackDataFor(input.messageId),
  };
  const body = content.body as Record<string, unknown>;
  switch (content.type) {
    case 'image': case 'video': case 'audio': case 'document': case 'sticker': {
      const media: Record<string, unknown> = {};
      const id = input.mediaId ?? body.mediaId;
      if (id) media.id = id;
      else media.link = body.link;
      for (const key of ['caption', 'filename', 'voice']) if (body[key] !== undefined) media[key] = body[key];
      payload[content.type] = media;
      break;
    }
    case 'reaction':
      payload.reaction = { message_id: body.waMessageId, emoji: body.emoji };
      break;
    case 'template':
      payload.template = { name: body.name, language: { code: body.language }, components: body.components ?? [] };
      break;
    default:
      payload[content.type] = content.body;
  }
  if (input.replyToWaId && content.type !== 'reaction') payload.context = { message_id: input.replyToWaId };
  return payload;
}

export function callbackDataFor(messageId: string): string {
  return `ecodrix:msg:${messageId}`;
}
