/**
 * Signed delivery: checks `X-Hub-Signature-256` over the raw bytes with the
 * global app secret, the simulator's secret (WHATSAPP_MODE auto/sandbox), or
 * the own app secret of the clients the body names; then stores the raw body
 * in the inbox (group commit) and returns once it is committed.
 */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { clientRouting } from './client-routing.ts';
import type { InboxBatcher } from './inbox-batcher.ts';
import { routingKeysOf } from './parse-inbound.ts';
import { sandboxAppSecret } from './sandbox-secret.ts';
import { matchesSignature, parseSignatureHeader } from './verify-signature.ts';

const invalid = () => new AppError('INVALID_SIGNATURE', { message: 'Missing or invalid X-Hub-Signature-256' });

/**
 * Which secret signed `raw`.
 * @returns null when a global secret did (any client may be addressed), else the clients whose own secret did
 */
export async function authenticateDelivery(ctx: AppContext, raw: Buffer, header: string | undefined): Promise<string[] | null> {
  const digest = parseSignatureHeader(header);
  if (!digest) throw invalid();
  const { metaAppSecret, mode } = ctx.config.whatsapp;
  if (metaAppSecret && matchesSignature(raw, digest, metaAppSecret)) return null;
  if (mode !== 'live' && matchesSignature(raw, digest, sandboxAppSecret(ctx.keyring))) return null;

  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalid(); // without a readable body no client secret can be chosen
  }
  const routing = clientRouting(ctx);
  const { phoneNumberIds, wabaIds } = routingKeysOf(body);
  const candidates = new Set<string>();
  for (const id of phoneNumberIds.slice(0, 50)) for (const c of await routing.clientsForPhoneNumber(id)) candidates.add(c);
  for (const id of wabaIds.slice(0, 50)) for (const c of await routing.clientsForWaba(id)) candidates.add(c);
  const verified: string[] = [];
  for (const clientId of candidates) {
    const secret = await routing.appSecretOf(clientId);
    if (secret && matchesSignature(raw, digest, secret)) verified.push(clientId);
  }
  if (verified.length === 0) throw invalid();
  return verified;
}

export async function receiveWebhook(ctx: AppContext, batcher: InboxBatcher, raw: Buffer, header: string | undefined): Promise<void> {
  const verifiedFor = await authenticateDelivery(ctx, raw, header);
  try {
    await batcher.write({ body: raw, verifiedFor });
    ctx.metrics.counter('ecodrix_webhooks_received_total', 'Signed WhatsApp webhook deliveries stored in the inbox').inc();
  } catch (err) {
    ctx.logger.error({ err: (err as Error).message }, 'webhook inbox write failed; answering 503 so Meta retries');
    throw new AppError('CONTROL_DB_UNAVAILABLE', { message: 'Could not store the delivery; retry later', retryAfterSeconds: 5, cause: err });
  }
}
