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
import { GraphError, resolveGraphTarget, sendGraphMessage, sendThrottle, uploadGraphMedia, type GraphTarget } from './graph-client.ts';
import { buildGraphPayload, callbackDataFor, type StoredContent } from './message-content.ts';
import {
  claimSendAttempts, findOutbound, findOutboundMany, findOutboundMedia, findWamidByCallbackData, markFailed, markSent, markSentMany, markUnknown,
  releaseSendAttempt, requeueUnknown, setUploadedMedia, type OutboundRow,
} from './outbound.repo.ts';
import { presentMessage } from './present.ts';
import { reserveSendSlots } from './send-pace.ts';
import { applyRecordedStatuses, applyRecordedStatusesMany } from './statuses.repo.ts';
import { syncTemplatesJob } from './sync-templates.job.ts';

/** Waits up to this long in the job for a pacing slot; longer waits are re-enqueued for later. */
const MAX_INLINE_WAIT_MS = 2000;
/** Sends due within this many ms of each other go out as one wave (claimed and stored together). */
const WAVE_MS = 25;
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

/** One job of a batch, and what became of it. */
interface SendItem { data: SendJobData; isLast: boolean }
type SendOutcome = { ok: true; output: Record<string, unknown> } | { ok: false; error: unknown };

/** Runs one send job (the batch path with a batch of one). */
export async function performSend(ctx: AppContext, data: SendJobData, lastAttempt = true): Promise<Record<string, unknown>> {
  const [outcome] = await performSends(ctx, [{ data, isLast: lastAttempt }]);
  if (!outcome.ok) throw outcome.error;
  return outcome.output;
}

/**
 * Runs a batch of send jobs with a constant number of round trips per client and wave:
 * the messages are read in one statement, the number's pacing slots reserved in one
 * (shared by every instance), claimed in one, sent in parallel, and their wamids stored
 * in one. Rare paths (a row not committed yet, an interrupted attempt, media uploads,
 * Graph errors) are handled per message.
 */
export async function performSends(ctx: AppContext, items: SendItem[]): Promise<SendOutcome[]> {
  const outcomes: SendOutcome[] = new Array(items.length);
  const byClient = new Map<string, number[]>();
  items.forEach((item, i) => {
    const list = byClient.get(item.data.clientId);
    if (list) list.push(i);
    else byClient.set(item.data.clientId, [i]);
  });
  await Promise.all([...byClient].map(async ([clientId, indexes]) => {
    const results = await sendForClient(ctx, clientId, indexes.map((i) => items[i])).catch((error: unknown) => indexes.map((): SendOutcome => ({ ok: false, error })));
    indexes.forEach((i, k) => { outcomes[i] = results[k]; });
  }));
  return outcomes;
}

interface Ready { k: number; row: OutboundRow; content: StoredContent }

