/** SQL for campaign audiences and recipients (tenant database). */
import type { Db } from '../platform/db/pool.ts';
import type { Audience } from './campaigns.repo.ts';

/** Personalisation values of a contact `c` and its lead `l`. */
const VARS_SQL = `jsonb_build_object(
  'name', c.name,
  'firstName', nullif(split_part(btrim(coalesce(c.name, '')), ' ', 1), ''),
  'lastName', nullif(btrim(regexp_replace(btrim(coalesce(c.name, '')), '^\\S+', '')), ''),
  'email', c.email, 'phone', c.phone, 'stage', l.stage, 'score', l.score, 'source', l.source,
  'custom', coalesce(c.custom_fields, '{}'::jsonb) || coalesce(l.custom_fields, '{}'::jsonb))`;

const EMAIL_OK = `~ '^[^@\\s<>]+@[^@\\s<>]+\\.[^@\\s<>]+$'`;

/** SELECT contact_id, email (lower-case), vars for an audience; parameters start at $offset. */
function audienceQuery(audience: Audience, offset: number): { sql: string; params: unknown[] } {
  const p = (i: number) => `$${offset + i + 1}`;
  if (audience.type === 'filter') {
    return {
      sql: `SELECT DISTINCT ON (lower(c.email)) c.id AS contact_id, lower(c.email) AS email, ${VARS_SQL} AS vars
            FROM leads l JOIN contacts c ON c.id = l.contact_id
            WHERE lower(c.email) ${EMAIL_OK}
              AND (${p(0)}::text[] IS NULL OR l.stage = ANY(${p(0)}))
              AND (${p(1)}::text[] IS NULL OR l.tags && ${p(1)} OR c.tags && ${p(1)})
              AND (${p(2)}::int IS NULL OR l.score >= ${p(2)})
              AND (${p(3)}::int IS NULL OR l.score <= ${p(3)})
              AND (${p(4)}::text[] IS NULL OR l.source = ANY(${p(4)}))
            ORDER BY lower(c.email), l.created_at`,
      params: [audience.stages?.length ? audience.stages : null, audience.tags?.length ? audience.tags : null, audience.scoreMin ?? null, audience.scoreMax ?? null, audience.sources?.length ? audience.sources : null],
    };
  }
  return {
    sql: `SELECT DISTINCT ON (email) contact_id, email, vars FROM (
            SELECT c.id AS contact_id, lower(c.email) AS email, ${VARS_SQL} AS vars, 0 AS pri
              FROM contacts c LEFT JOIN leads l ON l.contact_id = c.id
             WHERE c.id = ANY(${p(0)}::uuid[]) AND lower(c.email) ${EMAIL_OK}
            UNION ALL
            SELECT c.id, w.email, CASE WHEN c.id IS NULL THEN jsonb_build_object('email', w.email) ELSE ${VARS_SQL} END, 1
              FROM (SELECT DISTINCT lower(btrim(e)) AS email FROM unnest(${p(1)}::text[]) AS e) w
              LEFT JOIN LATERAL (SELECT * FROM contacts c0 WHERE lower(c0.email) = w.email ORDER BY c0.created_at LIMIT 1) c ON true
              LEFT JOIN leads l ON l.contact_id = c.id
             WHERE w.email ${EMAIL_OK}
          ) x ORDER BY email, pri`,
    params: [audience.contactIds ?? [], audience.emails ?? []],
  };
}

export interface AudienceMember {
  contact_id: string | null;
  email: string;
  vars: Record<string, unknown>;
}

