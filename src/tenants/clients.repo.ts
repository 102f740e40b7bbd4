/** SQL for clients and their API keys in the control database. */
import type { Db } from '../platform/db/pool.ts';

export interface ClientRow {
  id: string;
  code: string;
  name: string;
  email: string;
  api_key_hash: string;
  api_key_hint: string;
  api_key_created_at: Date;
  api_key_last_used_at: Date | null;
  whatsapp_status: string;
  whatsapp_status_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A client with its datasource version, as the auth layer needs it. */
export interface ClientAuthRow extends ClientRow {
  datasource_version: string | null;
}

const AUTH_SELECT = `SELECT c.*, d.updated_at::text AS datasource_version
  FROM clients c LEFT JOIN client_datasources d ON d.client_id = c.id`;

export async function findClientByCode(db: Db, code: string): Promise<ClientAuthRow | undefined> {
  const { rows } = await db.query<ClientAuthRow>(`${AUTH_SELECT} WHERE lower(c.code) = lower($1)`, [code]);
  return rows[0];
}

export async function findClientById(db: Db, id: string): Promise<ClientAuthRow | undefined> {
  const { rows } = await db.query<ClientAuthRow>(`${AUTH_SELECT} WHERE c.id = $1`, [id]);
  return rows[0];
}

export async function listClientRows(db: Db, options: { limit: number; after?: string }): Promise<ClientRow[]> {
  const { rows } = await db.query<ClientRow>(
    `SELECT * FROM clients WHERE ($1::bigint IS NULL OR id > $1) ORDER BY id LIMIT $2`,
    [options.after ?? null, options.limit],
  );
  return rows;
}

export async function insertClient(db: Db, input: { code: string; name: string; email: string; keyHash: string; keyHint: string }): Promise<ClientRow | undefined> {
  const { rows } = await db.query<ClientRow>(
    `INSERT INTO clients (code, name, email, api_key_hash, api_key_hint) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING *`,
    [input.code, input.name, input.email, input.keyHash, input.keyHint],
  );
  return rows[0];
}

export async function codeExists(db: Db, code: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM clients WHERE lower(code) = lower($1)', [code]);
  return (rowCount ?? 0) > 0;
}

export async function updateApiKey(db: Db, id: string, keyHash: string, keyHint: string): Promise<void> {
  await db.query(
    `UPDATE clients SET api_key_hash = $2, api_key_hint = $3, api_key_created_at = now(), updated_at = now() WHERE id = $1`,
    [id, keyHash, keyHint],
  );
}

export async function touchApiKeyUse(db: Db, id: string): Promise<void> {
  // At most once a minute per client, so authentication stays a read.
  await db.query(
    `UPDATE clients SET api_key_last_used_at = now() WHERE id = $1 AND (api_key_last_used_at IS NULL OR api_key_last_used_at < now() - interval '1 minute')`,
    [id],
  );
}

export async function setWhatsappStatus(db: Db, id: string, status: string, reason: string | null): Promise<void> {
  await db.query('UPDATE clients SET whatsapp_status = $2, whatsapp_status_reason = $3, updated_at = now() WHERE id = $1', [id, status, reason]);
}

export async function deleteClientRow(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM clients WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}
