-- Email marketing (0400-0499): campaigns, their recipients (one row per address, materialised once
-- when sending starts), the per-client suppression list, the shared sending quota/pace, and the
-- sandbox mail catcher used when the client has no SMTP settings.
CREATE TABLE email_campaigns (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name            text NOT NULL,
  subject         text NOT NULL,
  html            text NOT NULL DEFAULT '',
  text_body       text NOT NULL DEFAULT '',
  from_name       text,
  reply_to        text,
  -- { type: 'filter', stages?, tags?, scoreMin?, scoreMax?, sources? } | { type: 'list', contactIds?, emails? }
  audience        jsonb NOT NULL,
  -- draft | scheduled | sending | paused | cancelled | finished
  status          text NOT NULL DEFAULT 'draft',
  send_at         timestamptz,
  rate_per_second int,
  rate_per_day    int,
  track_opens     boolean NOT NULL DEFAULT true,
  track_clicks    boolean NOT NULL DEFAULT true,
  pause_reason    text,
  -- Continuation counter: each runner job of this campaign has key campaign:<id>:run:<seq>.
  run_seq         int NOT NULL DEFAULT 0,
  materialised_at timestamptz,
  started_at      timestamptz,
  finished_at     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_campaigns_created ON email_campaigns (created_at DESC, id DESC);
CREATE INDEX email_campaigns_active ON email_campaigns (status) WHERE status IN ('scheduled', 'sending');

CREATE TABLE email_recipients (
  id              bigserial PRIMARY KEY,
  campaign_id     uuid NOT NULL REFERENCES email_campaigns(id) ON DELETE CASCADE,
  contact_id      uuid,
  -- lower-cased
  email           text NOT NULL,
  -- personalisation values captured when the audience was materialised
  vars            jsonb NOT NULL DEFAULT '{}',
  -- queued | sending | sent | deferred | failed | bounced | suppressed | unsubscribed | unknown | cancelled
  status          text NOT NULL DEFAULT 'queued',
  attempts        int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  claimed_at      timestamptz,
  message_id      text,
  last_code       text,
  last_error      text,
  sent_at         timestamptz,
  opened_at       timestamptz,
  open_count      int NOT NULL DEFAULT 0,
  clicked_at      timestamptz,
  click_count     int NOT NULL DEFAULT 0,
  unsubscribed_at timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (campaign_id, email)
);
CREATE INDEX email_recipients_due ON email_recipients (campaign_id, next_attempt_at, id) WHERE status IN ('queued', 'deferred');
CREATE INDEX email_recipients_claimed ON email_recipients (claimed_at) WHERE status = 'sending';
CREATE INDEX email_recipients_status ON email_recipients (campaign_id, status);
CREATE INDEX email_recipients_email ON email_recipients (email);

CREATE TABLE email_suppressions (
  email      text PRIMARY KEY,
  -- unsubscribed | hard_bounce | complaint | manual
  reason     text NOT NULL,
  source     text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row: the client's pacing cursor (next free send slot), UTC-day counter and quota pause.
CREATE TABLE email_send_quota (
  id           int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  next_slot_at timestamptz NOT NULL DEFAULT now(),
  day          date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
  day_count    int NOT NULL DEFAULT 0,
  paused_until timestamptz,
  pause_reason text
);
INSERT INTO email_send_quota (id) VALUES (1);

CREATE TABLE email_sandbox_messages (
  id           bigserial PRIMARY KEY,
  -- campaign | test | transactional
  kind         text NOT NULL,
  campaign_id  uuid,
  message_id   text NOT NULL,
  from_address text NOT NULL,
  to_address   text NOT NULL,
  subject      text NOT NULL,
  text_body    text,
  html         text,
  headers      jsonb NOT NULL DEFAULT '{}',
  raw          text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_sandbox_messages_recent ON email_sandbox_messages (id DESC);

-- Transactional sends (automation send_email): one row per idempotency key, claimed before the SMTP call.
CREATE TABLE email_transactional_sends (
  idempotency_key text PRIMARY KEY,
  email           text NOT NULL,
  -- sending | sent | failed | suppressed
  status          text NOT NULL,
  message_id      text,
  error           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
