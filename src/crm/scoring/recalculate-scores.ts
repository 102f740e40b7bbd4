/**
 * Set-based lead scoring: one SQL statement scores a whole batch of leads.
 *
 * Signals come from where they live: inbound messages, fast replies (an inbound
 * message within `fast_reply_minutes` of our outbound one), button clicks and
 * read receipts (`messages`); arriving from an ad (`leads.source`);
 * appointments by status; email opens and clicks (`email_recipients`, when the
 * email domain is installed); purchases, enrolments and anything else recorded
 * in `lead_signals`. Each active rule turns its signal into points, decayed with
 * the client's half-life (`points × 0.5^(age / half-life)`) unless the rule is
 * marked non-decaying; fit rules test a lead or contact field. Points are
 * capped per rule (`max_points`) and then per group (`scoring_groups.cap`); the
 * score is the rounded, non-negative sum. The same statement stores the score
 * and its per-rule breakdown, appends score history when the score changed, and
 * records `lead_score_crossed` domain events for each threshold crossed.
 */
import type { Db } from '../../platform/db/pool.ts';
import { hasTable } from '../shared/optional-tables.ts';

export type ScoreTarget =
  | { leadIds: string[] }
  /** Keyset batch: the next `limit` leads by id after `afterId` (null: from the start). */
  | { afterId: string | null; limit: number };

export interface RecalculateOptions {
  /** Decay is measured up to this instant (tests pass a fixed time). */
  now: Date;
  /** Why (kept in score history): 'api', 'nightly', 'event:lead_captured' … */
  reason: string;
}

export interface ScoreChange { leadId: string; previous: number; score: number }
export interface RecalculateResult {
  /** Leads scored. */
  processed: number;
  /** Leads whose score changed. */
  changed: ScoreChange[];
  /** Threshold crossing events recorded. */
  crossed: number;
  /** Highest lead id in the batch (the next keyset cursor). */
  lastLeadId: string | null;
}

/** The decay factor of a signal at `at` (1 without a time): `0.5^(age / half-life)`. */
const DECAY = (at: string) => `power(0.5::float8, GREATEST(extract(epoch FROM ($1::timestamptz - ${at})), 0) / 86400.0 / st.half_life_days::float8)`;
/** Signals counted: those up to `now` (and those without a time). */
const DUE = (at: string) => `(${at} IS NULL OR ${at} <= $1::timestamptz)`;

/**
 * Per lead and signal: how many (`n`) and the sum of their decay factors (`d`). The WhatsApp
 * signals come from one pass over the batch's messages aggregated per lead (a message may
 * yield several signals); the others are rows of (lead, signal, at) aggregated the same way.
 */
async function signalSql(db: Db): Promise<string> {
  const messageSignals: Array<[string, string, string]> = [
    ['message_inbound', `x.direction = 'inbound'`, 'x.created_at'],
    ['button_click', `x.direction = 'inbound' AND x.type IN ('button', 'interactive')`, 'x.created_at'],
    ['message_read', `x.direction = 'outbound' AND x.status IN ('read', 'played')`, 'x.updated_at'],
    ['reply_fast', `x.direction = 'inbound' AND x.prev_direction = 'outbound' AND x.created_at - x.prev_at <= make_interval(mins => st.fast_reply_minutes)`, 'x.created_at'],
  ];
  const other = [
    `SELECT t.id AS lead_id, 'from_ad' AS signal, t.created_at AS at FROM target t WHERE t.source = 'whatsapp_ad'`,
    `SELECT t.id, 'appointment_' || CASE a.status WHEN 'no_show' THEN 'no_show' ELSE a.status END, a.updated_at
       FROM target t JOIN appointments a ON a.contact_id = t.contact_id AND a.status IN ('confirmed', 'attended', 'no_show')`,
    `SELECT s.lead_id, s.signal, s.occurred_at FROM lead_signals s JOIN target t ON t.id = s.lead_id`,
  ];
  if (await hasTable(db, 'email_recipients')) {
    other.push(`SELECT t.id, 'email_open', r.opened_at FROM target t JOIN email_recipients r ON r.email = t.email_lower WHERE r.opened_at IS NOT NULL`);
    other.push(`SELECT t.id, 'email_click', r.clicked_at FROM target t JOIN email_recipients r ON r.email = t.email_lower WHERE r.clicked_at IS NOT NULL`);
  }
  return `
    SELECT mg.lead_id, v.signal, v.n, v.d FROM (
      SELECT x.lead_id,
             ${messageSignals.map(([, when, at], i) => `count(*) FILTER (WHERE ${when} AND ${DUE(at)}) AS n${i}, sum(${DECAY(at)}) FILTER (WHERE ${when} AND ${DUE(at)}) AS d${i}`).join(',\n             ')}
        FROM (SELECT t.id AS lead_id, m.direction, m.type, m.status, m.created_at, m.updated_at,
                     lag(m.direction) OVER w AS prev_direction, lag(m.created_at) OVER w AS prev_at
                FROM target t JOIN messages m ON m.contact_id = t.contact_id
              WINDOW w AS (PARTITION BY m.contact_id ORDER BY m.created_at, m.id)) x
        CROSS JOIN settings st
       GROUP BY x.lead_id) mg
     CROSS JOIN LATERAL (VALUES ${messageSignals.map(([signal], i) => `('${signal}', mg.n${i}, mg.d${i})`).join(', ')}) AS v(signal, n, d)
     WHERE v.n > 0
    UNION ALL
    SELECT o.lead_id, o.signal, count(*), sum(${DECAY('o.at')})
      FROM (${other.join('\n      UNION ALL ')}) o CROSS JOIN settings st
     WHERE ${DUE('o.at')}
     GROUP BY 1, 2`;
}

