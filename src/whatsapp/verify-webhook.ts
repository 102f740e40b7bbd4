/**
 * Webhook verification handshake: `hub.mode=subscribe` with a verify token that
 * is either some client's `whatsappWebhookToken` (found through its blind index,
 * then compared in constant time) or the global META_VERIFY_TOKEN.
 */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { findClientIdsBySecret, readSecrets } from '../tenants/index.ts';
import { safeEqualText } from './verify-signature.ts';

/** @returns the challenge to echo; throws FORBIDDEN otherwise */
export async function verifyWebhookHandshake(ctx: AppContext, query: { mode?: string; token?: string; challenge?: string }): Promise<string> {
  const forbidden = () => new AppError('FORBIDDEN', { message: 'Webhook verification failed' });
  const { mode, token, challenge } = query;
  if (mode !== 'subscribe' || !token || challenge === undefined) throw forbidden();
  const global = ctx.config.whatsapp.metaVerifyToken;
  if (global && safeEqualText(global, token)) return challenge;
  for (const clientId of await findClientIdsBySecret(ctx, 'whatsappWebhookToken', token)) {
    const stored = (await readSecrets(ctx, clientId, ['whatsappWebhookToken'])).whatsappWebhookToken;
    if (stored && safeEqualText(stored, token)) return challenge;
  }
  throw forbidden();
}
