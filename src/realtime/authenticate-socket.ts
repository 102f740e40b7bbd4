/**
 * Socket handshake authentication, with the same checks as tenant HTTP routes:
 * `auth: { clientCode, apiKey }` (key hash compared in constant time) or
 * `auth: { token }` from POST /api/saas/realtime/token. A browser Origin must be
 * one of the client's CORS origins (or this server). One answer for every cause.
 */
import type { AppContext } from '../context.ts';
import { hashApiKey, isWellFormedApiKey, safeEqual } from '../platform/crypto/api-keys.ts';
import { findClientByCode, findClientById, type ClientAuthRow } from '../tenants/index.ts';
import { isClientOrigin } from '../tenants/cors.ts';
import { apiKeyFingerprint, verifyRealtimeToken } from './realtime-token.ts';

export type SocketAuthFailure = 'UNAUTHORIZED' | 'CORS_ORIGIN_NOT_ALLOWED';

export interface SocketHandshake {
  auth: Record<string, unknown>;
  origin?: string;
  host?: string;
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** The client a handshake authenticates as, or the reason it does not. */
export async function authenticateSocket(ctx: AppContext, handshake: SocketHandshake): Promise<{ client: ClientAuthRow } | { failure: SocketAuthFailure }> {
  const { auth } = handshake;
  let client: ClientAuthRow | undefined;
  if (typeof auth.token === 'string') {
    const claims = verifyRealtimeToken(ctx.keyring, auth.token);
    if (!claims || !/^\d{1,20}$/.test(claims.clientId)) return { failure: 'UNAUTHORIZED' };
    client = await findClientById(ctx.controlDb, claims.clientId);
    if (!client || !safeEqual(apiKeyFingerprint(client.api_key_hash), claims.keyFingerprint)) return { failure: 'UNAUTHORIZED' };
  } else if (typeof auth.clientCode === 'string' && typeof auth.apiKey === 'string') {
    if (auth.clientCode.length > 100) return { failure: 'UNAUTHORIZED' };
    client = await findClientByCode(ctx.controlDb, auth.clientCode);
    if (!client || !isWellFormedApiKey(auth.apiKey) || !safeEqual(hashApiKey(auth.apiKey), client.api_key_hash)) return { failure: 'UNAUTHORIZED' };
  } else {
    return { failure: 'UNAUTHORIZED' };
  }
  if (handshake.origin && !sameOrigin(handshake.origin, handshake.host) && !(await isClientOrigin(ctx, client.id, handshake.origin))) {
    return { failure: 'CORS_ORIGIN_NOT_ALLOWED' };
  }
  return { client };
}
