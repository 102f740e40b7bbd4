-- Per-client CRM settings (null: the server default from configuration).
CREATE TABLE crm_settings (
  id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
  first_contact_sla_minutes int CHECK (first_contact_sla_minutes > 0),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
INSERT INTO crm_settings DEFAULT VALUES;
