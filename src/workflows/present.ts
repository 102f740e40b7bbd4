/** Public shapes of workflow definitions and jobs. */
import type { WorkflowJobRow } from './workflow-jobs.repo.ts';
import type { WorkflowRow } from './workflows.repo.ts';

export function presentWorkflow(row: WorkflowRow) {
  return {
    id: row.id,
    name: row.name,
    trigger: row.trigger,
    channel: row.channel ?? 'whatsapp',
    templateName: row.template_name ?? '',
    language: row.language,
    delayMinutes: row.delay_minutes,
    isActive: row.is_active,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function presentAutomation(row: WorkflowRow) {
  return {
    id: row.id,
    name: row.name,
    trigger: row.trigger,
    triggerConfig: row.trigger_config,
    actions: row.actions,
    isActive: row.is_active,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function presentJob(row: WorkflowJobRow) {
  return {
    id: row.id,
    workflow: row.workflow_name,
    workflowId: row.workflow_id,
    runId: row.run_id,
    step: row.step,
    action: row.action_type,
    trigger: row.trigger,
    phone: row.phone,
    status: row.status,
    runAt: row.run_at.toISOString(),
    attempts: row.attempts,
    lastError: row.last_error,
    output: row.output,
    metadata: row.callback_metadata,
    callback: row.callback_url ? { status: row.callback_status, attempts: row.callback_attempts, error: row.callback_error } : null,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
  };
}
export type JobView = ReturnType<typeof presentJob>;
