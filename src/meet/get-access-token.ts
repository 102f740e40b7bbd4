/**
 * A valid access token for a client's Google connection: the cached one while
 * it has more than 5 minutes left, else a refresh under a row lock (one
 * refresh per connection across workers; the loser of the race reuses the
 * winner's token). `invalid_grant` marks the connection `needs_reauth`, tells
 * the dashboards, and stops: no retry loop against a dead grant.
 */
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { findConnection, markNeedsReauth, saveAccessToken } from './connections.repo.ts';
import { createGoogleClient, GoogleApiError } from './google-client.ts';
import { accessTokenContext, EAGER_REFRESH_MS, refreshTokenContext } from './tokens.ts';

export interface GetAccessTokenOptions {
  /** The token Google just rejected with 401: refresh unless someone already replaced it. */
  rejected?: string;
}

const inFlight = new Map<string, Promise<string>>();

function reauthError(): AppError {
  return new AppError('GOOGLE_REAUTH_REQUIRED', { message: 'The Google connection must be re-authorised: open the connect link again' });
}

function notConnected(): AppError {
  return new AppError('GOOGLE_NOT_CONNECTED', { message: 'No Google account is connected for this client: open /api/auth/google/connect?clientCode=… first' });
}

function usable(ctx: AppContext, clientId: string, row: { access_token_envelope: string | null; access_token_expires_at: Date | null }, rejected?: string): string | undefined {
  if (!row.access_token_envelope || !row.access_token_expires_at) return undefined;
  if (row.access_token_expires_at.getTime() - Date.now() <= EAGER_REFRESH_MS) return undefined;
  let token: string;
  try {
    token = ctx.keyring.decrypt(row.access_token_envelope, accessTokenContext(clientId));
  } catch {
    return undefined; // encrypted under a key since removed from the ring: just refresh
  }
  return token === rejected ? undefined : token;
}

/** Returns an access token for `clientId`; throws GOOGLE_NOT_CONNECTED or GOOGLE_REAUTH_REQUIRED. */
export async function getAccessToken(ctx: AppContext, clientId: string, options: GetAccessTokenOptions = {}): Promise<string> {
  const row = await findConnection(ctx.controlDb, clientId);
  if (!row || row.status === 'disconnected') throw notConnected();
  if (row.status === 'needs_reauth') throw reauthError();
  const cached = usable(ctx, clientId, row, options.rejected);
  if (cached) return cached;
  // Single flight inside this process, then the row lock across processes.
  let pending = inFlight.get(clientId);
  if (!pending) {
    pending = refresh(ctx, clientId, options.rejected).finally(() => inFlight.delete(clientId));
    inFlight.set(clientId, pending);
  }
  return pending;
}

async function refresh(ctx: AppContext, clientId: string, rejected?: string): Promise<string> {
  let reauth = false;
  const token = await withTransaction(ctx.controlDb, async (tx) => {
    const row = await findConnection(tx, clientId, { forUpdate: true });
    if (!row || row.status === 'disconnected') throw notConnected();
    if (row.status === 'needs_reauth') throw reauthError();
    const cached = usable(ctx, clientId, row, rejected);
    if (cached) return cached;
    const refreshToken = ctx.keyring.decrypt(row.refresh_token_envelope, refreshTokenContext(clientId));
    try {
      const answer = await createGoogleClient(ctx.config.google).refreshAccessToken(refreshToken);
      await saveAccessToken(tx, clientId, {
        accessTokenEnvelope: ctx.keyring.encrypt(answer.access_token, accessTokenContext(clientId)),
        expiresAt: new Date(Date.now() + answer.expires_in * 1000),
        refreshTokenEnvelope: answer.refresh_token ? ctx.keyring.encrypt(answer.refresh_token, refreshTokenContext(clientId)) : undefined,
        keyId: ctx.keyring.activeId,
      });
      return answer.access_token;
    } catch (err) {
      if (err instanceof GoogleApiError && err.reason === 'invalid_grant') {
        await markNeedsReauth(tx, clientId, err.message);
        reauth = true;
        return undefined;
      }
      throw new AppError('UPSTREAM_UNAVAILABLE', { message: 'Google token refresh failed; try again later', cause: err });
    }
  });
  if (reauth || token === undefined) {
    ctx.logger.warn({ clientId }, 'Google refused the refresh token (invalid_grant): connection needs re-authorisation');
    ctx.realtime.publish({ clientId, event: 'google.reauth_required', payload: { reason: 'invalid_grant' } });
    throw reauthError();
  }
  return token;
}
