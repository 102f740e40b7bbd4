/**
 * Safety net for media whose download job was never queued (e.g. the queue was
 * unreachable right after the message committed): messages still `pending`
 * 15 minutes after they arrived, and younger than Meta's 7-day media lifetime,
 * get one more keyed job. Only clients with a WhatsApp token can have real media.
 */
import type { AppContext } from '../context.ts';
import { tenantDbById } from '../tenants/index.ts';
import { downloadMediaJob } from './download-media.job.ts';
import { findStalePendingMedia } from './media.repo.ts';

export async function sweepPendingMedia(ctx: AppContext): Promise<{ clients: number; queued: number }> {
  const { rows } = await ctx.controlDb.query<{ client_id: string }>(`SELECT DISTINCT client_id FROM client_secrets WHERE name = 'whatsappToken'`);
  let queued = 0;
  for (const { client_id: clientId } of rows) {
    try {
      const db = await tenantDbById(ctx, clientId);
      for (const message of await findStalePendingMedia(db, 200)) {
        await ctx.queue.enqueue(downloadMediaJob, { clientId, messageId: message.id, mediaId: message.media_id }, { key: `media:${clientId}:${message.id}:sweep` });
        queued++;
      }
    } catch (err) {
      ctx.logger.warn({ clientId, err: (err as Error).message }, 'media sweep skipped a client');
    }
  }
  return { clients: rows.length, queued };
}
