/**
 * `whatsapp.send-message`: sends one queued message through the Graph client.
 * Keyed by the message id, and idempotent on the row: a message that already
 * has a wamid, or an attempt in flight, is never sent again by a retry.
 *
 * Meta has no idempotency key. A request that timed out may or may not have
 * gone out, so it is not retried blindly: the message becomes `unknown` and
 * `whatsapp.reconcile-send` looks for a status webhook echoing our
 * `biz_opaque_callback_data`; only without such evidence is it sent again.
 */
import type { AppContext } from '../context.ts';
import { isAppError } from '../platform/errors.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { tenantDbById } from '../tenants/index.ts';
import type pg from 'pg';
import { GraphError, resolveGraphTarget, sendGraphMessage, sendThrottle, uploadGraphMedia } from './graph-client.ts';
import { buildGraphPayload, callbackDataFor, type StoredContent } from './message-content.ts';
import {
  claimSendAttempt, findOutbound, findOutboundMedia, findWamidByCallbackData, markFailed, markSent, markUnknown,
  releaseSendAttempt, requeueUnknown, setUploadedMedia, type OutboundRow,
} from './outbound.repo.ts';
import { presentMessage } from './present.ts';
import { applyRecordedStatuses } from './statuses.repo.ts';
import { syncTemplatesJob } from './sync-templates.job.ts';

/** Waits up to this long in the job for a pacing slot; longer waits are re-enqueued for later. */
const MAX_INLINE_WAIT_MS = 2000;
/** Sends with an unknown outcome are re-sent at most this many times in all. */
const MAX_SEND_ATTEMPTS = 3;
const TEMPLATE_REFRESH_CODES = new Set([132001, 132015, 132016]);

export interface SendJobData { clientId: string; messageId: string; paced?: boolean }

function publish(ctx: AppContext, clientId: string, row: OutboundRow | undefined): void {
  if (!row) return;
  const message = presentMessage(row);
  // Same shape as the inbound side's status updates, plus the whole message.
  ctx.realtime.publish({
    clientId, event: 'message.updated', conversationId: row.conversation_id,
    payload: { conversationId: row.conversation_id, messageId: row.id, waMessageId: row.wa_message_id, status: row.status, error: row.error ?? null, message },
  });
}

/** After the wamid is stored: statuses that arrived first (parked) are applied now. */
async function afterSent(ctx: AppContext, clientId: string, db: pg.Pool, row: OutboundRow): Promise<void> {
  const change = await applyRecordedStatuses(db, row.wa_message_id!);
  publish(ctx, clientId, change ? await findOutbound(db, row.id) : row);
}

