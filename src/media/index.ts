/** The media domain: archiving inbound WhatsApp media and short-lived signed access to it. */
import type { AppContext } from '../context.ts';
import { downloadMediaJob } from './download-media.job.ts';

export { downloadMediaJob } from './download-media.job.ts';

/**
 * Queues the archive of one inbound media attachment (call after the message row is committed
 * with `media_status = 'pending'`). Idempotent per message: the job key is `media:<clientId>:<messageId>`.
 */
export async function enqueueMediaDownload(ctx: AppContext, input: { clientId: string; messageId: string; mediaId: string }): Promise<void> {
  await ctx.queue.enqueue(downloadMediaJob, { clientId: input.clientId, messageId: input.messageId, mediaId: input.mediaId }, {
    key: `media:${input.clientId}:${input.messageId}`,
  });
}
export { registerMediaRoutes } from './routes.ts';
export { sweepPendingMediaJob, SWEEP_PENDING_MEDIA_CRON } from './sweep-pending-media.job.ts';
export { sweepPendingMedia } from './sweep-pending-media.ts';
