-- CRM: custom field definitions, search indexes, notes, scoring, appointments.
-- pg_trgm lives in public so a client database that already has it keeps working.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

-- Per-client custom field definitions, validated on every write of custom_fields.
CREATE TABLE crm_fields (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- 'contact' | 'lead'
  entity     text NOT NULL,
  key        text NOT NULL,
  label      text NOT NULL,
  -- 'text' | 'number' | 'boolean' | 'date' | 'select' | 'multiselect' | 'email' | 'phone'
  type       text NOT NULL,
  required   boolean NOT NULL DEFAULT false,
  options    text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (entity, key)
);

-- Search: prefix on name words, phone digits and email.
CREATE INDEX contacts_name_trgm ON contacts USING gin (lower(name) public.gin_trgm_ops);
CREATE INDEX contacts_name_prefix ON contacts (lower(name) text_pattern_ops);
CREATE INDEX contacts_phone_prefix ON contacts (phone text_pattern_ops);
CREATE INDEX contacts_email_prefix ON contacts (lower(email) text_pattern_ops);
CREATE INDEX contacts_created ON contacts (created_at DESC, id DESC);
CREATE INDEX contacts_tags ON contacts USING gin (tags);

-- Filters and sorts on leads (core already has (stage, created_at), (score), (created_at, id)):
-- every extra index here is paid on each score update, so only the missing ones.
CREATE INDEX leads_owner_created ON leads (owner, created_at DESC, id DESC);
CREATE INDEX leads_source_created ON leads (source, created_at DESC, id DESC);
CREATE INDEX leads_updated ON leads (updated_at DESC, id DESC);
CREATE INDEX leads_tags ON leads USING gin (tags);
-- Uncontacted leads for the first-contact SLA sweep.
CREATE INDEX leads_sla_pending ON leads (created_at) WHERE first_contacted_at IS NULL AND sla_breached_at IS NULL;

ALTER TABLE leads ADD COLUMN score_breakdown jsonb NOT NULL DEFAULT '[]';
ALTER TABLE leads ADD COLUMN score_updated_at timestamptz;

CREATE INDEX messages_contact ON messages (contact_id, created_at DESC, id DESC);
CREATE INDEX activities_type ON activities (type, occurred_at DESC);

-- Scoring: groups (with caps), rules, settings, external signals, history.
CREATE TABLE scoring_groups (
  key  text PRIMARY KEY,
  name text NOT NULL,
  -- the most points the group may add (null: no cap)
  cap  numeric
);

