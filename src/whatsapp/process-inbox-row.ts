/**
 * Handles claimed inbox rows: parse, route every change to its client
 * (phone_number_id → client, or WABA id for fields without metadata), keep
 * only changes the signature authorises, then apply each client's share of
 * ALL the claimed rows in one tenant transaction (one commit for many
 * deliveries). If that transaction fails, the client's rows are retried one by
 * one so a poison delivery only fails itself (not when its database cannot be
 * reached: then they all fail at once). One client's failure never undoes
 * or holds up another's: clients that succeeded are remembered per row and
 * skipped when the row is retried.
 */
import type { AppContext } from '../context.ts';
import { isDatabaseUnavailable } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { applyClientChanges } from './apply-inbound.ts';
import { clientRouting } from './client-routing.ts';
import { failInboxRow, finishInboxRows, withAsyncCommit, type ClaimedInboxRow, type UnroutableChange } from './inbox.repo.ts';
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

interface Plan {
  row: ClaimedInboxRow;
  byClient: Map<string, InboundChange[]>;
  unroutable: UnroutableChange[];
  done: Set<string>;
  failures: string[];
}

/** Parses and routes one row. @returns null when the body is not a webhook at all (dead-lettered at once) */
async function planRow(ctx: AppContext, row: ClaimedInboxRow): Promise<Plan | null> {
  let changes: InboundChange[];
  try {
    changes = parseWebhookBody(JSON.parse(row.body.toString('utf8')));
  } catch (err) {
    // Deterministic: retrying cannot help. Dead-letter at once, keeping the bytes for an operator.
    const reason = err instanceof WebhookShapeError ? err.message : `malformed JSON: ${(err as Error).message}`;
    await withAsyncCommit(ctx.controlDb, (tx) => failInboxRow(tx, row.id, { error: reason, retryAt: null, clientIds: [], doneClientIds: [], unroutable: [] }));
    return null;
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
  return { row, byClient, unroutable, done: new Set(row.done_client_ids.map(String)), failures: [] };
}

function unreachable(err: unknown): boolean {
  return (err instanceof AppError && (err.code === 'TENANT_DB_UNAVAILABLE' || err.code === 'NO_TENANT_CONNECTION' || err.code === 'CLIENT_NOT_FOUND'))
    || isDatabaseUnavailable(err);
}

function describe(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** Applies one client's share of several rows: together first, one by one if that fails. */
async function applyForClient(ctx: AppContext, clientId: string, plans: Plan[]): Promise<void> {
  try {
    await applyClientChanges(ctx, clientId, plans.flatMap((p) => p.byClient.get(clientId)!));
    for (const p of plans) p.done.add(clientId);
    return;
  } catch (err) {
    // One row, or a database that cannot be reached (retrying row by row would only wait for it again per row).
    if (plans.length === 1 || unreachable(err)) {
      for (const p of plans) p.failures.push(`client ${clientId}: ${describe(err)}`);
      return;
    }
  }
  for (const p of plans) {
    try {
      await applyClientChanges(ctx, clientId, p.byClient.get(clientId)!);
      p.done.add(clientId);
    } catch (err) {
      p.failures.push(`client ${clientId}: ${describe(err)}`);
    }
  }
}

export async function processInboxRows(ctx: AppContext, rows: ClaimedInboxRow[], policy: InboxPolicy): Promise<RowOutcome[]> {
  const plans = await Promise.all(rows.map((row) => planRow(ctx, row)));
  const work = new Map<string, Plan[]>();
  for (const plan of plans) {
    if (!plan) continue;
    for (const clientId of plan.byClient.keys()) {
      if (plan.done.has(clientId)) continue;
      const list = work.get(clientId) ?? [];
      list.push(plan);
      work.set(clientId, list);
    }
  }
  await Promise.all([...work].map(([clientId, list]) => applyForClient(ctx, clientId, list)));

  const finished: Array<{ id: string; state: 'done' | 'unroutable'; clientIds: string[]; unroutable: UnroutableChange[] }> = [];
  const outcomes: RowOutcome[] = [];
  const failed: Plan[] = [];
  for (const plan of plans) {
    if (!plan) {
      outcomes.push('dead');
      continue;
    }
    const clientIds = [...plan.byClient.keys()];
    if (plan.failures.length === 0) {
      const state = clientIds.length === 0 && plan.unroutable.length > 0 ? 'unroutable' : 'done';
      finished.push({ id: plan.row.id, state, clientIds, unroutable: plan.unroutable });
      if (plan.unroutable.length > 0) ctx.logger.info({ inboxId: plan.row.id, unroutable: plan.unroutable }, 'webhook changes without a client');
      outcomes.push(state);
    } else {
      failed.push(plan);
      outcomes.push(plan.row.attempts >= policy.maxAttempts ? 'dead' : 'retry');
    }
  }
  await withAsyncCommit(ctx.controlDb, async (tx) => {
    await finishInboxRows(tx, finished);
    for (const plan of failed) {
      const dead = plan.row.attempts >= policy.maxAttempts;
      const error = plan.failures.join('; ');
      ctx.logger.warn({ inboxId: plan.row.id, attempt: plan.row.attempts, dead, err: error }, dead ? 'webhook dead-lettered' : 'webhook processing failed; will retry');
      await failInboxRow(tx, plan.row.id, {
        error, retryAt: dead ? null : new Date(Date.now() + retryDelayMs(plan.row.attempts, policy.retryBaseMs)),
        clientIds: [...plan.byClient.keys()], doneClientIds: [...plan.done], unroutable: plan.unroutable,
      });
    }
  });
  return outcomes;
}