/** Counts the audience now (before materialisation) and returns a sample member. */
export async function sampleAudience(db: Db, audience: Audience, options: { contactId?: string } = {}): Promise<{ count: number; sample?: AudienceMember }> {
  const q = audienceQuery(audience, 1);
  const { rows } = await db.query<AudienceMember & { total: number }>(
    `SELECT a.*, count(*) OVER ()::int AS total FROM (${q.sql}) a WHERE ($1::uuid IS NULL OR a.contact_id = $1) LIMIT 1`,
    [options.contactId ?? null, ...q.params],
  );
  if (options.contactId) {
    const all = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${audienceQuery(audience, 0).sql}) a`, q.params);
    return { count: all.rows[0].n, sample: rows[0] };
  }
  return { count: rows[0]?.total ?? 0, sample: rows[0] };
}

/** Values for one contact (preview with a chosen lead/contact outside the audience). */
export async function contactVars(db: Db, contactId: string): Promise<AudienceMember | undefined> {
  const { rows } = await db.query<AudienceMember>(
    `SELECT c.id AS contact_id, lower(c.email) AS email, ${VARS_SQL} AS vars FROM contacts c LEFT JOIN leads l ON l.contact_id = c.id WHERE c.id = $1 LIMIT 1`,
    [contactId],
  );
  return rows[0];
}

/**
 * Materialises the audience into recipient rows, once (unique per campaign and address).
 * Suppressed addresses get their final state at once.
 * @returns rows inserted
 */
export async function materialiseRecipients(db: Db, campaignId: string, audience: Audience): Promise<number> {
  const q = audienceQuery(audience, 1);
  const result = await db.query(
    `INSERT INTO email_recipients (campaign_id, contact_id, email, vars, status)
     SELECT $1, a.contact_id, a.email, a.vars,
            coalesce((SELECT CASE WHEN s.reason = 'unsubscribed' THEN 'unsubscribed' ELSE 'suppressed' END FROM email_suppressions s WHERE s.email = a.email), 'queued')
       FROM (${q.sql}) a
     ON CONFLICT (campaign_id, email) DO NOTHING`,
    [campaignId, ...q.params],
  );
  return result.rowCount ?? 0;
}

export interface ClaimedRecipient {
  id: number;
  email: string;
  contact_id: string | null;
  vars: Record<string, unknown>;
  status: 'sending' | 'suppressed' | 'unsubscribed';
  attempts: number;
}

/**
 * Claims up to `limit` due recipients (queued/deferred) with queued→sending in the caller's
 * transaction; addresses found on the suppression list now are finalised instead of claimed.
 */
export async function claimRecipients(tx: Db, campaignId: string, limit: number): Promise<ClaimedRecipient[]> {
  const { rows } = await tx.query<ClaimedRecipient>(
    `WITH picked AS (
       SELECT id FROM email_recipients
        WHERE campaign_id = $1 AND status IN ('queued', 'deferred') AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
     )
     UPDATE email_recipients r SET
       status = coalesce((SELECT CASE WHEN s.reason = 'unsubscribed' THEN 'unsubscribed' ELSE 'suppressed' END FROM email_suppressions s WHERE s.email = r.email), 'sending'),
       claimed_at = now(), updated_at = now()
     FROM picked WHERE r.id = picked.id
     RETURNING r.id::int AS id, r.email, r.contact_id, r.vars, r.status, r.attempts`,
    [campaignId, limit],
  );
  return rows.sort((a, b) => a.id - b.id);
}

export interface RecipientOutcome {
  id: number;
  status: 'sent' | 'deferred' | 'failed' | 'bounced' | 'unknown' | 'queued';
  messageId: string | null;
  code: string | null;
  error: string | null;
  /** Attempts to add (0 when the attempt did not count, e.g. the campaign was paused for auth). */
  attempt: number;
  nextAttemptAt: Date | null;
}

/** Writes the outcomes of one batch in one statement (only rows still in sending/unknown). */
export async function writeOutcomes(db: Db, outcomes: RecipientOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  await db.query(
    `UPDATE email_recipients r SET status = o.status, message_id = coalesce(o.message_id, r.message_id),
        last_code = o.code, last_error = o.error, attempts = r.attempts + o.attempt,
        next_attempt_at = coalesce(o.next_at, r.next_attempt_at),
        sent_at = CASE WHEN o.status = 'sent' THEN now() ELSE r.sent_at END, updated_at = now()
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::timestamptz[])
            AS o(id, status, message_id, code, error, attempt, next_at)
      WHERE r.id = o.id AND r.status IN ('sending', 'unknown')`,
    [outcomes.map((o) => o.id), outcomes.map((o) => o.status), outcomes.map((o) => o.messageId), outcomes.map((o) => o.code), outcomes.map((o) => o.error), outcomes.map((o) => o.attempt), outcomes.map((o) => o.nextAttemptAt)],
  );
}

export type RecipientCounts = Record<'queued' | 'sending' | 'sent' | 'deferred' | 'failed' | 'bounced' | 'suppressed' | 'unsubscribed' | 'unknown' | 'cancelled' | 'opened' | 'clicked' | 'total', number>;

export async function countRecipients(db: Db, campaignId: string): Promise<RecipientCounts> {
  const { rows } = await db.query<RecipientCounts>(
    `SELECT count(*)::int AS total,
        count(*) FILTER (WHERE status = 'queued')::int AS queued,
        count(*) FILTER (WHERE status = 'sending')::int AS sending,
        count(*) FILTER (WHERE status = 'sent')::int AS sent,
        count(*) FILTER (WHERE status = 'deferred')::int AS deferred,
        count(*) FILTER (WHERE status = 'failed')::int AS failed,
        count(*) FILTER (WHERE status = 'bounced')::int AS bounced,
        count(*) FILTER (WHERE status = 'suppressed')::int AS suppressed,
        count(*) FILTER (WHERE status = 'unsubscribed' OR unsubscribed_at IS NOT NULL)::int AS unsubscribed,
        count(*) FILTER (WHERE status = 'unknown')::int AS unknown,
        count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
        count(*) FILTER (WHERE opened_at IS NOT NULL)::int AS opened,
        count(*) FILTER (WHERE clicked_at IS NOT NULL)::int AS clicked
       FROM email_recipients WHERE campaign_id = $1`,
    [campaignId],
  );
  return rows[0];
}

/** Earliest retry time of deferred rows (the runner sleeps until then). */
export async function nextDeferredAt(db: Db, campaignId: string): Promise<Date | undefined> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT min(next_attempt_at) AS at FROM email_recipients WHERE campaign_id = $1 AND status IN ('queued', 'deferred')`, [campaignId],
  );
  return rows[0]?.at ?? undefined;
}

