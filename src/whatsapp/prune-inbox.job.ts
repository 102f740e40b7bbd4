/**
 * Daily: deletes inbox rows that were applied (state done) longer ago than
 * WHATSAPP_INBOX_RETENTION_DAYS. Dead and unroutable rows stay until an
 * operator replays them or they age out too (kept 4× longer).
 */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { pruneInboxRows } from './inbox.repo.ts';

export const pruneInboxJob = defineJob<Record<string, never>, AppContext>({
  name: 'whatsapp.prune-inbox',
  concurrency: 1,
  async handler(_data, ctx) {
    const days = ctx.config.whatsapp.inboxRetentionDays;
    const deleted = await pruneInboxRows(ctx.controlDb, days);
    if (deleted > 0) ctx.logger.info({ deleted, days }, 'pruned the webhook inbox');
    return { deleted };
  },
});

export const PRUNE_INBOX_CRON = '41 4 * * *';
