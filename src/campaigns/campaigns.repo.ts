/** SQL for email campaigns (tenant database). */
import type { Db } from '../platform/db/pool.ts';

export type CampaignStatus = 'draft' | 'scheduled' | 'sending' | 'paused' | 'cancelled' | 'finished';

export type Audience =
  | { type: 'filter'; stages?: string[]; tags?: string[]; scoreMin?: number; scoreMax?: number; sources?: string[] }
  | { type: 'list'; contactIds?: string[]; emails?: string[] };

export interface CampaignRow {
  id: string;
  name: string;
  subject: string;
  html: string;
  text_body: string;
  from_name: string | null;
  reply_to: string | null;
  audience: Audience;
  status: CampaignStatus;
  send_at: Date | null;
  rate_per_second: number | null;
  rate_per_day: number | null;
  track_opens: boolean;
  track_clicks: boolean;
  pause_reason: string | null;
  run_seq: number;
  materialised_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface CampaignFields {
  name: string;
  subject: string;
  html: string;
  text: string;
  fromName?: string | null;
  replyTo?: string | null;
  audience: Audience;
  ratePerSecond?: number | null;
  ratePerDay?: number | null;
  trackOpens?: boolean;
  trackClicks?: boolean;
}

export async function insertCampaign(db: Db, f: CampaignFields): Promise<CampaignRow> {
  const { rows } = await db.query<CampaignRow>(
    `INSERT INTO email_campaigns (name, subject, html, text_body, from_name, reply_to, audience, rate_per_second, rate_per_day, track_opens, track_clicks)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [f.name, f.subject, f.html, f.text, f.fromName ?? null, f.replyTo ?? null, f.audience, f.ratePerSecond ?? null, f.ratePerDay ?? null, f.trackOpens ?? true, f.trackClicks ?? true],
  );
  return rows[0];
}

export async function updateCampaignFields(db: Db, id: string, f: CampaignFields): Promise<CampaignRow> {
  const { rows } = await db.query<CampaignRow>(
    `UPDATE email_campaigns SET name = $2, subject = $3, html = $4, text_body = $5, from_name = $6, reply_to = $7, audience = $8,
       rate_per_second = $9, rate_per_day = $10, track_opens = $11, track_clicks = $12, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [id, f.name, f.subject, f.html, f.text, f.fromName ?? null, f.replyTo ?? null, f.audience, f.ratePerSecond ?? null, f.ratePerDay ?? null, f.trackOpens ?? true, f.trackClicks ?? true],
  );
  return rows[0];
}

export async function findCampaign(db: Db, id: string, forUpdate = false): Promise<CampaignRow | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const { rows } = await db.query<CampaignRow>(`SELECT * FROM email_campaigns WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0];
}

export async function listCampaigns(db: Db, limit: number, before?: { createdAt: string; id: string }): Promise<CampaignRow[]> {
  const { rows } = await db.query<CampaignRow>(
    `SELECT * FROM email_campaigns WHERE ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit, before?.createdAt ?? null, before?.id ?? null],
  );
  return rows;
}

export async function setCampaignStatus(db: Db, id: string, status: CampaignStatus, extra: { sendAt?: Date | null; pauseReason?: string | null } = {}): Promise<CampaignRow> {
  const { rows } = await db.query<CampaignRow>(
    `UPDATE email_campaigns SET status = $2,
       send_at = CASE WHEN $3::boolean THEN $4::timestamptz ELSE send_at END,
       pause_reason = $5,
       finished_at = CASE WHEN $2 IN ('finished', 'cancelled') THEN now() ELSE finished_at END,
       updated_at = now()
     WHERE id = $1 RETURNING *`,
    [id, status, extra.sendAt !== undefined, extra.sendAt ?? null, extra.pauseReason ?? null],
  );
  return rows[0];
}

/** Next continuation number for the campaign's runner job key. */
export async function nextRunSeq(db: Db, id: string): Promise<number> {
  const { rows } = await db.query<{ run_seq: number }>('UPDATE email_campaigns SET run_seq = run_seq + 1 WHERE id = $1 RETURNING run_seq', [id]);
  return rows[0]?.run_seq ?? 0;
}
