/**
 * Client secrets: the fields of the original `ClientSecrets`, encrypted at
 * rest per field, with blind indexes for the two that are looked up.
 */
import type { AppContext } from '../context.ts';
import type { Keyring } from '../platform/crypto/keyring.ts';
import type { Db } from '../platform/db/pool.ts';

export const SECRET_FIELDS = [
  'whatsappToken', 'whatsappBusinessId', 'whatsappPhoneNumberId', 'whatsappWebhookToken', 'whatsappAppSecret',
  'smtpHost', 'smtpPort', 'smtpUser', 'smtpPass', 'smtpFrom', 'automationWebhookSecret',
] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];
export type ClientSecrets = Partial<Record<SecretField, string>>;

/** Fields that get a blind index so a webhook can find its client without decrypting every row. */
export const INDEXED_FIELDS: readonly SecretField[] = ['whatsappPhoneNumberId', 'whatsappWebhookToken'];
/** Fields that are not secret in themselves; shown in full to operators. */
const PLAIN_FIELDS: readonly SecretField[] = ['whatsappBusinessId', 'whatsappPhoneNumberId', 'smtpHost', 'smtpPort', 'smtpUser', 'smtpFrom'];

export function secretContext(clientId: string, field: string): string {
  return `client:${clientId}|client_secrets.${field}`;
}

export function blindIndexFor(keyring: Keyring, field: SecretField, value: string): string {
  return keyring.blindIndex(`client_secrets.${field}`, value);
}

function hintOf(field: SecretField, value: string): string {
  if (PLAIN_FIELDS.includes(field)) return value;
  return value.length <= 8 ? '••••' : `••••${value.slice(-4)}`;
}

/** Encrypts and upserts the given fields (partial update; other fields are left alone). */
export async function writeSecrets(db: Db, keyring: Keyring, clientId: string, secrets: ClientSecrets): Promise<SecretField[]> {
  const written: SecretField[] = [];
  for (const field of SECRET_FIELDS) {
    const value = secrets[field];
    if (value === undefined) continue;
    const envelope = keyring.encrypt(value, secretContext(clientId, field));
    const index = INDEXED_FIELDS.includes(field) ? blindIndexFor(keyring, field, value) : null;
    await db.query(
      `INSERT INTO client_secrets (client_id, name, envelope, key_id, blind_index, hint) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (client_id, name) DO UPDATE SET envelope = EXCLUDED.envelope, key_id = EXCLUDED.key_id,
         blind_index = EXCLUDED.blind_index, hint = EXCLUDED.hint, updated_at = now()`,
      [clientId, field, envelope, keyring.activeId, index, hintOf(field, value)],
    );
    written.push(field);
  }
  return written;
}

/** Decrypts a client's secrets (only the requested fields when given). */
export async function readSecrets(ctx: Pick<AppContext, 'controlDb' | 'keyring'>, clientId: string, fields?: SecretField[]): Promise<ClientSecrets> {
  const { rows } = await ctx.controlDb.query<{ name: SecretField; envelope: string }>(
    `SELECT name, envelope FROM client_secrets WHERE client_id = $1 AND ($2::text[] IS NULL OR name = ANY($2))`,
    [clientId, fields ?? null],
  );
  const out: ClientSecrets = {};
  for (const row of rows) out[row.name] = ctx.keyring.decrypt(row.envelope, secretContext(clientId, row.name));
  return out;
}

/** Which secrets are set, masked (never the values). */
export async function describeSecrets(db: Db, clientId: string): Promise<Record<string, { set: true; hint: string; updatedAt: string }>> {
  const { rows } = await db.query<{ name: string; hint: string; updated_at: Date }>(
    'SELECT name, hint, updated_at FROM client_secrets WHERE client_id = $1 ORDER BY name', [clientId],
  );
  return Object.fromEntries(rows.map((r) => [r.name, { set: true as const, hint: r.hint, updatedAt: r.updated_at.toISOString() }]));
}

/**
 * Finds clients by an indexed secret value through its blind index (O(1), no decryption).
 * @returns client ids (a verify token may in theory be shared)
 */
export async function findClientIdsBySecret(ctx: Pick<AppContext, 'controlDb' | 'keyring'>, field: SecretField, value: string): Promise<string[]> {
  const { rows } = await ctx.controlDb.query<{ client_id: string }>(
    'SELECT client_id FROM client_secrets WHERE name = $1 AND blind_index = $2',
    [field, blindIndexFor(ctx.keyring, field, value)],
  );
  return rows.map((r) => r.client_id);
}