async function sendForClient(ctx: AppContext, clientId: string, items: SendItem[]): Promise<SendOutcome[]> {
  const out: SendOutcome[] = new Array(items.length);
  const settle = async (k: number, run: () => Promise<Record<string, unknown>>) => {
    try {
      out[k] = { ok: true, output: await run() };
    } catch (error) {
      out[k] = { ok: false, error };
    }
  };
  const db = await tenantDbById(ctx, clientId);
  // The API enqueues before it writes the row: the row normally appears within milliseconds (looked
  // for again for the whole batch at once); otherwise retry the job later, and give up on the last
  // attempt (the row was never written).
  const rows = await findOutboundMany(db, items.map((i) => i.data.messageId));
  for (const delay of [5, 10, 20, 50, 100, 200, 400]) {
    const missing = items.map((i) => i.data.messageId).filter((id) => !rows.has(id));
    if (missing.length === 0) break;
    await new Promise((r) => setTimeout(r, delay));
    for (const [id, row] of await findOutboundMany(db, missing)) rows.set(id, row);
  }
  const ready: Ready[] = [];
  await Promise.all(items.map((item, k) => settle(k, async () => {
    const { messageId } = item.data;
    const row = rows.get(messageId);
    if (!row && !item.isLast) throw new Error('the message is not committed yet');
    if (!row || row.direction !== 'outbound' || row.wa_message_id || row.status !== 'queued') return { skipped: row?.status ?? 'missing' };
    if (row.send_in_flight_at) {
      // An earlier attempt started and never finished (process died mid-request): outcome unknown.
      publish(ctx, clientId, await markUnknown(db, messageId, { ourCode: 'UPSTREAM_UNAVAILABLE', message: 'A send attempt was interrupted; checking whether WhatsApp got it' }));
      await ctx.queue.enqueue(reconcileSendJob, { clientId, messageId }, { key: `${messageId}:reconcile:${row.send_attempts}`, startAfter: new Date(Date.now() + ctx.config.whatsapp.reconcileDelayMs) });
      return { unknown: true };
    }
    ready.push({ k, row, content: row.content as unknown as StoredContent });
    return { pending: true };
  })));
  if (ready.length === 0) return out;

  let target: GraphTarget;
  try {
    target = await resolveGraphTarget(ctx, clientId);
  } catch (err) {
    if (isAppError(err, 'WHATSAPP_REAUTH_REQUIRED') || isAppError(err, 'UNPROCESSABLE')) {
      await Promise.all(ready.map(({ k, row }) => settle(k, async () => {
        publish(ctx, clientId, await markFailed(db, row.id, { ourCode: err.code, message: err.message }));
        return { failed: err.code };
      })));
      return out;
    }
    throw err;
  }

  // Pacing: slots of the sending number (shared by every instance), then the recipient's pair bucket.
  const unpaced = ready.filter((r) => !items[r.k].data.paced);
  const slots = unpaced.length
    ? (await reserveSendSlots(ctx.controlDb, new Map([[target.phoneNumberId, unpaced.length]]), ctx.config.whatsapp.numberRatePerSecond)).get(target.phoneNumberId) ?? []
    : [];
  const throttle = sendThrottle(ctx);
  const waves = new Map<number, Ready[]>();
  const deferrals: Array<Promise<void>> = [];
  const start = Date.now();
  for (const entry of ready) {
    let wait = 0;
    const slot = unpaced.indexOf(entry);
    if (slot >= 0) wait = Math.max(slots[slot] ?? 0, throttle.reservePair(target.phoneNumberId, entry.content.to, start));
    if (wait > MAX_INLINE_WAIT_MS) {
      const { row } = entry;
      deferrals.push(settle(entry.k, async () => {
        await ctx.queue.enqueue(sendMessageJob, { clientId, messageId: row.id, paced: true }, { key: `${row.id}:paced:${row.send_attempts}:${Date.now()}`, startAfter: new Date(Date.now() + wait) });
        return { deferredMs: wait };
      }));
      continue;
    }
    // Sends due close together go out together (rounded up: never before their slot).
    const at = Math.ceil(wait / WAVE_MS) * WAVE_MS;
    const wave = waves.get(at);
    if (wave) wave.push(entry);
    else waves.set(at, [entry]);
  }
  await Promise.all([
    ...deferrals,
    ...[...waves].map(async ([at, wave]) => {
      const delay = start + at - Date.now();
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      await sendWave(ctx, clientId, db, target, wave, settle);
    }),
  ]);
  return out;
}

