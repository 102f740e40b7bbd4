/** `media.sweep-pending-media` (cron, every 10 minutes): see sweep-pending-media.ts. */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { sweepPendingMedia } from './sweep-pending-media.ts';

export const sweepPendingMediaJob = defineJob<Record<string, never>, AppContext>({
  name: 'media.sweep-pending-media',
  concurrency: 1,
  retry: { attempts: 1, expireInSeconds: 600 },
  handler: async (_data, ctx) => sweepPendingMedia(ctx),
});

export const SWEEP_PENDING_MEDIA_CRON = '*/10 * * * *';
