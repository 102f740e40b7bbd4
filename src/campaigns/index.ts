/** The email domain: campaigns over each client's SMTP, suppression, tracking, sandbox mail. Other domains import from here only. */
export { registerCampaignRoutes } from './routes.ts';
export { sendCampaignJob } from './send-campaign.job.ts';
export { sendEmailAction } from './send-email.action.ts';
export { sendTransactionalEmail, type SendTransactionalInput } from './send-transactional.ts';
export { readMailConfig, type MailConfig } from './config.ts';
export { verifySmtp } from './verify-smtp.ts';
