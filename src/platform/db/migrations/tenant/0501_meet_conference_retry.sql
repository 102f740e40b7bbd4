-- A failed Meet conference is asked for again once with a new request id; remember that it was.
ALTER TABLE meetings ADD COLUMN conference_retried boolean NOT NULL DEFAULT false;