/** Field value of a fit rule as jsonb. */
const FIT_VALUE = `CASE r.field
  WHEN 'email' THEN to_jsonb(t.email) WHEN 'name' THEN to_jsonb(t.name) WHEN 'phone' THEN to_jsonb(t.phone)
  WHEN 'source' THEN to_jsonb(t.source) WHEN 'stage' THEN to_jsonb(t.stage) WHEN 'owner' THEN to_jsonb(t.owner)
  WHEN 'tags' THEN to_jsonb(t.tags)
  ELSE coalesce(t.custom_fields -> substr(r.field, 8), t.contact_fields -> substr(r.field, 8)) END`;

const FIT_MATCH = `CASE r.operator
  WHEN 'exists' THEN coalesce(f.v NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb), false)
  WHEN 'not_exists' THEN coalesce(f.v IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb), true)
  WHEN 'eq' THEN coalesce(f.v = r.value, false)
  WHEN 'neq' THEN f.v IS DISTINCT FROM r.value
  WHEN 'in' THEN coalesce(r.value @> jsonb_build_array(f.v), false)
  WHEN 'contains' THEN CASE jsonb_typeof(f.v) WHEN 'array' THEN f.v @> jsonb_build_array(r.value)
                            WHEN 'string' THEN strpos(lower(f.v #>> '{}'), lower(r.value #>> '{}')) > 0 ELSE false END
  WHEN 'gt' THEN jsonb_typeof(f.v) = 'number' AND (f.v #>> '{}')::numeric > (r.value #>> '{}')::numeric
  WHEN 'gte' THEN jsonb_typeof(f.v) = 'number' AND (f.v #>> '{}')::numeric >= (r.value #>> '{}')::numeric
  WHEN 'lt' THEN jsonb_typeof(f.v) = 'number' AND (f.v #>> '{}')::numeric < (r.value #>> '{}')::numeric
  WHEN 'lte' THEN jsonb_typeof(f.v) = 'number' AND (f.v #>> '{}')::numeric <= (r.value #>> '{}')::numeric
  ELSE false END`;

