/** Finds groups of contacts that share a phone number or an email address. */
import type { Db } from '../../platform/db/pool.ts';
import { presentContact, type ContactRow } from './contacts.repo.ts';

export async function findDuplicateContacts(db: Db, options: { limit: number }) {
  const { rows } = await db.query<{ match_on: 'phone' | 'email'; value: string; contacts: Array<Omit<ContactRow, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string }> }>(
    `WITH groups AS (
       (SELECT 'phone' AS match_on, phone AS value FROM contacts WHERE phone IS NOT NULL GROUP BY phone HAVING count(*) > 1)
       UNION ALL
       (SELECT 'email', lower(email) FROM contacts WHERE email IS NOT NULL GROUP BY lower(email) HAVING count(*) > 1)
       ORDER BY 1 DESC, 2 LIMIT $1
     )
     SELECT g.match_on, g.value, (SELECT json_agg(c ORDER BY c.created_at) FROM contacts c
       WHERE (g.match_on = 'phone' AND c.phone = g.value) OR (g.match_on = 'email' AND lower(c.email) = g.value)) AS contacts
     FROM groups g`, [options.limit]);
  return {
    groups: rows.map((row) => ({
      matchOn: row.match_on,
      value: row.value,
      contacts: row.contacts.map((c) => presentContact({ ...c, created_at: new Date(c.created_at), updated_at: new Date(c.updated_at) })),
    })),
  };
}
