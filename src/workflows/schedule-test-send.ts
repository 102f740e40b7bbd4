/**
 * `npm run test:worker`: schedules one WhatsApp template send for a client, without any workflow
 * definition, as the original test CLI did; the running server's workers execute it. The job is a
 * normal workflow job (history, attempts, job.updated events).
 */
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { jobIdForKey } from '../platform/jobs/queue.ts';
import { findClientByCode, tenantDbById } from '../tenants/index.ts';
import { enqueueStep, queueJobIdFor } from './run-workflow-action.job.ts';
import { presentJob } from './present.ts';
import { findJob, insertJob } from './workflow-jobs.repo.ts';

/** The original README's sample variables (patient, doctor, time, meeting code). */
export const SAMPLE_VARIABLES = ['Dhanesh', 'Dr. Arjun', 'Monday 10AM', 'abc-xyz'];

export async function scheduleTestSend(ctx: AppContext, input: { clientCode: string; phone: string; template: string; language?: string; delaySeconds: number; variables?: string[] }) {
  const client = await findClientByCode(ctx.controlDb, input.clientCode);
  if (!client) throw new AppError('CLIENT_NOT_FOUND', { message: 'ClientCode not found' });
  if (!/^[1-9][0-9]{7,14}$/.test(input.phone)) throw new AppError('VALIDATION_FAILED', { message: 'phone must be E.164 digits without "+" (8-15 digits)' });
  const db = await tenantDbById(ctx, client.id);
  const dedupeKey = `test-worker|${randomUUID()}`;
  const id = jobIdForKey('workflow_jobs', `${client.id}|${dedupeKey}`);
  const runAt = new Date(Date.now() + input.delaySeconds * 1000);
  await insertJob(db, {
    id, dedupeKey, runId: id, step: 0, workflowId: null, workflowName: 'test:worker', actionType: 'send_whatsapp',
    actionConfig: { templateName: input.template, ...(input.language ? { language: input.language } : {}) },
    trigger: 'test_worker', phone: input.phone, variables: input.variables ?? SAMPLE_VARIABLES, conversationId: null, moduleId: null,
    baseTime: null, offsetMinutes: 0, runAt, status: 'pending', queueJobId: queueJobIdFor(client.id, { id, generation: 0 }),
    callbackUrl: null, callbackMetadata: null,
  });
  // Read before enqueueing: the job as scheduled (a worker may claim it the moment it is queued).
  const scheduled = presentJob((await findJob(db, id))!);
  await enqueueStep(ctx, client.id, { id, generation: 0, run_at: runAt });
  return { clientId: client.id, job: scheduled };
}

/** The job as the watcher sees it. */
export async function readTestJob(ctx: AppContext, clientId: string, id: string) {
  const row = await findJob(await tenantDbById(ctx, clientId), id);
  if (!row) throw new AppError('NOT_FOUND', { message: 'Job not found' });
  return presentJob(row);
}
