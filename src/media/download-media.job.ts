/**
 * `media.download-media`: archives one inbound media attachment (see archive-media.ts).
 * Queued by inbound processing with the key `media:<clientId>:<messageId>`, so a
 * redelivered webhook never downloads twice. Transient failures (5xx, timeouts)
 * throw and are retried with backoff; permanent ones mark the message's media as
 * failed and return. The message itself is never blocked.
 */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { archiveMedia, markMediaFailed } from './archive-media.ts';

export interface DownloadMediaData {
  clientId: string;
  messageId: string;
  mediaId: string;
}

export const downloadMediaJob = defineJob<DownloadMediaData, AppContext>({
  name: 'media.download-media',
  concurrency: 4,
  retry: { attempts: 6, expireInSeconds: 180 },
  handler: async (data, ctx) => archiveMedia(ctx, data),
  onFailed: async (data, ctx, error) => {
    await markMediaFailed(ctx, data, `download failed after retries: ${(error as Error).message}`);
  },
});
