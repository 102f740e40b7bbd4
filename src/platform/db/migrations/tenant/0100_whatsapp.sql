-- WhatsApp conversations, messages, status history and templates (shared by inbound and outbound).
CREATE TABLE conversations (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  contact_id       uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  -- the business number (Meta phone_number_id) the conversation runs on
  phone_number_id  text,
  -- 'open' | 'closed'
  status           text NOT NULL DEFAULT 'open',
  assigned_to      text,
  -- last inbound message time: opens the 24-hour customer service window
  last_inbound_at  timestamptz,
  last_message_at  timestamptz,
  last_message_preview text,
  unread_count     int NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- One conversation per contact and business number.
CREATE UNIQUE INDEX conversations_contact_number ON conversations (contact_id, coalesce(phone_number_id, ''));
CREATE INDEX conversations_activity ON conversations (last_message_at DESC NULLS LAST, id DESC);

CREATE TABLE messages (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id  uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  contact_id       uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  -- 'inbound' | 'outbound'
  direction        text NOT NULL,
  -- WhatsApp message id (wamid); null for an outbound message not yet accepted by Meta
  wa_message_id    text,
  -- text, image, video, audio, document, sticker, location, contacts, interactive, button,
  -- order, system, referral, reaction, template, unsupported
  type             text NOT NULL,
  -- plain text for search and previews (body, caption, button title ...)
  text             text,
  -- typed model of the content (see whatsapp/parse-inbound.ts and send schemas)
  content          jsonb NOT NULL DEFAULT '{}',
  -- Meta's payload as received (inbound) or sent (outbound)
  raw              jsonb,
  -- the message this one replies to (context.id)
  reply_to_wa_id   text,
  is_forwarded     boolean NOT NULL DEFAULT false,
  -- outbound: queued < sent < delivered < read < played; failed is final. inbound: received
  status           text NOT NULL,
  status_rank      int NOT NULL DEFAULT 0,
  error            jsonb,
  -- reactions on this message: { "<wa_id or 'business'>": "👍" }
  reactions        jsonb NOT NULL DEFAULT '{}',
  -- media: Meta media id, then archived copy
  media_id         text,
  media_status     text,
  media_storage_key text,
  media_mime_type  text,
  media_size       bigint,
  media_sha256     text,
  media_filename   text,
  -- outbound idempotency key (client supplied or generated)
  idempotency_key  text,
  sent_by          text,
  wa_timestamp     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messages_wa_id ON messages (wa_message_id) WHERE wa_message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_idempotency ON messages (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_conversation ON messages (conversation_id, created_at DESC, id DESC);

-- Every status event from Meta, kept with its timestamp, pricing and errors.
CREATE TABLE message_status_events (
  id            bigserial PRIMARY KEY,
  wa_message_id text NOT NULL,
  status        text NOT NULL,
  wa_timestamp  timestamptz,
  recipient_id  text,
  pricing       jsonb,
  conversation  jsonb,
  errors        jsonb,
  raw           jsonb NOT NULL,
  -- false while the message it refers to is not known yet (applied when it appears)
  applied       boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (wa_message_id, status)
);
CREATE INDEX message_status_events_pending ON message_status_events (wa_message_id) WHERE NOT applied;

CREATE TABLE whatsapp_templates (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  wa_template_id text,
  name          text NOT NULL,
  language      text NOT NULL,
  -- APPROVED, PENDING, REJECTED, PAUSED, DISABLED, DELETED ...
  status        text NOT NULL,
  category      text,
  components    jsonb NOT NULL DEFAULT '[]',
  -- number of {{n}} parameters per component, derived at sync
  parameter_counts jsonb NOT NULL DEFAULT '{}',
  rejected_reason text,
  synced_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz,
  UNIQUE (name, language)
);

-- Errors Meta reports at the value level (value.errors), kept for the client.
CREATE TABLE whatsapp_errors (
  id         bigserial PRIMARY KEY,
  code       int,
  title      text,
  message    text,
  details    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
