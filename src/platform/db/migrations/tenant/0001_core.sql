-- Core CRM entities shared by every domain: contacts, pipelines, leads, activities, domain events.
-- Numbering: 0001-0099 core, 0100-0199 whatsapp, 0200-0299 workflows, 0300-0399 crm,
-- 0400-0499 email, 0500-0599 meet, 0600+ later.
CREATE TABLE contacts (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- E.164 digits without '+'
  phone         text,
  wa_id         text,
  -- WhatsApp business-scoped user id and username (wa_id can be absent for username users)
  wa_user_id    text,
  wa_username   text,
  name          text,
  email         text,
  timezone      text,
  custom_fields jsonb NOT NULL DEFAULT '{}',
  tags          text[] NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contacts_wa_id ON contacts (wa_id) WHERE wa_id IS NOT NULL;
CREATE UNIQUE INDEX contacts_wa_user_id ON contacts (wa_user_id) WHERE wa_user_id IS NOT NULL;
CREATE INDEX contacts_phone ON contacts (phone);
CREATE INDEX contacts_email ON contacts (lower(email));

CREATE TABLE pipelines (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (is_default) WHERE is_default;

CREATE TABLE pipeline_stages (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  key         text NOT NULL,
  name        text NOT NULL,
  position    int NOT NULL,
  is_won      boolean NOT NULL DEFAULT false,
  is_lost     boolean NOT NULL DEFAULT false,
  UNIQUE (pipeline_id, key)
);

WITH p AS (INSERT INTO pipelines (name, is_default) VALUES ('Default', true) RETURNING id)
INSERT INTO pipeline_stages (pipeline_id, key, name, position, is_won, is_lost)
SELECT p.id, s.key, s.name, s.position, s.is_won, s.is_lost FROM p, (VALUES
  ('new', 'New', 1, false, false),
  ('contacted', 'Contacted', 2, false, false),
  ('qualified', 'Qualified', 3, false, false),
  ('won', 'Won', 4, true, false),
  ('lost', 'Lost', 5, false, true)
) AS s(key, name, position, is_won, is_lost);

CREATE TABLE leads (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  contact_id     uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  pipeline_id    uuid REFERENCES pipelines(id),
  stage          text NOT NULL DEFAULT 'new',
  -- 'whatsapp' | 'whatsapp_ad' | 'manual' | 'import' | 'api' | 'form'
  source         text NOT NULL DEFAULT 'manual',
  source_details jsonb,
  score          int NOT NULL DEFAULT 0,
  owner          text,
  custom_fields  jsonb NOT NULL DEFAULT '{}',
  tags           text[] NOT NULL DEFAULT '{}',
  first_contacted_at timestamptz,
  sla_breached_at timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
-- One lead per contact: inbound upserts rely on it.
CREATE UNIQUE INDEX leads_contact ON leads (contact_id);
CREATE INDEX leads_stage ON leads (stage, created_at DESC);
CREATE INDEX leads_score ON leads (score DESC);
CREATE INDEX leads_created ON leads (created_at DESC, id DESC);

CREATE TABLE activities (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  contact_id  uuid REFERENCES contacts(id) ON DELETE CASCADE,
  lead_id     uuid REFERENCES leads(id) ON DELETE CASCADE,
  -- 'message' | 'stage_changed' | 'note' | 'appointment' | 'automation' | 'campaign' | 'score_changed' ...
  type        text NOT NULL,
  summary     text NOT NULL,
  data        jsonb NOT NULL DEFAULT '{}',
  actor       text,
  occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activities_lead ON activities (lead_id, occurred_at DESC, id);
CREATE INDEX activities_contact ON activities (contact_id, occurred_at DESC, id);

-- Transactional outbox of domain events (lead_captured, message.received, lead.scored ...):
-- written in the same transaction as the change, dispatched to subscribers through the queue.
CREATE TABLE domain_events (
  id            bigserial PRIMARY KEY,
  type          text NOT NULL,
  data          jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz
);
CREATE INDEX domain_events_pending ON domain_events (id) WHERE dispatched_at IS NULL;
