/** SQL for `google_connections` (control database). Envelopes only; encryption happens in the use cases. */
import type { Db } from '../platform/db/pool.ts';

export type ConnectionStatus = 'connected' | 'needs_reauth' | 'disconnected';

export interface ConnectionRow {
  client_id: string;
  status: ConnectionStatus;
  refresh_token_envelope: string;
  account_email: string | null;
  account_sub: string | null;
  scopes: string[];
  access_token_envelope: string | null;
  access_token_expires_at: Date | null;
  last_error: string | null;
  connected_at: Date;
  updated_at: Date;
}

/** The client's connection; `forUpdate` locks the row (single-flight token refresh across workers). */
export async function findConnection(db: Db, clientId: string, options: { forUpdate?: boolean } = {}): Promise<ConnectionRow | undefined> {
  const { rows } = await db.query<ConnectionRow>(
    `SELECT * FROM google_connections WHERE client_id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [clientId],
  );
  return rows[0];
}

export interface SaveConnectionInput {
  clientId: string;
  refreshTokenEnvelope: string;
  keyId: string;
  accountEmail: string | null;
  accountSub: string | null;
  scopes: string[];
  accessTokenEnvelope: string;
  accessTokenExpiresAt: Date;
}

/** Inserts or replaces the connection after a successful consent (status back to connected). */
export async function saveConnection(db: Db, input: SaveConnectionInput): Promise<void> {
  await db.query(
    `INSERT INTO google_connections (client_id, status, refresh_token_envelope, key_id, account_email, account_sub, scopes,
       access_token_envelope, access_token_expires_at, last_error, connected_at, updated_at)
     VALUES ($1, 'connected', $2, $3, $4, $5, $6, $7, $8, NULL, now(), now())
     ON CONFLICT (client_id) DO UPDATE SET status = 'connected', refresh_token_envelope = EXCLUDED.refresh_token_envelope,
       key_id = EXCLUDED.key_id, account_email = EXCLUDED.account_email, account_sub = EXCLUDED.account_sub, scopes = EXCLUDED.scopes,
       access_token_envelope = EXCLUDED.access_token_envelope, access_token_expires_at = EXCLUDED.access_token_expires_at,
       last_error = NULL, connected_at = now(), updated_at = now()`,
    [input.clientId, input.refreshTokenEnvelope, input.keyId, input.accountEmail, input.accountSub, input.scopes, input.accessTokenEnvelope, input.accessTokenExpiresAt],
  );
}

/**
 * Stores a refreshed access token (and a rotated refresh token, if Google ever sends one).
 * `key_id` tracks the refresh token's envelope (key rotation re-encrypts that one); the cached
 * access token is disposable and simply refreshed when it cannot be decrypted.
 */
export async function saveAccessToken(db: Db, clientId: string, input: { accessTokenEnvelope: string; expiresAt: Date; refreshTokenEnvelope?: string; keyId: string }): Promise<void> {
  await db.query(
    `UPDATE google_connections SET access_token_envelope = $2, access_token_expires_at = $3,
       refresh_token_envelope = COALESCE($4, refresh_token_envelope),
       key_id = CASE WHEN $4::text IS NULL THEN key_id ELSE $5 END, last_error = NULL, updated_at = now()
     WHERE client_id = $1`,
    [clientId, input.accessTokenEnvelope, input.expiresAt, input.refreshTokenEnvelope ?? null, input.keyId],
  );
}

/** Google refused the refresh token for good: keep the row, drop the cached access token. */
export async function markNeedsReauth(db: Db, clientId: string, lastError: string): Promise<void> {
  await db.query(
    `UPDATE google_connections SET status = 'needs_reauth', access_token_envelope = NULL, access_token_expires_at = NULL,
       last_error = $2, updated_at = now() WHERE client_id = $1`,
    [clientId, lastError],
  );
}

export async function deleteConnection(db: Db, clientId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM google_connections WHERE client_id = $1', [clientId]);
  return (rowCount ?? 0) > 0;
}
