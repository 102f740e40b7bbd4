/** Disconnects a client's Google account: revoke the refresh token at Google, then delete our copy. */
import type { AppContext } from '../context.ts';
import { recordAudit } from '../audit/record-audit.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { deleteConnection, findConnection } from './connections.repo.ts';
import { createGoogleClient } from './google-client.ts';
import { refreshTokenContext } from './tokens.ts';

export async function disconnectGoogle(ctx: AppContext, client: { id: string; code: string }, actor: { actor: string; ip?: string; requestId?: string }) {
  const row = await findConnection(ctx.controlDb, client.id);
  if (!row) throw new AppError('GOOGLE_NOT_CONNECTED', { message: 'No Google account is connected for this client' });
  let revoked = true;
  try {
    await createGoogleClient(ctx.config.google).revoke(ctx.keyring.decrypt(row.refresh_token_envelope, refreshTokenContext(client.id)));
  } catch (err) {
    // Our copy goes anyway; the grant then dies unused (or the client removes it in their Google account).
    revoked = false;
    ctx.logger.warn({ clientId: client.id, err: (err as Error).message }, 'Google token revocation failed; deleting the connection anyway');
  }
  await withTransaction(ctx.controlDb, async (tx) => {
    await deleteConnection(tx, client.id);
    await recordAudit(tx, { ...actor, action: 'google.disconnect', clientId: client.id, clientCode: client.code, details: { revoked } });
  });
  ctx.realtime.publish({ clientId: client.id, event: 'google.disconnected', payload: { revoked } });
  return { disconnected: true, revoked };
}
