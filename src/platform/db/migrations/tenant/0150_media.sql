-- Media archiving (media domain, range 0150-0199): the archived original of a re-encoded image,
-- why a download failed, and when the copy was stored. media_status: pending | stored | failed | unavailable.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS media_original_key text;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS media_error text;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS media_stored_at timestamptz;
