/** Turns a campaign and one recipient into the message to send (personalised, tracked, with unsubscribe headers). */
import type { AppContext } from '../context.ts';
import type { OutgoingMail } from '../platform/mail/mailer.ts';
import type { CampaignRow } from './campaigns.repo.ts';
import { formatFrom, newMessageId, trackingLinks, type Sender } from './deliver.ts';
import { renderEmail } from './render.ts';

export interface ComposeTarget {
  /** Recipient row id (absent for test sends). */
  recipientId?: number;
  email: string;
  vars: Record<string, unknown>;
}

/** Message-ID of a campaign recipient: derived from ids, so it is known before the message is handed over. */
export function recipientMessageId(campaignId: string, recipientId: number, from: string): string {
  return newMessageId(from, `c${campaignId}.r${recipientId}`);
}

export function composeCampaignMessage(ctx: AppContext, clientId: string, campaign: CampaignRow, sender: Sender, target: ComposeTarget, options: { test?: boolean } = {}): OutgoingMail {
  const links = trackingLinks(ctx, { c: clientId, e: target.email, k: campaign.id, r: target.recipientId });
  const rendered = renderEmail({ subject: campaign.subject, html: campaign.html, text: campaign.text_body }, target.vars, {
    unsubscribeUrl: links.unsubscribeUrl,
    trackLink: campaign.track_clicks && !options.test ? links.trackLink : undefined,
    openPixelUrl: campaign.track_opens && !options.test ? links.openPixelUrl : undefined,
  });
  return {
    from: formatFrom(sender.from, campaign.from_name),
    to: target.email,
    replyTo: campaign.reply_to ?? undefined,
    subject: options.test ? `[TEST] ${rendered.subject}` : rendered.subject,
    html: rendered.html || undefined,
    text: rendered.text,
    messageId: target.recipientId !== undefined && !options.test ? recipientMessageId(campaign.id, target.recipientId, sender.from) : newMessageId(sender.from),
    headers: links.headers,
  };
}
