import type { ClientRow } from './clients.repo.ts';

/** The public view of a client: never a secret value, never a key hash. */
export function presentClient(row: ClientRow) {
  return {
    id: String(row.id),
    clientCode: row.code,
    name: row.name,
    email: row.email,
    apiKeyHint: row.api_key_hint,
    apiKeyCreatedAt: row.api_key_created_at.toISOString(),
    /** Last successful use of the key (updated at most once a minute). */
    apiKeyLastUsedAt: row.api_key_last_used_at?.toISOString() ?? null,
    whatsappStatus: row.whatsapp_status,
    whatsappStatusReason: row.whatsapp_status_reason,
    createdAt: row.created_at.toISOString(),
  };
}

export type ClientView = ReturnType<typeof presentClient>;