CREATE TABLE scoring_rules (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key        text NOT NULL UNIQUE,
  name       text NOT NULL,
  group_key  text NOT NULL REFERENCES scoring_groups(key) ON UPDATE CASCADE,
  -- message_inbound | reply_fast | button_click | message_read | from_ad | appointment_confirmed |
  -- appointment_attended | appointment_no_show | purchase | enrolment | email_open | email_click | fit
  signal     text NOT NULL,
  points     numeric NOT NULL,
  -- cap on the absolute points this rule may contribute (null: none)
  max_points numeric,
  -- fit rules: field ('email', 'name', 'phone', 'source', 'owner', 'stage', 'tags', 'custom.<key>'), operator, value
  field      text,
  operator   text,
  value      jsonb,
  -- whether time decay applies (fit rules never decay)
  decays     boolean NOT NULL DEFAULT true,
  is_active  boolean NOT NULL DEFAULT true,
  position   int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scoring_settings (
  id             boolean PRIMARY KEY DEFAULT true CHECK (id),
  half_life_days numeric NOT NULL DEFAULT 30,
  -- [{ "key": "warm", "score": 30 }, ...]: crossing one records lead_score_crossed
  thresholds     jsonb NOT NULL DEFAULT '[{"key":"warm","score":30},{"key":"hot","score":60}]',
  -- an inbound message within this many minutes of our last outbound counts as a fast reply
  fast_reply_minutes int NOT NULL DEFAULT 10,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO scoring_settings DEFAULT VALUES;

INSERT INTO scoring_groups (key, name, cap) VALUES
  ('engagement', 'WhatsApp engagement', 40),
  ('source', 'Source', 15),
  ('appointments', 'Appointments', 30),
  ('conversion', 'Purchases and enrolments', 40),
  ('email', 'Email engagement', 15),
  ('fit', 'Fit', 20);

INSERT INTO scoring_rules (key, name, group_key, signal, points, max_points, field, operator, value, decays, position) VALUES
  ('inbound_message', 'Inbound WhatsApp message', 'engagement', 'message_inbound', 3, 15, NULL, NULL, NULL, true, 1),
  ('fast_reply', 'Replied quickly', 'engagement', 'reply_fast', 5, 15, NULL, NULL, NULL, true, 2),
  ('button_click', 'Clicked a button', 'engagement', 'button_click', 4, 12, NULL, NULL, NULL, true, 3),
  ('read_receipt', 'Read our message', 'engagement', 'message_read', 1, 5, NULL, NULL, NULL, true, 4),
  ('from_ad', 'Arrived from an ad', 'source', 'from_ad', 10, NULL, NULL, NULL, NULL, false, 5),
  ('appointment_confirmed', 'Appointment confirmed', 'appointments', 'appointment_confirmed', 10, 20, NULL, NULL, NULL, true, 6),
  ('appointment_attended', 'Appointment attended', 'appointments', 'appointment_attended', 20, 30, NULL, NULL, NULL, true, 7),
  ('appointment_no_show', 'Missed an appointment', 'appointments', 'appointment_no_show', -10, 20, NULL, NULL, NULL, true, 8),
  ('purchase', 'Purchased', 'conversion', 'purchase', 25, 40, NULL, NULL, NULL, true, 9),
  ('enrolment', 'Enrolled in a service', 'conversion', 'enrolment', 25, 40, NULL, NULL, NULL, true, 10),
  ('email_open', 'Opened an email', 'email', 'email_open', 1, 5, NULL, NULL, NULL, true, 11),
  ('email_click', 'Clicked an email link', 'email', 'email_click', 3, 9, NULL, NULL, NULL, true, 12),
  ('has_email', 'Gave an email address', 'fit', 'fit', 5, NULL, 'email', 'exists', NULL, false, 13);

-- Signals that do not live in other tables (purchases, enrolments, email events, manual).
CREATE TABLE lead_signals (
  id          bigserial PRIMARY KEY,
  lead_id     uuid NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
  signal      text NOT NULL,
  data        jsonb NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL DEFAULT now(),
  -- optional dedupe key from the source (campaign recipient id, order id ...)
  source_key  text
);
CREATE INDEX lead_signals_lead ON lead_signals (lead_id, signal);
CREATE UNIQUE INDEX lead_signals_source_key ON lead_signals (signal, source_key) WHERE source_key IS NOT NULL;

CREATE TABLE lead_score_history (
  id          bigserial PRIMARY KEY,
  lead_id     uuid NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
  score       int NOT NULL,
  previous    int NOT NULL,
  breakdown   jsonb NOT NULL,
  reason      text NOT NULL,
  computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_score_history_lead ON lead_score_history (lead_id, computed_at DESC, id DESC);

-- Resumable bulk recalculations: the cursor survives a crash or a retried job.
CREATE TABLE scoring_runs (
  key          text PRIMARY KEY,
  last_lead_id uuid,
  processed    int NOT NULL DEFAULT 0,
  changed      int NOT NULL DEFAULT 0,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);

CREATE TABLE appointments (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  contact_id       uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  lead_id          uuid REFERENCES leads(id) ON DELETE SET NULL,
  title            text NOT NULL DEFAULT 'Appointment',
  starts_at        timestamptz NOT NULL,
  ends_at          timestamptz NOT NULL,
  timezone         text NOT NULL DEFAULT 'UTC',
  -- 'scheduled' | 'confirmed' | 'cancelled' | 'attended' | 'no_show'
  status           text NOT NULL DEFAULT 'confirmed',
  location         text,
  meeting_url      text,
  -- minutes before the start at which a reminder goes out
  reminder_offsets int[] NOT NULL DEFAULT '{60}',
  -- reminder key ('60m') -> the start time it was scheduled for
  reminders_scheduled jsonb NOT NULL DEFAULT '{}',
  notes            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at >= starts_at)
);
CREATE INDEX appointments_contact ON appointments (contact_id, starts_at DESC);
CREATE INDEX appointments_starts ON appointments (starts_at) WHERE status IN ('scheduled', 'confirmed');
