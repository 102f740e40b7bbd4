/**
 * The OAuth callback's work: check the state (signature, expiry, same browser,
 * client still exists), exchange the code, check the granted scope, and store
 * the refresh token encrypted (replacing, and revoking, an older one so a
 * client that reconnects often never hits Google's 100-tokens cap).
 * Failures are `ConnectionFailure`s with a message fit for the person in the browser.
 */
import type { AppContext } from '../context.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { findClientById } from '../tenants/index.ts';
import { googleRedirectUrl, isGoogleConfigured } from './config.ts';
import { findConnection, saveConnection } from './connections.repo.ts';
import { createGoogleClient, GoogleApiError, type GoogleTokenResponse } from './google-client.ts';
import { verifyState } from './oauth-state.ts';
import { accessTokenContext, refreshTokenContext, SUFFICIENT_SCOPES } from './tokens.ts';

export class ConnectionFailure extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ConnectionFailure';
    this.status = status;
  }
}

export interface CallbackInput {
  code?: string;
  state?: string;
  error?: string;
  /** Nonce from the cookie set by the connect route. */
  cookieNonce?: string;
}

export interface CompletedConnection {
  clientCode: string;
  clientName: string;
  accountEmail: string | null;
  scopes: string[];
}

/** Reads `sub` and `email` from an id_token without verifying it (it came straight from Google's token endpoint over TLS). */
function identityOf(idToken: string | undefined): { email: string | null; sub: string | null } {
  try {
    const claims = JSON.parse(Buffer.from(idToken!.split('.')[1], 'base64url').toString('utf8')) as { email?: unknown; sub?: unknown };
    return { email: typeof claims.email === 'string' ? claims.email : null, sub: typeof claims.sub === 'string' ? claims.sub : null };
  } catch {
    return { email: null, sub: null };
  }
}

export async function completeGoogleConnection(ctx: AppContext, input: CallbackInput): Promise<CompletedConnection> {
  if (!isGoogleConfigured(ctx.config)) throw new ConnectionFailure(503, 'Google is not configured on this server.');
  if (!input.state) throw new ConnectionFailure(400, 'The link is incomplete (no state). Start again from the connect link.');
  const check = verifyState(ctx.keyring, input.state);
  if (!check.ok) {
    throw new ConnectionFailure(400, check.reason === 'expired'
      ? 'This connection attempt has expired. Start again from the connect link.'
      : 'This connection link is not valid (it was altered or did not come from this server). Start again from the connect link.');
  }
  if (!input.cookieNonce || input.cookieNonce !== check.state.nonce) {
    throw new ConnectionFailure(400, 'This connection was started in another browser (or cookies are blocked). Open the connect link again in this browser.');
  }
  const client = await findClientById(ctx.controlDb, check.state.clientId);
  if (!client) throw new ConnectionFailure(404, 'The client this connection was started for no longer exists.');
  if (input.error) {
    throw new ConnectionFailure(400, input.error === 'access_denied'
      ? 'Access was not granted, so no Google account is connected. Open the connect link again and allow access to the calendar.'
      : `Google did not grant access (${input.error}).`);
  }
  if (!input.code) throw new ConnectionFailure(400, 'Google did not send an authorization code. Start again from the connect link.');

  const google = createGoogleClient(ctx.config.google);
  let tokens: GoogleTokenResponse;
  try {
    tokens = await google.exchangeCode(input.code, googleRedirectUrl(ctx.config));
  } catch (err) {
    ctx.logger.warn({ clientId: client.id, err: (err as Error).message }, 'Google code exchange failed');
    if (err instanceof GoogleApiError && err.status >= 400 && err.status < 500) {
      throw new ConnectionFailure(400, 'Google refused the authorization code (it may have been used already or expired). Start again from the connect link.');
    }
    throw new ConnectionFailure(502, 'Google could not be reached to finish the connection. Try again in a minute.');
  }
  const scopes = (tokens.scope ?? '').split(/\s+/).filter(Boolean);
  if (!scopes.some((s) => SUFFICIENT_SCOPES.includes(s))) {
    await google.revoke(tokens.refresh_token ?? tokens.access_token).catch(() => {});
    throw new ConnectionFailure(400, 'Calendar access was not granted (the calendar checkbox was left unticked), so meetings cannot be created. Open the connect link again and tick the calendar permission.');
  }

  const previous = await findConnection(ctx.controlDb, client.id);
  let refreshToken = tokens.refresh_token;
  if (!refreshToken && previous) refreshToken = ctx.keyring.decrypt(previous.refresh_token_envelope, refreshTokenContext(client.id));
  if (!refreshToken) {
    throw new ConnectionFailure(400, 'Google did not issue a long-lived token. Remove this app at https://myaccount.google.com/permissions and open the connect link again.');
  }
  const identity = identityOf(tokens.id_token);
  await withTransaction(ctx.controlDb, async (tx) => {
    await saveConnection(tx, {
      clientId: client.id,
      refreshTokenEnvelope: ctx.keyring.encrypt(refreshToken, refreshTokenContext(client.id)),
      keyId: ctx.keyring.activeId,
      accountEmail: identity.email,
      accountSub: identity.sub,
      scopes,
      accessTokenEnvelope: ctx.keyring.encrypt(tokens.access_token, accessTokenContext(client.id)),
      accessTokenExpiresAt: new Date(Date.now() + tokens.expires_in * 1000),
    });
    await recordAudit(tx, { actor: 'google-oauth', action: 'google.connect', clientId: client.id, clientCode: client.code, details: { account: identity.email, scopes } });
  });
  if (previous && tokens.refresh_token) {
    const old = ctx.keyring.decrypt(previous.refresh_token_envelope, refreshTokenContext(client.id));
    if (old !== tokens.refresh_token) await google.revoke(old).catch(() => {});
  }
  ctx.realtime.publish({ clientId: client.id, event: 'google.connected', payload: { account: identity.email, scopes } });
  return { clientCode: client.code, clientName: client.name, accountEmail: identity.email, scopes };
}
