/** The CRM domain: contacts, leads, pipelines, timeline, scoring, SLA, appointments. Other domains import from here only. */
export { registerCrmRoutes } from './routes.ts';
export { readCrmConfig, type CrmConfig } from './config.ts';
export { nightlyScoringJob, enqueueScoreRecalculations } from './scoring/nightly-scoring.job.ts';
export { recalculateClientScoresJob } from './scoring/recalculate-client-scores.job.ts';
export { recalculateClientScores } from './scoring/recalculate-client.ts';
export { scoreOnEventSubscriber } from './scoring/score-on-event.ts';
export { appointmentMeetingSubscriber } from './appointments/meeting-settled.ts';
export { checkFirstContactSlaJob } from './sla/check-first-contact-sla.job.ts';
export { scheduleAppointmentRemindersJob } from './appointments/schedule-appointment-reminders.job.ts';
export { rescoreRecentActivityJob } from './scoring/rescore-recent-activity.job.ts';
