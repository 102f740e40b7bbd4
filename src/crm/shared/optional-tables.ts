/**
 * Tables owned by other domains (workflow jobs, email recipients) that the CRM
 * reads when they exist. Checked once per pool, so the CRM keeps working in a
 * database migrated before those domains shipped.
 */
import type { Db } from '../../platform/db/pool.ts';

const known = new WeakMap<object, Map<string, boolean>>();

export async function hasTable(db: Db, table: string): Promise<boolean> {
  let tables = known.get(db);
  if (!tables) known.set(db, (tables = new Map()));
  let exists = tables.get(table);
  if (exists === undefined) {
    const { rows } = await db.query<{ oid: string | null }>('SELECT to_regclass($1) AS oid', [table]);
    exists = rows[0].oid !== null;
    // Only remember a positive answer: the table may appear after a later migration.
    if (exists) tables.set(table, true);
  }
  return exists;
}
