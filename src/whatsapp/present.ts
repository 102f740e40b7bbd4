/** JSON shapes of conversations and messages, shared by the read API and the realtime events. */
import type { ConversationRow, MessageRow } from './inbound.repo.ts';

export interface ConversationView {
  id: string;
  contactId: string;
  phoneNumberId: string | null;
  status: string;
  lastInboundAt: string | null;
  lastMessageAt: string | null;
  lastMessagePreview: string | null;
  unreadCount: number;
  updatedAt: string;
}

export function presentConversation(row: ConversationRow): ConversationView {
  return {
    id: row.id,
    contactId: row.contact_id,
    phoneNumberId: row.phone_number_id,
    status: row.status,
    lastInboundAt: row.last_inbound_at?.toISOString() ?? null,
    lastMessageAt: row.last_message_at?.toISOString() ?? null,
    lastMessagePreview: row.last_message_preview,
    unreadCount: row.unread_count,
    updatedAt: row.updated_at.toISOString(),
  };
}

export interface MessageView {
  id: string;
  conversationId: string;
  contactId: string;
  direction: string;
  waMessageId: string | null;
  type: string;
  text: string | null;
  content: Record<string, unknown>;
  replyToWaMessageId: string | null;
  forwarded: boolean;
  status: string;
  error: unknown;
  reactions: Record<string, string>;
  media: {
    id: string | null;
    status: string | null;
    mimeType: string | null;
    size: number | null;
    filename: string | null;
    /** Signed access through GET /api/saas/media/:messageId once archived. */
    url: string | null;
  } | null;
  timestamp: string | null;
  createdAt: string;
}

export function presentMessage(row: MessageRow): MessageView {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    contactId: row.contact_id,
    direction: row.direction,
    waMessageId: row.wa_message_id,
    type: row.type,
    text: row.text,
    content: row.content,
    replyToWaMessageId: row.reply_to_wa_id,
    forwarded: row.is_forwarded,
    status: row.status,
    error: row.error ?? null,
    reactions: row.reactions ?? {},
    media: row.media_id || row.media_storage_key
      ? {
          id: row.media_id,
          status: row.media_status,
          mimeType: row.media_mime_type,
          size: row.media_size === null ? null : Number(row.media_size),
          filename: row.media_filename,
          url: row.media_storage_key ? `/api/saas/media/${row.id}` : null,
        }
      : null,
    timestamp: row.wa_timestamp?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}
