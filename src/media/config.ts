/** Media archiving settings: accepted types, size limits per kind, image processing, link lifetime. */
import type { EnvReader } from '../platform/env-reader.ts';

const MB = 1024 * 1024;

/** WhatsApp's inbound media types (reference/whatsapp-cloud-api.md §10). */
export const DEFAULT_MIME_TYPES = [
  'image/jpeg', 'image/png', 'image/webp',
  'video/mp4', 'video/3gpp',
  'audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg',
  'text/plain', 'application/pdf',
  'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-powerpoint', 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
];

export function readMediaConfig(env: EnvReader) {
  return {
    mimeTypes: env.list('MEDIA_MIME_TYPES', { default: DEFAULT_MIME_TYPES, doc: 'Media types archived (comma-separated, without parameters); anything else is marked failed.' }).map((t) => t.toLowerCase()),
    maxBytes: {
      image: env.int('MEDIA_MAX_IMAGE_BYTES', { default: 5 * MB, min: 1024, max: 200 * MB, doc: 'Largest image downloaded (WhatsApp limit 5 MB).' }),
      sticker: env.int('MEDIA_MAX_STICKER_BYTES', { default: 500 * 1024, min: 1024, max: 200 * MB, doc: 'Largest sticker downloaded (WhatsApp limit 500 KB animated).' }),
      audio: env.int('MEDIA_MAX_AUDIO_BYTES', { default: 16 * MB, min: 1024, max: 200 * MB, doc: 'Largest audio file downloaded (WhatsApp limit 16 MB).' }),
      video: env.int('MEDIA_MAX_VIDEO_BYTES', { default: 16 * MB, min: 1024, max: 200 * MB, doc: 'Largest video downloaded (WhatsApp limit 16 MB).' }),
      document: env.int('MEDIA_MAX_DOCUMENT_BYTES', { default: 100 * MB, min: 1024, max: 200 * MB, doc: 'Largest document downloaded (WhatsApp limit 100 MB).' }),
    },
    imageMaxSide: env.int('MEDIA_IMAGE_MAX_SIDE', { default: 1600, min: 64, max: 10_000, doc: 'Images are resized to fit this many pixels per side and re-encoded (metadata such as GPS stripped); the original is kept too.' }),
    connectTimeoutMs: env.int('MEDIA_CONNECT_TIMEOUT_MS', { default: 5000, min: 100, max: 60_000, doc: 'Connect timeout for Graph media metadata and downloads.' }),
    totalTimeoutMs: env.int('MEDIA_DOWNLOAD_TIMEOUT_MS', { default: 60_000, min: 500, max: 600_000, doc: 'Total time allowed for one media download.' }),
    urlTtlSeconds: env.int('MEDIA_URL_TTL_SECONDS', { default: 300, min: 5, max: 86_400, doc: 'Lifetime of the signed links GET /api/saas/media/:id hands out.' }),
  };
}

export type MediaConfig = ReturnType<typeof readMediaConfig>;
