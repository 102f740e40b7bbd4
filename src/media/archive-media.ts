/**
 * Archives one inbound media attachment: metadata from Graph → download with the
 * client's token → sha-256 and size check → type and size limits → images resized
 * and re-encoded (original kept too) → stored under
 * `clients/<clientId>/media/<messageId>/<sha256>.<ext>` → message row updated →
 * `message.updated` published after commit. The document's filename is data only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { AppContext } from '../context.ts';
import { readSecrets, tenantDbById } from '../tenants/index.ts';
import { presentMessage } from '../whatsapp/index.ts';
import { findMessageMedia, markNotStored, markStored, type FullMessageRow, type MessageMediaRow } from './media.repo.ts';
import { MediaError, downloadMedia, fetchMediaMetadata, sha256Matches, type MediaClientOptions } from './media-client.ts';
import { processImage } from './image-processor.ts';

export interface ArchiveMediaInput {
  clientId: string;
  messageId: string;
  mediaId: string;
}

export type MediaKind = 'image' | 'sticker' | 'audio' | 'video' | 'document';

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif',
  'video/mp4': 'mp4', 'video/3gpp': '3gp',
  'audio/aac': 'aac', 'audio/amr': 'amr', 'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'audio/ogg': 'ogg',
  'text/plain': 'txt', 'application/pdf': 'pdf',
  'application/msword': 'doc', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.ms-powerpoint': 'ppt', 'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
};

/** File extension for a MIME type (never from the sender's filename). */
export function extensionFor(mimeType: string): string {
  return EXTENSIONS[mimeType] ?? 'bin';
}

/** Which size limit applies: the message type when it is a media type, else the MIME family. */
export function kindOf(messageType: string, mimeType: string): MediaKind {
  if (messageType === 'image' || messageType === 'sticker' || messageType === 'audio' || messageType === 'video' || messageType === 'document') return messageType;
  if (mimeType === 'image/webp') return 'sticker';
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('audio/')) return 'audio';
  if (mimeType.startsWith('video/')) return 'video';
  return 'document';
}

export function storageKeyFor(clientId: string, messageId: string, sha256Hex: string, ext: string): string {
  return `clients/${clientId}/media/${messageId}/${sha256Hex}.${ext}`;
}

function mediaClientOptions(ctx: AppContext): MediaClientOptions {
  return {
    graphBaseUrl: ctx.config.whatsapp.graphBaseUrl,
    graphApiVersion: ctx.config.whatsapp.graphApiVersion,
    connectTimeoutMs: ctx.config.media.connectTimeoutMs,
    totalTimeoutMs: ctx.config.media.totalTimeoutMs,
  };
}

function publishUpdate(ctx: AppContext, clientId: string, row: FullMessageRow | null): void {
  if (!row) return;
  const message = presentMessage(row as unknown as Parameters<typeof presentMessage>[0]);
  // Same shape as the other message.updated events (ids + what changed), plus the whole message.
  ctx.realtime.publish({
    clientId, event: 'message.updated', conversationId: row.conversation_id,
    payload: { conversationId: message.conversationId, messageId: message.id, waMessageId: message.waMessageId, media: message.media, message },
  });
}

/** Marks the message's media failed (or unavailable) and tells dashboards; never throws for a missing message. */
export async function markMediaFailed(ctx: AppContext, input: ArchiveMediaInput, reason: string, status: 'failed' | 'unavailable' = 'failed'): Promise<void> {
  const db = await tenantDbById(ctx, input.clientId);
  const row = await markNotStored(db, input.messageId, status, reason);
  ctx.logger.warn({ clientId: input.clientId, messageId: input.messageId, status, reason }, 'media not archived');
  publishUpdate(ctx, input.clientId, row);
}

interface Prepared { key: string; body: Buffer | string; mimeType: string; size: number; sha256: string }

