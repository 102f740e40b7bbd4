/** Operators' view of the webhook inbox: list rows by state, replay parked ones. */
import { recordAudit } from '../audit/record-audit.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { listInboxRows, requeueInboxRow, type InboxRowView, type InboxState } from './inbox.repo.ts';

export function presentInboxRow(row: InboxRowView) {
  return {
    id: row.id,
    receivedAt: row.received_at.toISOString(),
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at.toISOString(),
    lastError: row.last_error,
    clientIds: row.client_ids,
    unroutable: row.unroutable,
    processedAt: row.processed_at?.toISOString() ?? null,
    size: Number(row.size),
  };
}

export async function listWebhookInbox(ctx: AppContext, input: { state?: InboxState; before?: string; limit: number }) {
  const rows = await listInboxRows(ctx.controlDb, input);
  return { webhooks: rows.map(presentInboxRow), nextBefore: rows.length === input.limit ? rows.at(-1)!.id : null };
}

/** Puts a dead, unroutable or done row back in the queue. */
export async function replayWebhook(ctx: AppContext, id: string, actor: { actor: string; ip?: string; requestId?: string }): Promise<{ id: string; previousState: InboxState; state: 'pending' }> {
  if (!/^\d{1,18}$/.test(id)) throw new AppError('WEBHOOK_NOT_FOUND', { message: 'Webhook not found' });
  const result = await requeueInboxRow(ctx.controlDb, id);
  if (!result) throw new AppError('WEBHOOK_NOT_FOUND', { message: 'Webhook not found' });
  if (!result.requeued) throw new AppError('CONFLICT', { message: `Webhook is ${result.previous}; only dead, unroutable or done rows can be replayed` });
  await recordAudit(ctx.controlDb, { ...actor, action: 'webhook.replay', details: { inboxId: id, previousState: result.previous } });
  ctx.logger.info({ inboxId: id, previous: result.previous }, 'webhook replay requested');
  return { id, previousState: result.previous, state: 'pending' };
}
