/** The workflows domain: trigger API, definitions, job history, callbacks, domain-event dispatch. Other domains import from here only. */
export { triggerWorkflows, refreshModuleVariables, type TriggerInput, type TriggerResult, type TriggeredJob } from './trigger-workflows.ts';
export { TRIGGER_EVENTS, isTriggerEvent, type TriggerEvent } from './triggers.ts';
export type { ActionDefinition, ActionInput, ActionResult } from './actions/registry.ts';
export { ActionWaiting } from './actions/registry.ts';
export { runWorkflowActionJob } from './run-workflow-action.job.ts';
export { recordFailedActionJob } from './record-failed-action.job.ts';
export { deliverCallbackJob } from './deliver-callback.job.ts';
export { registerWorkflowRoutes } from './routes.ts';
export { dispatchEventsJob, enqueueDispatch, dispatchDomainEvents, domainEventsNotifier } from './dispatch-events.job.ts';
export { sweepEventsJob, sweepDomainEvents } from './sweep-events.job.ts';
export { automationsSubscriber } from './automations-subscriber.ts';
export { jobStats, listQueueJobs, stuckJobs, showQueueJob, retryQueueJob, cancelQueueJob, killQueueJob, QUEUE_STATES, type QueueState, type QueueJobView } from './admin-jobs.ts';
export { scheduleTestSend, readTestJob, SAMPLE_VARIABLES } from './schedule-test-send.ts';
