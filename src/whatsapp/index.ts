/** The WhatsApp domain: what other domains and the composition root may import. */
export { registerWhatsappInboundRoutes } from './inbound-routes.ts';
export { startWhatsappInbox, type InboxConsumer } from './inbound.ts';
export { applyRecordedStatuses as applyParkedStatuses } from './statuses.repo.ts';
export { STATUS_RANK, statusRank } from './status-rank.ts';
export { signBody } from './verify-signature.ts';
export { parseWebhookBody, type InboundChange, type InboundMessage, type InboundStatus } from './parse-inbound.ts';
export { listWebhookInbox, replayWebhook } from './manage-inbox.ts';
export { pruneInboxJob, PRUNE_INBOX_CRON } from './prune-inbox.job.ts';
export { presentMessage, presentConversation, type MessageView, type ConversationView } from './present.ts';
// Outbound (issue 4)
export { sendMessage, sendTemplateMessage, type SendMessageInput, type SendTemplateOptions } from './send-message.ts';
export { registerWhatsappOutboundRoutes } from './outbound-routes.ts';
export { sendMessageJob, reconcileSendJob } from './send-message.job.ts';
export { syncTemplatesJob } from './sync-templates.job.ts';
export { syncTemplates } from './sync-templates.ts';
