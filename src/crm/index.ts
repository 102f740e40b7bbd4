/** The CRM domain: contacts, leads, pipelines, timeline, scoring, SLA, appointments. Other domains import from here only. */
export { registerCrmRoutes } from './routes.ts';
export { readCrmConfig, type CrmConfig } from './config.ts';
