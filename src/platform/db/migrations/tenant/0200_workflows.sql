-- Workflows domain: communication workflows and CRM automations (one table, `kind` tells them apart),
-- and the history of every scheduled action ("workflow jobs") with its attempts.
CREATE TABLE workflows (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- 'workflow' (communication workflow: one WhatsApp template) | 'automation' (ordered actions)
  kind           text NOT NULL,
  name           text NOT NULL,
  trigger        text NOT NULL,
  -- communication workflows: 'whatsapp'
  channel        text,
  template_name  text,
  language       text,
  delay_minutes  int NOT NULL DEFAULT 0,
  trigger_config jsonb NOT NULL DEFAULT '{}',
  -- automations: [{ type, delayMinutes, config }]
  actions        jsonb NOT NULL DEFAULT '[]',
  is_active      boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_trigger ON workflows (trigger) WHERE is_active;
CREATE INDEX workflows_kind ON workflows (kind, created_at DESC, id DESC);

-- One row per scheduled action. `id` is also the queue job id (derived from `dedupe_key`),
-- so a repeated trigger finds the existing row and enqueues nothing.
CREATE TABLE workflow_jobs (
  id                uuid PRIMARY KEY,
  dedupe_key        text NOT NULL UNIQUE,
  -- all actions created by one trigger call for one workflow share a run id
  run_id            uuid NOT NULL,
  step              int NOT NULL DEFAULT 0,
  workflow_id       uuid REFERENCES workflows(id) ON DELETE SET NULL,
  workflow_name     text NOT NULL,
  action_type       text NOT NULL,
  action_config     jsonb NOT NULL DEFAULT '{}',
  trigger           text NOT NULL,
  phone             text,
  variables         jsonb NOT NULL DEFAULT '[]',
  -- outputs of earlier steps of the same run (meetCode, meetUrl ...)
  vars              jsonb NOT NULL DEFAULT '{}',
  conversation_id   text,
  module_id         text,
  base_time         timestamptz,
  offset_minutes    int NOT NULL DEFAULT 0,
  run_at            timestamptz NOT NULL,
  -- 'pending' | 'processing' | 'completed' | 'failed' | 'skipped' | 'cancelled'
  status            text NOT NULL DEFAULT 'pending',
  -- bumped when the job is rescheduled; the queue job id is derived from (id, generation)
  generation        int NOT NULL DEFAULT 0,
  queue_job_id      text,
  attempts          int NOT NULL DEFAULT 0,
  last_error        text,
  output            jsonb,
  callback_url      text,
  callback_metadata jsonb,
  -- 'pending' | 'delivered' | 'failed' | null (no callback)
  callback_status   text,
  callback_attempts int NOT NULL DEFAULT 0,
  callback_error    text,
  started_at        timestamptz,
  finished_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_jobs_list ON workflow_jobs (created_at DESC, id DESC);
CREATE INDEX workflow_jobs_status ON workflow_jobs (status, run_at);
CREATE INDEX workflow_jobs_module ON workflow_jobs (module_id) WHERE module_id IS NOT NULL;
CREATE INDEX workflow_jobs_run ON workflow_jobs (run_id, step);

CREATE TABLE workflow_job_attempts (
  job_id      uuid NOT NULL REFERENCES workflow_jobs(id) ON DELETE CASCADE,
  attempt     int NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  -- 'running' | 'succeeded' | 'failed'
  outcome     text NOT NULL DEFAULT 'running',
  error       text,
  output      jsonb,
  PRIMARY KEY (job_id, attempt)
);