/** Sends that are due now: claimed in one statement, sent in parallel, wamids stored in one. */
async function sendWave(
  ctx: AppContext, clientId: string, db: pg.Pool, target: GraphTarget, wave: Ready[],
  settle: (k: number, run: () => Promise<Record<string, unknown>>) => Promise<void>,
): Promise<void> {
  const payloads = new Map<string, Record<string, unknown>>();
  await Promise.all(wave.map(({ k, row, content }) => settle(k, async () => {
    const mediaId = await uploadIfNeeded(ctx, clientId, db, target, row, content);
    if (mediaId !== null && typeof mediaId === 'object') return mediaId;
    payloads.set(row.id, buildGraphPayload({ messageId: row.id, content, replyToWaId: row.reply_to_wa_id, mediaId }));
    return { pending: true };
  })));
  const toClaim = wave.filter(({ row }) => payloads.has(row.id));
  if (toClaim.length === 0) return;
  const claimed = await claimSendAttempts(db, toClaim.map(({ row }) => ({ id: row.id, payload: payloads.get(row.id) })));
  const sent: Array<{ k: number; id: string; waMessageId: string }> = [];
  await Promise.all(toClaim.map(({ k, row }) => settle(k, async () => {
    if (!claimed.has(row.id)) return { skipped: 'claimed elsewhere' };
    let result;
    try {
      result = await sendGraphMessage(ctx, target, payloads.get(row.id)!);
    } catch (err) {
      return sendFailed(ctx, clientId, db, row, err);
    }
    sent.push({ k, id: row.id, waMessageId: result.waMessageId });
    return { waMessageId: result.waMessageId };
  })));
  if (sent.length === 0) return;
  // Meta accepted these: store the wamids (one statement); a failure here retries the jobs, and the
  // retry finds the attempt in flight → unknown → reconciled by the status webhooks (never re-sent blindly).
  try {
    const rows = await markSentMany(db, sent);
    // Statuses that arrived before the wamid was stored (parked) are applied now, for the batch at once.
    const changes = new Map((await applyRecordedStatusesMany(db, rows.map((r) => r.wa_message_id!))).map((c) => [c.messageId, c]));
    for (const row of rows) {
      const change = changes.get(row.id);
      publish(ctx, clientId, change ? { ...row, status: change.status, error: change.error } : row);
    }
  } catch (error) {
    await Promise.all(sent.map(({ k }) => settle(k, () => Promise.reject(error))));
  }
}

/** Uploads inline media before the send. @returns the media id (or null), or the job's final output */
async function uploadIfNeeded(ctx: AppContext, clientId: string, db: pg.Pool, target: GraphTarget, row: OutboundRow, content: StoredContent): Promise<string | null | Record<string, unknown>> {
  const body = content.body as Record<string, unknown> | undefined;
  if (!body?.upload || row.media_id) return row.media_id;
  const file = await findOutboundMedia(db, row.id);
  if (!file) {
    publish(ctx, clientId, await markFailed(db, row.id, { ourCode: 'UNPROCESSABLE', message: 'The uploaded media is missing' }));
    return { failed: 'media missing' };
  }
  let mediaId: string;
  try {
    mediaId = await uploadGraphMedia(ctx, target, { data: file.data, mimeType: file.mime_type, filename: file.filename });
  } catch (err) {
    if (err instanceof GraphError && !err.retryable) {
      publish(ctx, clientId, await markFailed(db, row.id, err.toJSON()));
      return { failed: err.code };
    }
    throw err;
  }
  await setUploadedMedia(db, row.id, mediaId);
  return mediaId;
}

/** A claimed send that did not get a wamid: unknown (timeout), failed, or retried. */
async function sendFailed(ctx: AppContext, clientId: string, db: pg.Pool, row: OutboundRow, err: unknown): Promise<Record<string, unknown>> {
  const messageId = row.id;
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

export const sendMessageJob = defineJob<SendJobData, AppContext>({
  name: 'whatsapp.send-message',
  // Loops per process, each fetching up to batchSize jobs (one statement) and settling them in one.
  concurrency: 4,
  batchSize: 64,
  workerOptions: (ctx) => ({ concurrency: ctx.config.whatsapp.sendLoops, batchSize: ctx.config.whatsapp.sendBatchSize }),
  retry: { attempts: 5, backoffSeconds: 2, expireInSeconds: 120 },
  handler: (data, ctx, _job, attempt) => performSend(ctx, data, attempt.isLast),
  batchHandler: (jobs, ctx) => performSends(ctx, jobs.map((j) => ({ data: j.data, isLast: j.attempt.isLast }))),
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