export interface RecipientRow {
  id: string;
  email: string;
  contact_id: string | null;
  status: string;
  attempts: number;
  message_id: string | null;
  last_code: string | null;
  last_error: string | null;
  sent_at: Date | null;
  opened_at: Date | null;
  clicked_at: Date | null;
  unsubscribed_at: Date | null;
}

export async function listRecipients(db: Db, campaignId: string, options: { status?: string; limit: number; afterId?: number }): Promise<RecipientRow[]> {
  const { rows } = await db.query<RecipientRow>(
    `SELECT id::text, email, contact_id, status, attempts, message_id, last_code, last_error, sent_at, opened_at, clicked_at, unsubscribed_at
       FROM email_recipients
      WHERE campaign_id = $1 AND ($2::text IS NULL OR status = $2) AND id > $3
      ORDER BY id LIMIT $4`,
    [campaignId, options.status ?? null, options.afterId ?? 0, options.limit],
  );
  return rows;
}

/** Crash recovery: rows still `sending` past the lease belonged to a dead worker; they become `unknown`. */
export async function markStaleSendingUnknown(db: Db, leaseSeconds: number, campaignId?: string): Promise<Array<{ campaign_id: string; n: number }>> {
  const { rows } = await db.query<{ campaign_id: string; n: number }>(
    `WITH stale AS (
       UPDATE email_recipients SET status = 'unknown', last_code = 'CRASHED',
              last_error = 'The worker stopped while this message was being handed to the SMTP server; it may or may not have been delivered, so it is not re-sent automatically',
              updated_at = now()
        WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => $1) AND ($2::uuid IS NULL OR campaign_id = $2)
        RETURNING campaign_id)
     SELECT campaign_id, count(*)::int AS n FROM stale GROUP BY campaign_id`,
    [leaseSeconds, campaignId ?? null],
  );
  return rows;
}
