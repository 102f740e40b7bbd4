/**
 * Handles one claimed inbox row: parse, route every change to its client
 * (phone_number_id → client, or WABA id for fields without metadata), keep
 * only changes the signature authorises, apply each client's share in its own
 * transaction. One client's failure does not undo or hold up another's: the
 * clients that succeeded are remembered and skipped when the row is retried.
 */
import type { AppContext } from '../context.ts';
import { applyClientChanges } from './apply-inbound.ts';
import { clientRouting } from './client-routing.ts';
import { failInboxRow, finishInboxRow, type ClaimedInboxRow, type UnroutableChange } from './inbox.repo.ts';
import { parseWebhookBody, WebhookShapeError, type InboundChange } from './parse-inbound.ts';

export interface InboxPolicy {
  maxAttempts: number;
  retryBaseMs: number;
}

/** Exponential backoff with jitter, capped at 10 minutes. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  const raw = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 600_000);
  return Math.round(raw * (0.75 + Math.random() * 0.5));
}

export type RowOutcome = 'done' | 'unroutable' | 'retry' | 'dead';

export async function processInboxRow(ctx: AppContext, row: ClaimedInboxRow, policy: InboxPolicy): Promise<RowOutcome> {
  let changes: InboundChange[];
  try {
    changes = parseWebhookBody(JSON.parse(row.body.toString('utf8')));
  } catch (err) {
    // Deterministic: retrying cannot help. Dead-letter at once, keeping the bytes for an operator.
    const reason = err instanceof WebhookShapeError ? err.message : `malformed JSON: ${(err as Error).message}`;
    await failInboxRow(ctx.controlDb, row.id, { error: reason, retryAt: null, clientIds: [], doneClientIds: [], unroutable: [] });
    return 'dead';
  }

  const routing = clientRouting(ctx);
  const allowed = row.verified_for ? new Set(row.verified_for.map(String)) : null;
  const byClient = new Map<string, InboundChange[]>();
  const unroutable: UnroutableChange[] = [];
  for (const change of changes) {
    const phoneNumberId = change.kind === 'template_status' ? null : change.phoneNumberId;
    const field = change.kind === 'messages' ? 'messages' : change.kind === 'template_status' ? 'message_template_status_update' : change.field;
    const note = (reason: string) => unroutable.push({ entryId: change.entryId, field, phoneNumberId, reason });
    let clients: string[];
    if (phoneNumberId) {
      clients = await routing.clientsForPhoneNumber(phoneNumberId);
      if (clients.length === 0) { note('unknown phone_number_id'); continue; }
    } else if (change.entryId) {
      clients = await routing.clientsForWaba(change.entryId);
      if (clients.length === 0) { note(change.kind === 'messages' ? 'no metadata.phone_number_id and unknown WABA id' : 'unknown WABA id'); continue; }
    } else {
      note('no phone_number_id or WABA id');
      continue;
    }
    if (allowed) {
      const permitted = clients.filter((c) => allowed.has(c));
      if (permitted.length < clients.length) {
        note('signed with another client\'s app secret');
        ctx.logger.warn({ inboxId: row.id, phoneNumberId, entryId: change.entryId }, 'webhook change dropped: its client did not sign this delivery');
      }
      clients = permitted;
    }
    for (const clientId of clients) {
      const list = byClient.get(clientId) ?? [];
      list.push(change);
      byClient.set(clientId, list);
    }
  }

  const clientIds = [...byClient.keys()];
  const done = new Set(row.done_client_ids.map(String));
  const pending = clientIds.filter((c) => !done.has(c));
  const results = await Promise.allSettled(pending.map((clientId) => applyClientChanges(ctx, clientId, byClient.get(clientId)!)));
  const failures: string[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') done.add(pending[i]);
    else failures.push(`client ${pending[i]}: ${(result.reason as Error)?.message ?? String(result.reason)}`);
  });

  if (failures.length === 0) {
    const state = clientIds.length === 0 && unroutable.length > 0 ? 'unroutable' : 'done';
    await finishInboxRow(ctx.controlDb, row.id, { state, clientIds, unroutable });
    if (unroutable.length > 0) ctx.logger.info({ inboxId: row.id, unroutable }, 'webhook changes without a client');
    return state;
  }
  const dead = row.attempts >= policy.maxAttempts;
  const retryAt = dead ? null : new Date(Date.now() + retryDelayMs(row.attempts, policy.retryBaseMs));
  const error = failures.join('; ');
  ctx.logger.warn({ inboxId: row.id, attempt: row.attempts, dead, err: error }, dead ? 'webhook dead-lettered' : 'webhook processing failed; will retry');
  await failInboxRow(ctx.controlDb, row.id, { error, retryAt, clientIds, doneClientIds: [...done], unroutable });
  return dead ? 'dead' : 'retry';
}
