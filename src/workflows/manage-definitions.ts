/**
 * Create, list, show, update, (de)activate and delete communication workflows
 * (`/api/saas/workflows`) and CRM automations (`/api/crm/automations`).
 * Automation actions are checked against the action registry (type known, config valid).
 */
import type pg from 'pg';
import { Value } from 'typebox/value';
import { AppError } from '../platform/errors.ts';
import type { OutboundPolicy } from '../platform/http/safe-fetch.ts';
import { actionTypes, findAction } from './actions/index.ts';
import { presentAutomation, presentWorkflow } from './present.ts';
import type { AutomationBody, WorkflowBody } from './schema.ts';
import {
  deleteWorkflow, findWorkflow, insertWorkflow, listWorkflows, updateWorkflow, type AutomationAction, type WorkflowKind, type WorkflowRow,
} from './workflows.repo.ts';

const NOT_FOUND: Record<WorkflowKind, string> = { workflow: 'Workflow not found', automation: 'Automation not found' };

function present(row: WorkflowRow) {
  return row.kind === 'workflow' ? presentWorkflow(row) : presentAutomation(row);
}

/** Checks each action's type and config (URLs against the outbound policy); @throws VALIDATION_FAILED naming the first bad action */
export function validateActions(actions: AutomationAction[], outbound: OutboundPolicy = {}): AutomationAction[] {
  return actions.map((action, i) => {
    const def = findAction(action.type);
    if (!def) throw new AppError('VALIDATION_FAILED', { message: `actions[${i}].type must be one of ${actionTypes().join(', ')}` });
    const config = action.config ?? {};
    if (!Value.Check(def.configSchema, config)) {
      const first = [...Value.Errors(def.configSchema, config)][0] as { instancePath?: string; message?: string } | undefined;
      throw new AppError('VALIDATION_FAILED', { message: `actions[${i}].config${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'} (${action.type})` });
    }
    const problem = def.checkConfig?.(config, { outbound });
    if (problem) throw new AppError('VALIDATION_FAILED', { message: `actions[${i}].config${problem} (${action.type})` });
    return { type: action.type, delayMinutes: action.delayMinutes ?? 0, config };
  });
}

export async function createWorkflowDefinition(db: pg.Pool, body: WorkflowBody) {
  return presentWorkflow(await insertWorkflow(db, 'workflow', { ...body, channel: body.channel ?? 'whatsapp' }));
}

export async function createAutomation(db: pg.Pool, body: AutomationBody, outbound: OutboundPolicy = {}) {
  const actions = validateActions(body.actions, outbound);
  return presentAutomation(await insertWorkflow(db, 'automation', { ...body, actions }));
}

export async function showDefinition(db: pg.Pool, kind: WorkflowKind, id: string) {
  const row = await findWorkflow(db, kind, id);
  if (!row) throw new AppError('NOT_FOUND', { message: NOT_FOUND[kind] });
  return present(row);
}

export async function listDefinitions(db: pg.Pool, kind: WorkflowKind, query: { trigger?: string; isActive?: boolean; limit: number; cursor?: string }) {
  let after: { createdAt: string; id: string } | undefined;
  if (query.cursor) {
    try {
      const [at, id] = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8')) as [string, string];
      after = { createdAt: at, id };
      if (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || typeof id !== 'string') throw new Error('bad');
    } catch {
      throw new AppError('BAD_REQUEST', { message: 'Invalid cursor: pass the nextCursor of a previous page' });
    }
  }
  const rows = await listWorkflows(db, kind, { ...query, limit: query.limit + 1, after });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const nextCursor = rows.length > query.limit && last ? Buffer.from(JSON.stringify([last.cursor_at, last.id])).toString('base64url') : null;
  return { items: page.map(present), nextCursor };
}

export async function updateDefinition(db: pg.Pool, kind: WorkflowKind, id: string, patch: Partial<WorkflowBody> & Partial<AutomationBody>, outbound: OutboundPolicy = {}) {
  const fields = { ...patch, actions: patch.actions ? validateActions(patch.actions, outbound) : undefined };
  const row = await updateWorkflow(db, kind, id, fields);
  if (!row) throw new AppError('NOT_FOUND', { message: NOT_FOUND[kind] });
  return present(row);
}

export async function setDefinitionActive(db: pg.Pool, kind: WorkflowKind, id: string, isActive: boolean) {
  return updateDefinition(db, kind, id, { isActive });
}

export async function removeDefinition(db: pg.Pool, kind: WorkflowKind, id: string) {
  if (!(await deleteWorkflow(db, kind, id))) throw new AppError('NOT_FOUND', { message: NOT_FOUND[kind] });
  return { deleted: true };
}