export async function performSend(ctx: AppContext, data: SendJobData, lastAttempt = true): Promise<Record<string, unknown>> {
  const { clientId, messageId } = data;
  const db = await tenantDbById(ctx, clientId);
  // The API enqueues before its transaction commits: the row normally appears within milliseconds;
  // otherwise retry the job later, and give up on the last attempt (the transaction rolled back).
  let row = await findOutbound(db, messageId);
  for (const delay of [5, 10, 20, 50, 100, 200, 400]) {
    if (row) break;
    await new Promise((r) => setTimeout(r, delay));
    row = await findOutbound(db, messageId);
  }
  if (!row && !lastAttempt) throw new Error('the message is not committed yet');
  if (!row || row.direction !== 'outbound' || row.wa_message_id || row.status !== 'queued') return { skipped: row?.status ?? 'missing' };
  if (row.send_in_flight_at) {
    // An earlier attempt started and never finished (process died mid-request): outcome unknown.
    publish(ctx, clientId, await markUnknown(db, messageId, { ourCode: 'UPSTREAM_UNAVAILABLE', message: 'A send attempt was interrupted; checking whether WhatsApp got it' }));
    await ctx.queue.enqueue(reconcileSendJob, { clientId, messageId }, { key: `${messageId}:reconcile:${row.send_attempts}`, startAfter: new Date(Date.now() + ctx.config.whatsapp.reconcileDelayMs) });
    return { unknown: true };
  }
  let target;
  try {
    target = await resolveGraphTarget(ctx, clientId);
  } catch (err) {
    if (isAppError(err, 'WHATSAPP_REAUTH_REQUIRED') || isAppError(err, 'UNPROCESSABLE')) {
      publish(ctx, clientId, await markFailed(db, messageId, { ourCode: err.code, message: err.message }));
      return { failed: err.code };
    }
    throw err;
  }
  const content = row.content as unknown as StoredContent;
  if (!data.paced) {
    const wait = sendThrottle(ctx).reserve(target.phoneNumberId, content.to);
    if (wait > MAX_INLINE_WAIT_MS) {
      await ctx.queue.enqueue(sendMessageJob, { clientId, messageId, paced: true }, { key: `${messageId}:paced:${row.send_attempts}:${Date.now()}`, startAfter: new Date(Date.now() + wait) });
      return { deferredMs: wait };
    }
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  let mediaId = row.media_id;
  const body = content.body as Record<string, unknown> | undefined;
  if (body?.upload && !mediaId) {
    const file = await findOutboundMedia(db, messageId);
    if (!file) {
      publish(ctx, clientId, await markFailed(db, messageId, { ourCode: 'UNPROCESSABLE', message: 'The uploaded media is missing' }));
      return { failed: 'media missing' };
    }
    try {
      mediaId = await uploadGraphMedia(ctx, target, { data: file.data, mimeType: file.mime_type, filename: file.filename });
    } catch (err) {
      if (err instanceof GraphError && !err.retryable) {
        publish(ctx, clientId, await markFailed(db, messageId, err.toJSON()));
        return { failed: err.code };
      }
      throw err;
    }
    await setUploadedMedia(db, messageId, mediaId);
  }
  const payload = buildGraphPayload({ messageId, content, replyToWaId: row.reply_to_wa_id, mediaId });
  if (!(await claimSendAttempt(db, messageId, payload))) return { skipped: 'claimed elsewhere' };
  let result;
  try {
    result = await sendGraphMessage(ctx, target, payload);
  } catch (err) {
    if (!(err instanceof GraphError)) {
      await releaseSendAttempt(db, messageId);
      throw err;
    }
    ctx.metrics.counter('ecodrix_whatsapp_send_errors_total', 'WhatsApp send errors by Meta error code (timeout/http for transport failures)')
      .inc({ code: err.kind === 'graph' ? String(err.code) : err.kind });
    if (err.kind === 'timeout') {
      publish(ctx, clientId, await markUnknown(db, messageId, err.toJSON()));
      await ctx.queue.enqueue(reconcileSendJob, { clientId, messageId }, { key: `${messageId}:reconcile:${row.send_attempts + 1}`, startAfter: new Date(Date.now() + ctx.config.whatsapp.reconcileDelayMs) });
      ctx.logger.warn({ client: clientId, messageId }, 'WhatsApp send timed out; outcome unknown, reconciling');
      return { unknown: true };
    }
    // Meta answered with an error: nothing went out, the attempt is over.
    await releaseSendAttempt(db, messageId);
    if (err.retryable) throw err;
    publish(ctx, clientId, await markFailed(db, messageId, err.toJSON()));
    if (err.code !== null && TEMPLATE_REFRESH_CODES.has(err.code)) {
      await ctx.queue.enqueue(syncTemplatesJob, { clientId }, { key: `${clientId}:refresh:${Math.floor(Date.now() / 60_000)}` }).catch(() => {});
    }
    return { failed: err.code };
  }
  const sent = await markSent(db, messageId, result.waMessageId);
  if (sent) await afterSent(ctx, clientId, db, sent);
  return { waMessageId: result.waMessageId };
}

export const sendMessageJob = defineJob<SendJobData, AppContext>({
  name: 'whatsapp.send-message',
  concurrency: 32,
  retry: { attempts: 5, backoffSeconds: 2, expireInSeconds: 120 },
  handler: (data, ctx, _job, attempt) => performSend(ctx, data, attempt.isLast),
  async onFailed(data, ctx, error) {
    const db = await tenantDbById(ctx, data.clientId);
    const detail = error instanceof GraphError ? error.toJSON() : { ourCode: isAppError(error) ? error.code : 'INTERNAL', message: (error as Error).message };
    publish(ctx, data.clientId, await markFailed(db, data.messageId, detail));
  },
});

/** Settles a send whose outcome was unknown: adopt the wamid Meta reported, or send once more. */
export async function reconcileSend(ctx: AppContext, data: { clientId: string; messageId: string }): Promise<Record<string, unknown>> {
  const db = await tenantDbById(ctx, data.clientId);
  const row = await findOutbound(db, data.messageId);
  if (!row || row.status !== 'unknown' || row.wa_message_id) return { skipped: row?.status ?? 'missing' };
  const wamid = await findWamidByCallbackData(db, callbackDataFor(row.id));
  if (wamid) {
    const sent = await markSent(db, row.id, wamid);
    if (sent) await afterSent(ctx, data.clientId, db, sent);
    ctx.logger.info({ client: data.clientId, messageId: row.id }, 'unknown send reconciled: WhatsApp had accepted it');
    return { adopted: wamid };
  }
  if (row.send_attempts >= MAX_SEND_ATTEMPTS) {
    publish(ctx, data.clientId, await markFailed(db, row.id, { ourCode: 'UPSTREAM_UNAVAILABLE', message: `WhatsApp did not answer ${row.send_attempts} send attempts and reported no status; not sent again` }));
    return { failed: 'outcome unknown' };
  }
  if (await requeueUnknown(db, row.id)) {
    await ctx.queue.enqueue(sendMessageJob, { clientId: data.clientId, messageId: row.id }, { key: `${row.id}:resend:${row.send_attempts}` });
  }
  return { resent: true };
}

export const reconcileSendJob = defineJob<{ clientId: string; messageId: string }, AppContext>({
  name: 'whatsapp.reconcile-send',
  concurrency: 4,
  handler: (data, ctx) => reconcileSend(ctx, data),
});
