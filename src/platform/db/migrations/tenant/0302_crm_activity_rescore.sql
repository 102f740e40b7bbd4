-- Scores follow WhatsApp activity within a minute: the sweep rescored leads whose messages
-- changed (new, or status moved) since its watermark.
CREATE INDEX messages_updated_at ON messages (updated_at);
ALTER TABLE crm_settings ADD COLUMN activity_rescored_at timestamptz;
