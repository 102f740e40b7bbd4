/** The sandbox mail catcher's view: what would have been sent, newest first. */
import type { Db } from '../platform/db/pool.ts';

export async function listSandboxMail(db: Db, limit: number, beforeId?: number) {
  const { rows } = await db.query<{ id: string; kind: string; campaign_id: string | null; message_id: string; from_address: string; to_address: string; subject: string; text_body: string | null; html: string | null; headers: Record<string, string>; created_at: Date }>(
    `SELECT id::text, kind, campaign_id, message_id, from_address, to_address, subject, text_body, html, headers, created_at
       FROM email_sandbox_messages WHERE ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $1`,
    [limit, beforeId ?? null],
  );
  return {
    items: rows.map((r) => ({
      id: r.id, kind: r.kind, campaignId: r.campaign_id, messageId: r.message_id, from: r.from_address, to: r.to_address,
      subject: r.subject, text: r.text_body, html: r.html, headers: r.headers, createdAt: r.created_at.toISOString(),
    })),
    nextCursor: rows.length === limit ? rows.at(-1)!.id : null,
  };
}
