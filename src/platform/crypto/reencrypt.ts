/**
 * Re-encrypts stored envelopes under the keyring's active key: the batch half
 * of key rotation (security.md §5). Idempotent and resumable — it only touches
 * rows whose key id is not the active one, and each update is a
 * compare-and-set on the old envelope, so it can run while the server keeps
 * writing (a concurrent write already uses the active key).
 */
import type pg from 'pg';
import type { Keyring } from './keyring.ts';

/** A column holding envelopes, and how to rebuild each value's associated data. */
export interface EncryptedColumn {
  /** For progress output, e.g. `client_secrets`. */
  label: string;
  table: string;
  /** Columns that identify a row. */
  keyColumns: string[];
  envelopeColumn: string;
  keyIdColumn: string;
  /** The context string the value was encrypted with (from the row's key columns). */
  contextOf(row: Record<string, unknown>): string;
}

export interface ReencryptProgress {
  label: string;
  done: number;
  total: number;
}

/** Rows still encrypted under another key than the active one. */
export async function countStale(db: pg.Pool, keyring: Keyring, column: EncryptedColumn): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${column.table} WHERE ${column.keyIdColumn} <> $1`, [keyring.activeId]);
  return rows[0].n;
}

/**
 * Re-encrypts every stale row of `column` in batches.
 * @returns rows re-encrypted now
 */
export async function reencryptColumn(db: pg.Pool, keyring: Keyring, column: EncryptedColumn, options: { batchSize?: number; onProgress?: (p: ReencryptProgress) => void } = {}): Promise<number> {
  const batchSize = options.batchSize ?? 200;
  const total = await countStale(db, keyring, column);
  const keys = column.keyColumns.join(', ');
  let done = 0;
  options.onProgress?.({ label: column.label, done, total });
  while (true) {
    const client = await db.connect();
    let changed = 0;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(
        `SELECT ${keys}, ${column.envelopeColumn} AS envelope FROM ${column.table}
         WHERE ${column.keyIdColumn} <> $1 ORDER BY ${keys} LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [keyring.activeId, batchSize],
      );
      for (const row of rows) {
        const context = column.contextOf(row);
        const plaintext = keyring.decrypt(row.envelope as string, context);
        const envelope = keyring.encrypt(plaintext, context);
        const where = column.keyColumns.map((k, i) => `${k} = $${i + 4}`).join(' AND ');
        const result = await client.query(
          `UPDATE ${column.table} SET ${column.envelopeColumn} = $1, ${column.keyIdColumn} = $2 WHERE ${column.envelopeColumn} = $3 AND ${where}`,
          [envelope, keyring.activeId, row.envelope, ...column.keyColumns.map((k) => row[k])],
        );
        changed += result.rowCount ?? 0;
      }
      await client.query('COMMIT');
      if (rows.length === 0) break;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    done += changed;
    options.onProgress?.({ label: column.label, done, total });
  }
  return done;
}
