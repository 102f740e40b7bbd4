import type { EnvReader } from '../platform/env-reader.ts';

/** Workflow trigger and callback settings. */
export function readWorkflowsConfig(env: EnvReader) {
  return {
    lateGraceSeconds: env.int('WORKFLOW_LATE_GRACE_SECONDS', {
      default: 60, min: 0, max: 86_400,
      doc: 'A scheduled action whose run time passed more than this long ago is recorded as skipped instead of sent late (e.g. a reminder for an appointment booked 30 minutes ahead).',
    }),
    callbackAttempts: env.int('WORKFLOW_CALLBACK_ATTEMPTS', {
      default: 6, min: 1, max: 50,
      doc: 'Delivery attempts of a signed callback (PUT callbackUrl) before it is recorded as failed; retried with exponential backoff (JOB_BACKOFF_SECONDS × 2ⁿ).',
    }),
  };
}
