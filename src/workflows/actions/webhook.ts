/**
 * `webhook`: a signed POST (Standard Webhooks headers, the client's
 * automationWebhookSecret) to a URL through the SSRF guard. The `webhook-id`
 * is derived from the workflow job, so retries carry the same id and the
 * receiver can drop duplicates. Non-2xx answers are retried.
 */
import { createHash } from 'node:crypto';
import { Type } from 'typebox';
import { AppError } from '../../platform/errors.ts';
import { assertAllowedUrl, BlockedDestinationError, HTTPS_REQUIRED_MESSAGE, safeFetch } from '../../platform/http/safe-fetch.ts';
import { webhookHeaders } from '../../platform/http/standard-webhooks.ts';
import { readSecrets } from '../../tenants/index.ts';
import type { ActionDefinition } from './registry.ts';

const ConfigSchema = Type.Object({
  url: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' }),
  /** Extra fields merged into the payload. */
  body: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
}, { additionalProperties: false });

/** Stable Standard Webhooks message id for a delivery key. */
export function webhookIdFor(key: string): string {
  return `msg_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

export const webhookAction: ActionDefinition = {
  type: 'webhook',
  configSchema: ConfigSchema,
  checkConfig(config: { url: string }, { outbound }) {
    try {
      assertAllowedUrl(config.url, outbound);
      return undefined;
    } catch (err) {
      return (err as Error).message === HTTPS_REQUIRED_MESSAGE
        ? '.url must be an https URL (port 443): http webhooks are refused in production'
        : '.url must be an http(s) URL to a public host, without credentials';
    }
  },
  async execute(input, config: { url: string; body?: Record<string, unknown> }) {
    const { automationWebhookSecret: secret } = await readSecrets(input.ctx, input.clientId, ['automationWebhookSecret']);
    const payload = JSON.stringify({
      ...config.body,
      type: 'automation.webhook',
      jobId: input.runId,
      trigger: input.trigger,
      phone: input.phone ?? null,
      variables: input.variables,
      vars: input.vars,
      metadata: input.callbackMetadata ?? null,
    });
    const id = webhookIdFor(`webhook:${input.idempotencyKey}`);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'ECODrIx-Webhooks/1' };
    Object.assign(headers, secret ? webhookHeaders(secret, id, payload) : { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) });
    let response;
    try {
      response = await safeFetch(config.url, { method: 'POST', headers, body: payload, ...input.ctx.config.outbound });
    } catch (err) {
      // Stored before the policy changed (or a host that now resolves inside): refused, not retried.
      if (err instanceof BlockedDestinationError) throw new AppError('UNPROCESSABLE', { message: `webhook URL refused: ${err.message}` });
      throw new Error(`webhook delivery failed: ${(err as Error).message}`, { cause: err });
    }
    if (response.status < 200 || response.status >= 300) throw new Error(`webhook answered HTTP ${response.status}`);
    return { output: { status: response.status, webhookId: id } };
  },
};
