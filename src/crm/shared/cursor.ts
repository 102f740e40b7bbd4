/** Opaque keyset cursors: base64url JSON of the last row's sort key and id. */
import { AppError } from '../../platform/errors.ts';

export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** Decodes a cursor made by encodeCursor with `length` values; a tampered cursor is a 400. */
export function decodeCursor(cursor: string, length: number): unknown[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(values) && values.length === length) return values;
  } catch {
    // fall through
  }
  throw new AppError('BAD_REQUEST', { message: 'Invalid cursor: pass the nextCursor of a previous page' });
}
