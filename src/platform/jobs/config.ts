import type { EnvReader } from '../env-reader.ts';

/** Queue defaults (the original system's worker settings). */
export function readJobsConfig(env: EnvReader) {
  return {
    concurrency: env.int('JOB_CONCURRENCY', { default: 3, min: 1, max: 500, doc: 'Parallel jobs per queue per worker process (original default 3).' }),
    attempts: env.int('JOB_MAX_ATTEMPTS', { default: 3, min: 1, max: 100, doc: 'Attempts before a job is marked failed (original default 3).' }),
    backoffSeconds: env.int('JOB_BACKOFF_SECONDS', { default: 5, min: 1, max: 3600, doc: 'Base retry backoff, doubled each retry (5 s × 2ⁿ).' }),
    expireInSeconds: env.int('JOB_TIMEOUT_SECONDS', { default: 300, min: 5, max: 86_400, doc: 'An attempt running longer counts as failed and is retried (covers a worker that died mid-job).' }),
    heartbeatSeconds: env.int('JOB_HEARTBEAT_SECONDS', { default: 30, min: 10, max: 3600, doc: 'Running jobs refresh a heartbeat; one silent this long (its worker died) is failed and retried.' }),
    superviseSeconds: env.int('JOB_SUPERVISE_SECONDS', { default: 10, min: 1, max: 3600, doc: 'How often the queue looks for expired or heartbeat-less jobs to retry.' }),
    cronPassSeconds: env.int('JOB_CRON_PASS_SECONDS', {
      default: 30, min: 1, max: 45,
      doc: 'How often cron processes evaluate the schedules (one instance per interval runs the pass; a schedule fires at most once per one-minute slot whatever this is). Lower it only to make tests see slots sooner.',
    }),
    retentionDays: env.int('JOB_RETENTION_DAYS', { default: 14, min: 1, max: 365, doc: 'Days finished jobs stay visible in job history.' }),
  };
}
