/** What a client's Google connection looks like (never tokens). */
import type { AppContext } from '../context.ts';
import { isGoogleConfigured } from './config.ts';
import { findConnection } from './connections.repo.ts';

export async function googleConnectionStatus(ctx: AppContext, client: { id: string; code: string }) {
  const row = await findConnection(ctx.controlDb, client.id);
  const configured = isGoogleConfigured(ctx.config);
  return {
    configured,
    /** No Google credentials on this server: meetings get fake links from the sandbox provider. */
    sandbox: !configured,
    connected: row?.status === 'connected',
    needsReauth: row?.status === 'needs_reauth',
    account: row?.account_email ?? null,
    scopes: row?.scopes ?? [],
    connectedAt: row ? row.connected_at.toISOString() : null,
    lastError: row?.last_error ?? null,
    connectUrl: configured ? `${ctx.config.publicUrl}/api/auth/google/connect?clientCode=${encodeURIComponent(client.code)}` : null,
  };
}