/** Scores the target leads in one statement; see the module comment. */
export async function recalculateScores(db: Db, target: ScoreTarget, options: RecalculateOptions): Promise<RecalculateResult> {
  const params: unknown[] = [options.now, options.reason];
  let targetWhere: string;
  if ('leadIds' in target) {
    params.push(target.leadIds);
    targetWhere = `l.id = ANY($3::uuid[]) ORDER BY l.id`;
  } else {
    params.push(target.afterId, target.limit);
    targetWhere = `($3::uuid IS NULL OR l.id > $3::uuid) ORDER BY l.id LIMIT $4`;
  }
  const sql = `
    WITH settings AS (SELECT half_life_days, fast_reply_minutes, thresholds FROM scoring_settings LIMIT 1),
    target AS MATERIALIZED (
      SELECT l.id, l.contact_id, l.score AS previous, l.source, l.stage, l.owner, l.tags, l.custom_fields, l.created_at,
             c.email, lower(c.email) AS email_lower, c.name, c.phone, c.custom_fields AS contact_fields
        FROM leads l JOIN contacts c ON c.id = l.contact_id
       WHERE ${targetWhere}
       FOR UPDATE OF l),
    rules AS MATERIALIZED (SELECT * FROM scoring_rules WHERE is_active),
    signals AS (${await signalSql(db)}),
    -- points × the sum of decay factors (or × the count when the rule does not decay)
    event_points AS (
      SELECT sg.lead_id, r.key, r.group_key, r.max_points, sg.n, r.points * CASE WHEN r.decays THEN sg.d ELSE sg.n END AS pts
        FROM signals sg JOIN rules r ON r.signal = sg.signal),
    fit_points AS (
      SELECT t.id AS lead_id, r.key, r.group_key, r.max_points, 1::bigint AS n, r.points::float8 AS pts
        FROM target t JOIN rules r ON r.signal = 'fit'
        CROSS JOIN LATERAL (SELECT ${FIT_VALUE} AS v) f
       WHERE ${FIT_MATCH}),
    -- Rule caps, then group totals by window (one sort), then one aggregation per lead.
    rule_points AS (
      SELECT u.lead_id, u.key, u.group_key, u.n, u.pts, g.cap,
             sum(u.pts) OVER (PARTITION BY u.lead_id, u.group_key) AS group_raw,
             row_number() OVER (PARTITION BY u.lead_id, u.group_key ORDER BY u.key) AS gi
        FROM (SELECT lead_id, key, group_key, n,
                     CASE WHEN max_points IS NULL THEN pts ELSE GREATEST(LEAST(pts, max_points::float8), -max_points::float8) END AS pts
                FROM (SELECT * FROM event_points UNION ALL SELECT * FROM fit_points) e) u
        JOIN scoring_groups g ON g.key = u.group_key),
    -- The breakdown is assembled as JSON text and parsed once per lead (much cheaper than jsonb_agg of jsonb_build_object).
    per_lead AS (
      SELECT lead_id,
             sum(CASE WHEN gi = 1 THEN CASE WHEN cap IS NULL THEN group_raw ELSE LEAST(group_raw, cap::float8) END END) AS total,
             string_agg(format('{"rule":%s,"group":%s,"count":%s,"points":%s}', to_json(key), to_json(group_key), n, round(pts::numeric, 1)), ',' ORDER BY pts DESC, key) AS rules,
             string_agg(format('{"group":%s,"points":%s,"cap":%s,"counted":%s}', to_json(group_key), round(group_raw::numeric, 1), coalesce(cap::text, 'null'),
                               round((CASE WHEN cap IS NULL THEN group_raw ELSE LEAST(group_raw, cap::float8) END)::numeric, 1)), ',' ORDER BY group_key)
               FILTER (WHERE gi = 1) AS groups
        FROM rule_points GROUP BY lead_id),
    totals AS (
      SELECT t.id, t.previous, GREATEST(0, round(coalesce(p.total, 0)))::int AS score,
             ('{"rules":[' || coalesce(p.rules, '') || '],"groups":[' || coalesce(p.groups, '') || ']}')::jsonb AS breakdown
        FROM target t LEFT JOIN per_lead p ON p.lead_id = t.id),
    updated AS (
      UPDATE leads l SET score = t.score, score_breakdown = t.breakdown, score_updated_at = $1::timestamptz
        FROM totals t WHERE l.id = t.id AND (l.score <> t.score OR l.score_breakdown IS DISTINCT FROM t.breakdown OR l.score_updated_at IS NULL)
      RETURNING l.id, t.previous, t.score, t.breakdown),
    history AS (
      INSERT INTO lead_score_history (lead_id, score, previous, breakdown, reason, computed_at)
      SELECT id, score, previous, breakdown, $2, $1::timestamptz FROM updated WHERE score <> previous
      RETURNING lead_id),
    crossings AS (
      INSERT INTO domain_events (type, data)
      SELECT 'lead_score_crossed', jsonb_build_object('leadId', u.id, 'threshold', th->>'key', 'thresholdScore', (th->>'score')::int,
               'score', u.score, 'previous', u.previous, 'direction', CASE WHEN u.score > u.previous THEN 'up' ELSE 'down' END)
        FROM updated u CROSS JOIN settings s CROSS JOIN jsonb_array_elements(s.thresholds) th
       WHERE (u.previous >= (th->>'score')::int) <> (u.score >= (th->>'score')::int)
      RETURNING id)
    SELECT (SELECT count(*) FROM target)::int AS processed,
           (SELECT max(id::text) FROM target) AS last_lead_id,
           (SELECT count(*) FROM crossings)::int AS crossed,
           coalesce((SELECT jsonb_agg(jsonb_build_object('leadId', id, 'previous', previous, 'score', score)) FROM updated WHERE score <> previous), '[]'::jsonb) AS changed,
           (SELECT count(*) FROM history)::int AS history`;
  const { rows } = await db.query<{ processed: number; last_lead_id: string | null; crossed: number; changed: ScoreChange[] }>(sql, params);
  return { processed: rows[0].processed, lastLeadId: rows[0].last_lead_id, crossed: rows[0].crossed, changed: rows[0].changed };
}
