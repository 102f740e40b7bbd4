/** The WhatsApp domain: what other domains and the composition root may import. */
// Outbound (issue 4)
export { sendMessage, sendTemplateMessage, type SendMessageInput, type SendTemplateOptions } from './send-message.ts';
export { registerWhatsappOutboundRoutes } from './outbound-routes.ts';
export { sendMessageJob, reconcileSendJob } from './send-message.job.ts';
export { syncTemplatesJob } from './sync-templates.job.ts';
export { syncTemplates } from './sync-templates.ts';
