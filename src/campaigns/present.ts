/** API shapes of campaigns and recipients. */
import type { CampaignRow } from './campaigns.repo.ts';
import type { RecipientCounts, RecipientRow } from './recipients.repo.ts';

export function presentCampaign(row: CampaignRow, counts?: RecipientCounts) {
  return {
    id: row.id,
    name: row.name,
    subject: row.subject,
    html: row.html,
    text: row.text_body,
    fromName: row.from_name,
    replyTo: row.reply_to,
    audience: row.audience,
    status: row.status,
    sendAt: row.send_at?.toISOString() ?? null,
    ratePerSecond: row.rate_per_second,
    ratePerDay: row.rate_per_day,
    trackOpens: row.track_opens,
    trackClicks: row.track_clicks,
    pauseReason: row.pause_reason,
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    ...(counts ? { counts } : {}),
  };
}

/** Delivery status plus engagement: a sent message that was opened/clicked/unsubscribed shows that. */
export function presentRecipient(row: RecipientRow) {
  const state = row.unsubscribed_at ? 'unsubscribed' : row.clicked_at ? 'clicked' : row.opened_at ? 'opened' : row.status;
  return {
    id: row.id,
    email: row.email,
    contactId: row.contact_id,
    status: row.status,
    state,
    attempts: row.attempts,
    messageId: row.message_id,
    lastCode: row.last_code,
    lastError: row.last_error,
    sentAt: row.sent_at?.toISOString() ?? null,
    openedAt: row.opened_at?.toISOString() ?? null,
    clickedAt: row.clicked_at?.toISOString() ?? null,
    unsubscribedAt: row.unsubscribed_at?.toISOString() ?? null,
  };
}
