/**
 * Offboarding step `google.revoke`: when a client is deleted, its Google refresh token is
 * revoked at Google (GOOGLE_REVOKE_URL) and our copy deleted. A failed revoke does not keep the
 * token: the connection row goes with the client either way (the grant then dies unused, or the
 * account owner removes it), and the failure is reported without the token.
 */
import type { AppContext } from '../context.ts';
import type { OffboardingStep } from '../tenants/offboarding.ts';
import { deleteConnection, findConnection } from './connections.repo.ts';
import { createGoogleClient } from './google-client.ts';
import { refreshTokenContext } from './tokens.ts';

export const revokeGoogleOnOffboarding: OffboardingStep = {
  name: 'google.revoke',
  async run(ctx: AppContext, client) {
    const row = await findConnection(ctx.controlDb, client.id);
    if (!row) return { outcome: 'none' };
    let error: string | undefined;
    try {
      await createGoogleClient(ctx.config.google).revoke(ctx.keyring.decrypt(row.refresh_token_envelope, refreshTokenContext(client.id)));
    } catch (err) {
      error = `Google token revocation failed: ${(err as Error).message}`;
    }
    await deleteConnection(ctx.controlDb, client.id);
    return error ? { outcome: 'failed', error } : { outcome: 'done' };
  },
};