/** The job body. Throws MediaError(permanent=false) or other errors to retry. */
export async function archiveMedia(ctx: AppContext, input: ArchiveMediaInput): Promise<{ status: string }> {
  const db = await tenantDbById(ctx, input.clientId);
  const message = await findMessageMedia(db, input.messageId);
  if (!message) return { status: 'message-missing' };
  if (message.media_status === 'stored') return { status: 'stored' };

  const mode = ctx.config.whatsapp.mode;
  const secrets = await readSecrets(ctx, input.clientId, ['whatsappToken', 'whatsappPhoneNumberId']);
  if (mode === 'sandbox' || (!secrets.whatsappToken && mode === 'auto')) {
    await markMediaFailed(ctx, input, 'sandbox: the simulator has no media to download', 'unavailable');
    return { status: 'unavailable' };
  }
  if (!secrets.whatsappToken) {
    await markMediaFailed(ctx, input, 'the client has no whatsappToken');
    return { status: 'failed' };
  }

  const tmpDir = path.join(ctx.config.dataDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const file = path.join(tmpDir, `media-${randomBytes(8).toString('hex')}`);
  try {
    const prepared = await fetchAndCheck(ctx, input, message, secrets.whatsappToken, secrets.whatsappPhoneNumberId, file);
    for (const item of prepared) {
      const body = typeof item.body === 'string' ? createReadStream(item.body) : item.body;
      await ctx.storage.put(item.key, body, item.mimeType, item.size);
    }
    const [stored, original] = prepared;
    const row = await markStored(db, input.messageId, {
      storageKey: stored.key, originalKey: original?.key ?? null, mimeType: stored.mimeType, size: stored.size, sha256: stored.sha256,
    });
    publishUpdate(ctx, input.clientId, row);
    return { status: 'stored' };
  } catch (err) {
    if (err instanceof MediaError && err.permanent) {
      await markMediaFailed(ctx, input, err.message);
      return { status: 'failed' };
    }
    throw err;
  } finally {
    await rm(file, { force: true });
  }
}

async function fetchAndCheck(
  ctx: AppContext, input: ArchiveMediaInput, message: MessageMediaRow, token: string, phoneNumberId: string | undefined, file: string,
): Promise<Prepared[]> {
  const config = ctx.config.media;
  const options = mediaClientOptions(ctx);
  const metadata = await fetchMediaMetadata(options, { token, mediaId: input.mediaId, phoneNumberId });
  if (!config.mimeTypes.includes(metadata.mimeType)) throw new MediaError(`media type ${metadata.mimeType} is not accepted`, true);
  const kind = kindOf(message.type, metadata.mimeType);
  const maxBytes = config.maxBytes[kind];
  if (metadata.fileSize !== undefined && metadata.fileSize > maxBytes) {
    throw new MediaError(`media too large: ${metadata.fileSize} bytes (limit for ${kind} ${maxBytes})`, true);
  }
  const downloaded = await downloadMedia(options, { url: metadata.url, token, maxBytes, file });
  if (metadata.fileSize !== undefined && downloaded.size !== metadata.fileSize) {
    throw new MediaError(`size mismatch: got ${downloaded.size} bytes, Meta said ${metadata.fileSize}`, true);
  }
  if (metadata.sha256 && !sha256Matches(downloaded.sha256, metadata.sha256)) throw new MediaError('sha256 mismatch', true);
  const originalHex = downloaded.sha256.toString('hex');
  const ext = extensionFor(metadata.mimeType);
  const original: Prepared = {
    key: storageKeyFor(input.clientId, input.messageId, originalHex, ext), body: file, mimeType: metadata.mimeType, size: downloaded.size, sha256: originalHex,
  };
  if (kind !== 'image') return [original];
  const processed = await processImage(file, metadata.mimeType, config.imageMaxSide);
  if (!processed) return [original];
  const hex = createHash('sha256').update(processed.body).digest('hex');
  if (hex === originalHex) return [original];
  return [
    { key: storageKeyFor(input.clientId, input.messageId, hex, ext), body: processed.body, mimeType: processed.mimeType, size: processed.body.length, sha256: hex },
    original,
  ];
}
