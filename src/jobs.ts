/**
 * Every job and cron schedule, in one typed list. Each domain exports its job
 * definitions (one file per job); add them here.
 */
import type { AppContext } from './context.ts';
import type { JobDefinition } from './platform/jobs/queue.ts';
import { deliverCallbackJob, dispatchEventsJob, recordFailedActionJob, runWorkflowActionJob, sweepEventsJob } from './workflows/index.ts';
import { downloadMediaJob, sweepPendingMediaJob, SWEEP_PENDING_MEDIA_CRON } from './media/index.ts';
import { checkConferenceJob, syncAppointmentMeetingJob } from './meet/index.ts';
import { pruneInboxJob, PRUNE_INBOX_CRON, reconcileSendJob, sendMessageJob, syncTemplatesJob } from './whatsapp/index.ts';
import { sendCampaignJob } from './campaigns/index.ts';
import { checkFirstContactSlaJob, nightlyScoringJob, recalculateClientScoresJob, rescoreRecentActivityJob, scheduleAppointmentRemindersJob } from './crm/index.ts';

export const jobDefinitions: JobDefinition<any, AppContext>[] = [
  runWorkflowActionJob,
  recordFailedActionJob,
  deliverCallbackJob,
  dispatchEventsJob,
  sweepEventsJob,
  downloadMediaJob,
  sweepPendingMediaJob,
  checkConferenceJob,
  syncAppointmentMeetingJob,
  sendMessageJob,
  reconcileSendJob,
  syncTemplatesJob,
  pruneInboxJob,
  sendCampaignJob,
  nightlyScoringJob,
  recalculateClientScoresJob,
  checkFirstContactSlaJob,
  scheduleAppointmentRemindersJob,
  rescoreRecentActivityJob,
];

/** Cron schedules: [job, cron expression (UTC)]. Each tick runs once across all instances. */
export const cronSchedules: Array<[JobDefinition<any, AppContext>, string]> = [
  [sweepEventsJob, '* * * * *'],
  [syncTemplatesJob, '17 3 * * *'],
  [pruneInboxJob, PRUNE_INBOX_CRON],
  [sweepPendingMediaJob, SWEEP_PENDING_MEDIA_CRON],
  [nightlyScoringJob, '30 2 * * *'],
  [checkFirstContactSlaJob, '* * * * *'],
  [scheduleAppointmentRemindersJob, '* * * * *'],
  [rescoreRecentActivityJob, '* * * * *'],
];
