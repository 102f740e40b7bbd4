/**
 * Starts a client's Google consent: a signed, expiring state naming the
 * client, and the consent URL (offline access, forced consent so a refresh
 * token is issued again on reconnect, the narrowest calendar scope).
 */
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { findClientByCode } from '../tenants/index.ts';
import { googleRedirectUrl, isGoogleConfigured } from './config.ts';
import { createGoogleClient } from './google-client.ts';
import { signState } from './oauth-state.ts';
import { CALENDAR_SCOPE, IDENTITY_SCOPES } from './tokens.ts';

/** How long the operator has to finish consent. */
export const STATE_TTL_SECONDS = 600;

export interface StartedConnection {
  consentUrl: string;
  /** Also set as a cookie; the callback must bring it back (same browser). */
  nonce: string;
  client: { id: string; code: string; name: string };
}

export async function startGoogleConnection(ctx: AppContext, clientCode: string): Promise<StartedConnection> {
  if (!isGoogleConfigured(ctx.config)) {
    throw new AppError('GOOGLE_NOT_CONFIGURED', { message: 'Google is not configured on this server (GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET unset): meetings use the sandbox fake provider.' });
  }
  const client = await findClientByCode(ctx.controlDb, clientCode);
  if (!client) throw new AppError('CLIENT_NOT_FOUND', { message: 'ClientCode not found' });
  const { state, nonce } = signState(ctx.keyring, client.id, STATE_TTL_SECONDS);
  const consentUrl = createGoogleClient(ctx.config.google).consentUrl({
    redirectUri: googleRedirectUrl(ctx.config), scopes: [...IDENTITY_SCOPES, CALENDAR_SCOPE], state,
  });
  return { consentUrl, nonce, client: { id: client.id, code: client.code, name: client.name } };
}
