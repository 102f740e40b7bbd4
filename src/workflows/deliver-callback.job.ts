/**
 * `workflows.deliver-callback`: `PUT callbackUrl` with `{ status, metadata, jobId, trigger, result }`,
 * signed with Standard Webhooks headers and the client's automationWebhookSecret, once for every
 * final state a job reaches: `completed` (result = the action's output), `failed` ({ error }),
 * `skipped` (a run time already past, { reason: 'late', message }) and `cancelled` ({ reason:
 * 'appointment_cancelled' | 'previous_step_failed' | 'operator_cancelled', message }). A job an
 * operator retries after it failed or was cancelled calls back again with its new outcome.
 * The `webhook-id` identifies the event (job, status, attempt count) and is the same on every
 * retry of its delivery; the timestamp is each attempt's. 2xx = delivered;
 * anything else (3xx included: redirects are not followed) is retried with backoff until the
 * attempts (WORKFLOW_CALLBACK_ATTEMPTS) are used up; 410 and refused destinations stop at once
 * (the SSRF policy is applied again here, so a URL stored before, e.g. http in production, is refused).
 */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { BlockedDestinationError, safeFetch } from '../platform/http/safe-fetch.ts';
import { webhookHeaders } from '../platform/http/standard-webhooks.ts';
import { readSecrets, tenantDbById } from '../tenants/index.ts';
import { webhookIdFor } from './actions/webhook.ts';
import { findJob, setCallbackState, type WorkflowJobRow } from './workflow-jobs.repo.ts';

export interface DeliverCallbackData {
  clientId: string;
  jobId: string;
  /** The final state this callback reports, and the job's attempt count then (absent in jobs queued by older versions). */
  status?: string;
  attempts?: number;
}

const FINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

function eventKey(data: DeliverCallbackData): string {
  return data.status === undefined ? `${data.clientId}|${data.jobId}` : `${data.clientId}|${data.jobId}|${data.status}|${data.attempts}`;
}

/** Queues the callback of a job that reached a final state (a no-op without a callback URL, or when already queued). */
export async function enqueueCallback(ctx: AppContext, clientId: string, row: Pick<WorkflowJobRow, 'id' | 'status' | 'attempts' | 'callback_url'>): Promise<void> {
  if (!row.callback_url || !FINAL.has(row.status)) return;
  const data: DeliverCallbackData = { clientId, jobId: row.id, status: row.status, attempts: row.attempts };
  await ctx.queue.enqueue(deliverCallbackJob, data, { key: eventKey(data), attempts: ctx.config.workflows.callbackAttempts });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid url)';
  }
}

/** The callback's `result` per status (see the module comment). */
function resultOf(row: { status: string; output: unknown; last_error: string | null }): unknown {
  if (row.status === 'completed') return row.output ?? {};
  if (row.status === 'failed') return { error: row.last_error };
  const output = row.output as { reason?: unknown; message?: unknown } | null;
  return { reason: typeof output?.reason === 'string' ? output.reason : row.status, message: typeof output?.message === 'string' ? output.message : (row.last_error ?? null) };
}

/** The exact bytes a callback sends. */
export function callbackBody(row: { id: string; status: string; trigger: string; callback_metadata: unknown; output: unknown; last_error: string | null }): string {
  return JSON.stringify({
    status: row.status,
    metadata: row.callback_metadata ?? {},
    jobId: row.id,
    trigger: row.trigger,
    result: resultOf(row),
  });
}

export const deliverCallbackJob = defineJob<DeliverCallbackData, AppContext>({
  name: 'workflows.deliver-callback',
  async handler(data, ctx, _job, attempt) {
    const db = await tenantDbById(ctx, data.clientId);
    const row = await findJob(db, data.jobId);
    if (!row?.callback_url) return { skipped: 'no callback' };
    // The job moved on (an operator retried it): its next final state sends its own callback.
    if (data.status !== undefined && (row.status !== data.status || row.attempts !== data.attempts)) return { skipped: 'superseded' };
    if (row.callback_status === 'delivered') return { skipped: 'already delivered' };
    const { automationWebhookSecret: secret } = await readSecrets(ctx, data.clientId, ['automationWebhookSecret']);
    const body = callbackBody(row);
    // (Jobs queued by older versions keep the id their earlier attempts used.)
    const id = webhookIdFor(data.status === undefined ? `callback:${data.clientId}:${row.id}` : `callback:${eventKey(data)}`);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'ECODrIx-Webhooks/1' };
    if (secret) Object.assign(headers, webhookHeaders(secret, id, body));
    else {
      Object.assign(headers, { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) });
      ctx.logger.warn({ clientId: data.clientId, jobId: row.id }, 'no automationWebhookSecret set: callback sent unsigned');
    }
    const log = { clientId: data.clientId, jobId: row.id, host: hostOf(row.callback_url), attempt: attempt.number };
    let failure: string;
    let stop: boolean;
    try {
      const response = await safeFetch(row.callback_url, { method: 'PUT', headers, body, ...ctx.config.outbound });
      if (response.status >= 200 && response.status < 300) {
        await setCallbackState(db, row.id, { status: 'delivered', attempts: attempt.number, error: null });
        ctx.logger.info({ ...log, status: response.status }, 'workflow callback delivered');
        return { delivered: response.status };
      }
      failure = `HTTP ${response.status}`;
      stop = response.status === 410;
    } catch (err) {
      failure = err instanceof BlockedDestinationError ? err.message : `request failed: ${(err as Error).message}`;
      stop = err instanceof BlockedDestinationError;
    }
    const final = stop || attempt.isLast;
    await setCallbackState(db, row.id, { status: final ? 'failed' : 'pending', attempts: attempt.number, error: failure });
    ctx.logger.warn({ ...log, error: failure }, final ? 'workflow callback failed for good' : 'workflow callback failed; will retry');
    if (stop) return { failed: failure };
    throw new Error(`callback ${failure}`);
  },
});
