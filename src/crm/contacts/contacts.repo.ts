/** SQL for contacts. */
import type { Db } from '../../platform/db/pool.ts';

export interface ContactRow {
  id: string;
  phone: string | null;
  wa_id: string | null;
  name: string | null;
  email: string | null;
  timezone: string | null;
  custom_fields: Record<string, unknown>;
  tags: string[];
  created_at: Date;
  updated_at: Date;
}

export interface ContactWrite {
  name?: string | null;
  phone?: string | null;
  email?: string | null;
  timezone?: string | null;
  customFields?: Record<string, unknown>;
  tags?: string[];
}

export async function findContact(db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<ContactRow | null> {
  const { rows } = await db.query<ContactRow>(`SELECT * FROM contacts WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

/** Contacts sharing the phone or email (other than `exceptId`). */
export async function findMatchingContacts(db: Db, phone: string | null, email: string | null, exceptId?: string): Promise<ContactRow[]> {
  if (!phone && !email) return [];
  const { rows } = await db.query<ContactRow>(
    `SELECT * FROM contacts WHERE (phone = $1 OR lower(email) = $2) AND ($3::uuid IS NULL OR id <> $3) ORDER BY created_at LIMIT 10`,
    [phone, email, exceptId ?? null]);
  return rows;
}

export async function insertContact(db: Db, input: ContactWrite): Promise<ContactRow> {
  const { rows } = await db.query<ContactRow>(
    `INSERT INTO contacts (name, phone, email, timezone, custom_fields, tags) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [input.name ?? null, input.phone ?? null, input.email ?? null, input.timezone ?? null, input.customFields ?? {}, input.tags ?? []]);
  return rows[0];
}

export async function updateContactRow(db: Db, id: string, input: ContactWrite): Promise<ContactRow> {
  const sets: string[] = [];
  const params: unknown[] = [id];
  const set = (column: string, value: unknown) => { params.push(value); sets.push(`${column} = $${params.length}`); };
  if (input.name !== undefined) set('name', input.name);
  if (input.phone !== undefined) set('phone', input.phone);
  if (input.email !== undefined) set('email', input.email);
  if (input.timezone !== undefined) set('timezone', input.timezone);
  if (input.customFields !== undefined) set('custom_fields', input.customFields);
  if (input.tags !== undefined) set('tags', input.tags);
  sets.push('updated_at = now()');
  const { rows } = await db.query<ContactRow>(`UPDATE contacts SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, params);
  return rows[0];
}

export async function deleteContactRow(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM contacts WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

/** Public shape of a contact. */
export function presentContact(row: ContactRow) {
  return {
    id: row.id, name: row.name, phone: row.phone, email: row.email, waId: row.wa_id, timezone: row.timezone,
    customFields: row.custom_fields, tags: row.tags, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}
export type ContactView = ReturnType<typeof presentContact>;
