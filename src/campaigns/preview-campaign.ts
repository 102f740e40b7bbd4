/** Preview (render for a sample lead of the audience or a chosen contact) and test sends. */
import type pg from 'pg';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { classifySmtpError } from '../platform/mail/mailer.ts';
import { composeCampaignMessage } from './compose-message.ts';
import { requireCampaign } from './create-campaign.ts';
import { deliver, loadSender } from './deliver.ts';
import { contactVars, sampleAudience, type AudienceMember } from './recipients.repo.ts';
import { findSuppression } from './suppressions.repo.ts';

async function sampleFor(db: pg.Pool, campaignAudience: Parameters<typeof sampleAudience>[1], contactId?: string): Promise<{ count: number; sample?: AudienceMember }> {
  if (contactId) {
    const member = await contactVars(db, contactId);
    if (!member) throw new AppError('NOT_FOUND', { message: 'Contact not found' });
    const { count } = await sampleAudience(db, campaignAudience);
    return { count, sample: member };
  }
  return sampleAudience(db, campaignAudience);
}

export async function previewCampaign(ctx: AppContext, clientId: string, db: pg.Pool, id: string, options: { contactId?: string }) {
  const campaign = await requireCampaign(db, id);
  const { count, sample } = await sampleFor(db, campaign.audience, options.contactId);
  const sender = await loadSender(ctx, clientId);
  const target = sample ?? { contact_id: null, email: 'preview@example.com', vars: {} };
  const message = composeCampaignMessage(ctx, clientId, campaign, sender, { email: target.email, vars: target.vars }, { test: true });
  return {
    audienceCount: count,
    sample: { contactId: target.contact_id, email: target.email },
    from: message.from,
    subject: message.subject.replace(/^\[TEST\] /, ''),
    html: message.html ?? null,
    text: message.text ?? '',
    headers: message.headers ?? {},
    sandbox: !sender.smtp,
  };
}

/** Sends the campaign rendered for a sample lead to test addresses; touches no recipient rows or counters. */
export async function testSendCampaign(ctx: AppContext, clientId: string, db: pg.Pool, id: string, input: { to: string[]; contactId?: string }) {
  const campaign = await requireCampaign(db, id);
  const { sample } = await sampleFor(db, campaign.audience, input.contactId);
  const sender = await loadSender(ctx, clientId);
  const results = [];
  for (const raw of input.to) {
    const to = raw.trim().toLowerCase();
    if (await findSuppression(db, to)) {
      results.push({ to, status: 'suppressed' as const, messageId: null, error: 'address is on the suppression list' });
      continue;
    }
    const message = composeCampaignMessage(ctx, clientId, campaign, sender, { email: to, vars: sample?.vars ?? { email: to } }, { test: true });
    try {
      const sent = await deliver(ctx, db, clientId, sender, message, { kind: 'test', campaignId: id });
      results.push({ to, status: 'sent' as const, messageId: sent.messageId, error: null });
    } catch (err) {
      const failure = classifySmtpError(err);
      results.push({ to, status: 'failed' as const, messageId: null, error: `${failure.code}: ${failure.reason}` });
    }
  }
  return { results, sandbox: !sender.smtp };
}
