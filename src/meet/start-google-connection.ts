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
import { signConnectToken, signState, verifyConnectToken } from './oauth-state.ts';
import { CALENDAR_SCOPE, IDENTITY_SCOPES } from './tokens.ts';

/** How long the operator has to finish consent. */
export const STATE_TTL_SECONDS = 600;

export interface StartedConnection {
  consentUrl: string;
  /** Also set as a cookie; the callback must bring it back (same browser). */
  nonce: string;
  client: { id: string; code: string; name: string };
}

/** How long a link from POST /api/auth/google/connect-link stays valid. */
export const CONNECT_LINK_TTL_SECONDS = 24 * 3600;

/** A connect link for the client that works even when GOOGLE_CONNECT_LINK_REQUIRED=true. */
export function issueConnectLink(ctx: AppContext, client: { id: string; code: string }) {
  const token = signConnectToken(ctx.keyring, client.id, CONNECT_LINK_TTL_SECONDS);
  return {
    url: `${ctx.config.publicUrl}/api/auth/google/connect?${new URLSearchParams({ clientCode: client.code, t: token })}`,
    expiresAt: new Date(Date.now() + CONNECT_LINK_TTL_SECONDS * 1000).toISOString(),
  };
}

/**
 * @param linkToken `t` from an issued connect link; required when GOOGLE_CONNECT_LINK_REQUIRED=true
 */
export async function startGoogleConnection(ctx: AppContext, clientCode: string, linkToken?: string): Promise<StartedConnection> {
  if (!isGoogleConfigured(ctx.config)) {
    throw new AppError('GOOGLE_NOT_CONFIGURED', { message: 'Google is not configured on this server (GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET unset): meetings use the sandbox fake provider.' });
  }
  const client = await findClientByCode(ctx.controlDb, clientCode);
  if (!client) throw new AppError('CLIENT_NOT_FOUND', { message: 'ClientCode not found' });
  if (linkToken !== undefined || ctx.config.google.connectLinkRequired) {
    const check = linkToken ? verifyConnectToken(ctx.keyring, linkToken) : undefined;
    if (!check?.ok || check.state.clientId !== client.id) {
      throw new AppError('FORBIDDEN', { message: check && !check.ok && check.reason === 'expired'
        ? 'This connect link has expired. Ask for a new one.'
        : 'This connect link is not valid for this client. Ask for a new one (POST /api/auth/google/connect-link).' });
    }
  }
  const { state, nonce } = signState(ctx.keyring, client.id, STATE_TTL_SECONDS);
  const consentUrl = createGoogleClient(ctx.config.google).consentUrl({
    redirectUri: googleRedirectUrl(ctx.config), scopes: [...IDENTITY_SCOPES, CALENDAR_SCOPE], state,
  });
  return { consentUrl, nonce, client: { id: client.id, code: client.code, name: client.name } };
}
