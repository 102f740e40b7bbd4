/** Issues a dashboard token for the authenticated client (POST /api/saas/realtime/token). */
import type { AppContext } from '../context.ts';
import type { ClientAuthRow } from '../tenants/index.ts';
import { createRealtimeToken } from './realtime-token.ts';

export function issueRealtimeToken(ctx: AppContext, client: ClientAuthRow): { token: string; expiresAt: string } {
  const expiresAt = new Date(Date.now() + ctx.config.realtime.tokenTtlSeconds * 1000);
  return { token: createRealtimeToken(ctx.keyring, { clientId: client.id, apiKeyHash: client.api_key_hash, expiresAt }), expiresAt: expiresAt.toISOString() };
}
