/** Audit log of admin actions and API key use: who, what, when, from where. Never secrets. */
import type { Db } from '../platform/db/pool.ts';

export interface AuditEntry {
  /** `admin`, `cli`, `client:<code>`, `system`. */
  actor: string;
  /** `client.create`, `client.rotate-key`, `secrets.set` ... */
  action: string;
  clientId?: string;
  clientCode?: string;
  ip?: string;
  requestId?: string;
  /** Field names and ids only; never values of secrets. */
  details?: Record<string, unknown>;
}

export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (actor, action, client_id, client_code, ip, request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [entry.actor, entry.action, entry.clientId ?? null, entry.clientCode ?? null, entry.ip ?? null, entry.requestId ?? null, entry.details ?? {}],
  );
}

export interface AuditQuery { clientId?: string; action?: string; limit: number; before?: string }

export async function listAudit(db: Db, query: AuditQuery) {
  const { rows } = await db.query(
    `SELECT id, at, actor, action, client_id AS "clientId", client_code AS "clientCode", ip, request_id AS "requestId", details
     FROM audit_log WHERE ($1::bigint IS NULL OR client_id = $1) AND ($2::text IS NULL OR action = $2) AND ($3::bigint IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [query.clientId ?? null, query.action ?? null, query.before ?? null, query.limit],
  );
  return rows;
}
