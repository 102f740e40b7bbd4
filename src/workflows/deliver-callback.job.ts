/**
 * `workflows.deliver-callback`: `PUT callbackUrl` with `{ status, metadata, jobId, trigger, result }`,
 * signed with Standard Webhooks headers and the client's automationWebhookSecret. The
 * `webhook-id` is the same on every retry; the timestamp is each attempt's. 2xx = delivered;
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
import { findJob, setCallbackState } from './workflow-jobs.repo.ts';

export interface DeliverCallbackData { clientId: string; jobId: string }

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid url)';
  }
}

/** The exact bytes a callback sends. */
export function callbackBody(row: { id: string; status: string; trigger: string; callback_metadata: unknown; output: unknown; last_error: string | null }): string {
  return JSON.stringify({
    status: row.status,
    metadata: row.callback_metadata ?? {},
    jobId: row.id,
    trigger: row.trigger,
    result: row.status === 'completed' ? (row.output ?? {}) : { error: row.last_error },
  });
}

export const deliverCallbackJob = defineJob<DeliverCallbackData, AppContext>({
  name: 'workflows.deliver-callback',
  async handler(data, ctx, _job, attempt) {
    const db = await tenantDbById(ctx, data.clientId);
    const row = await findJob(db, data.jobId);
    if (!row?.callback_url) return { skipped: 'no callback' };
    if (row.callback_status === 'delivered') return { skipped: 'already delivered' };
    const { automationWebhookSecret: secret } = await readSecrets(ctx, data.clientId, ['automationWebhookSecret']);
    const body = callbackBody(row);
    const id = webhookIdFor(`callback:${data.clientId}:${row.id}`);
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
