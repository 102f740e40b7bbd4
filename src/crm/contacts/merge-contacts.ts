/**
 * Merges contact `otherId` into contact `id`: the survivor keeps its values and
 * fills blanks from the other; leads, activities, conversations (with their
 * messages), appointments and any other domain's rows move over; the other
 * contact is deleted. Both leads collapse into the survivor's (one lead per contact).
 */
import type pg from 'pg';
import type { AppContext } from '../../context.ts';
import { withTransaction } from '../../platform/db/pool.ts';
import { AppError } from '../../platform/errors.ts';
import { recordDomainEvent } from '../../platform/events.ts';
import { findContact, presentContact } from './contacts.repo.ts';
import { contactNotFound } from './update-contact.ts';

/** Columns in our schema with a foreign key to `table`(id), other than those listed. */
async function referencingColumns(tx: pg.PoolClient, table: string, except: string[]): Promise<Array<{ table: string; column: string }>> {
  const { rows } = await tx.query<{ table_name: string; column_name: string }>(
    `SELECT cl.relname AS table_name, a.attname AS column_name
       FROM pg_constraint con
       JOIN pg_class cl ON cl.oid = con.conrelid
       JOIN pg_class ref ON ref.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = ref.relnamespace
       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
      WHERE con.contype = 'f' AND ref.relname = $1 AND n.nspname = current_schema() AND array_length(con.conkey, 1) = 1`, [table]);
  return rows.filter((r) => !except.includes(r.table_name)).map((r) => ({ table: r.table_name, column: r.column_name }));
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function mergeContacts(ctx: AppContext, pool: pg.Pool, clientId: string, id: string, otherId: string) {
  if (id === otherId) throw new AppError('BAD_REQUEST', { message: 'Cannot merge a contact into itself' });
  const result = await withTransaction(pool, async (tx) => {
    // Lock in id order so two opposite merges cannot deadlock.
    const [first, second] = [id, otherId].sort();
    const a = await findContact(tx, first, { forUpdate: true });
    const b = await findContact(tx, second, { forUpdate: true });
    const found = [a, b].filter((c) => c !== null);
    const survivor = found.find((c) => c.id === id);
    const other = found.find((c) => c.id === otherId);
    if (!survivor) throw contactNotFound();
    if (!other) throw new AppError('CONTACT_NOT_FOUND', { message: 'Contact to merge (otherId) not found' });

    // Conversations: one per contact and business number; fold clashing ones into the survivor's.
    await tx.query(
      `WITH pairs AS (
         SELECT o.id AS from_id, s.id AS to_id FROM conversations o
         JOIN conversations s ON s.contact_id = $1 AND coalesce(s.phone_number_id, '') = coalesce(o.phone_number_id, '')
         WHERE o.contact_id = $2),
       moved AS (UPDATE messages m SET conversation_id = p.to_id FROM pairs p WHERE m.conversation_id = p.from_id)
       DELETE FROM conversations c USING pairs p WHERE c.id = p.from_id`, [id, otherId]);
    await tx.query('UPDATE conversations SET contact_id = $1 WHERE contact_id = $2', [id, otherId]);
    await tx.query('UPDATE messages SET contact_id = $1 WHERE contact_id = $2', [id, otherId]);

    // Leads: keep the survivor's; move the other's history onto it.
    const { rows: leads } = await tx.query<{ id: string; contact_id: string; score: number }>('SELECT id, contact_id, score FROM leads WHERE contact_id IN ($1, $2) FOR UPDATE', [id, otherId]);
    const survivorLead = leads.find((l) => l.contact_id === id);
    const otherLead = leads.find((l) => l.contact_id === otherId);
    if (otherLead && survivorLead) {
      for (const ref of await referencingColumns(tx, 'leads', [])) {
        await tx.query(`UPDATE ${quote(ref.table)} SET ${quote(ref.column)} = $1 WHERE ${quote(ref.column)} = $2`, [survivorLead.id, otherLead.id]);
      }
      await tx.query(`UPDATE leads s SET tags = ARRAY(SELECT DISTINCT unnest(s.tags || o.tags) ORDER BY 1), custom_fields = o.custom_fields || s.custom_fields,
                        owner = coalesce(s.owner, o.owner), first_contacted_at = LEAST(s.first_contacted_at, o.first_contacted_at),
                        created_at = LEAST(s.created_at, o.created_at), updated_at = now()
                      FROM leads o WHERE s.id = $1 AND o.id = $2`, [survivorLead.id, otherLead.id]);
      await tx.query('DELETE FROM leads WHERE id = $1', [otherLead.id]);
    } else if (otherLead) {
      await tx.query('UPDATE leads SET contact_id = $1, updated_at = now() WHERE id = $2', [id, otherLead.id]);
    }

    // Everything else pointing at the other contact (activities, appointments, other domains' rows).
    for (const ref of await referencingColumns(tx, 'contacts', ['conversations', 'messages', 'leads'])) {
      await tx.query(`UPDATE ${quote(ref.table)} SET ${quote(ref.column)} = $1 WHERE ${quote(ref.column)} = $2`, [id, otherId]);
    }

    // wa_id / wa_user_id are unique: clear them on the other before the survivor takes them.
    await tx.query('UPDATE contacts SET wa_id = NULL, wa_user_id = NULL WHERE id = $1', [otherId]);
    const { rows } = await tx.query(
      `UPDATE contacts s SET name = coalesce(s.name, $2), phone = coalesce(s.phone, $3), email = coalesce(s.email, $4),
         wa_id = coalesce(s.wa_id, $5), wa_user_id = coalesce(s.wa_user_id, $6), wa_username = coalesce(s.wa_username, $7),
         timezone = coalesce(s.timezone, $8), custom_fields = $9::jsonb || s.custom_fields,
         tags = ARRAY(SELECT DISTINCT unnest(s.tags || $10::text[]) ORDER BY 1), created_at = LEAST(s.created_at, $11), updated_at = now()
       WHERE s.id = $1 RETURNING *`,
      [id, other.name, other.phone, other.email, other.wa_id, (other as { wa_user_id?: string }).wa_user_id ?? null,
        (other as { wa_username?: string }).wa_username ?? null, other.timezone, other.custom_fields, other.tags, other.created_at]);
    await tx.query('DELETE FROM contacts WHERE id = $1', [otherId]);
    const leadId = survivorLead?.id ?? otherLead?.id ?? null;
    await tx.query(`INSERT INTO activities (contact_id, lead_id, type, summary, data) VALUES ($1, $2, 'merged', $3, $4)`,
      [id, leadId, `Merged contact ${other.name ?? other.phone ?? other.email ?? otherId}`, { mergedContactId: otherId, mergedLeadId: otherLead?.id ?? null }]);
    await recordDomainEvent(tx, 'contact.merged', { contactId: id, mergedContactId: otherId, leadId });
    return presentContact(rows[0]);
  });
  ctx.domainEvents.recorded(clientId);
  return result;
}
