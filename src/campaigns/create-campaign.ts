/** Create and edit campaigns (editable until sending starts). */
import type pg from 'pg';
import { AppError } from '../platform/errors.ts';
import { findCampaign, insertCampaign, updateCampaignFields, type CampaignFields, type CampaignRow } from './campaigns.repo.ts';
import { validateTemplates } from './render.ts';

function check(fields: CampaignFields): void {
  validateTemplates({ subject: fields.subject, html: fields.html, text: fields.text });
  if (!fields.html && !fields.text) throw new AppError('VALIDATION_FAILED', { message: 'A campaign needs html or text' });
  const a = fields.audience;
  if (a.type === 'list' && !(a.contactIds?.length || a.emails?.length)) throw new AppError('VALIDATION_FAILED', { message: 'A list audience needs contactIds or emails' });
  if (a.type === 'filter' && a.scoreMin !== undefined && a.scoreMax !== undefined && a.scoreMin > a.scoreMax) {
    throw new AppError('VALIDATION_FAILED', { message: 'audience.scoreMin must not exceed scoreMax' });
  }
}

/** A list audience may only name this client's own contacts (another client's ids are refused, not stored). */
async function checkContacts(db: pg.Pool, audience: CampaignFields['audience']): Promise<void> {
  if (audience.type !== 'list' || !audience.contactIds?.length) return;
  const wanted = [...new Set(audience.contactIds.map((id) => id.toLowerCase()))];
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts WHERE id = ANY($1::uuid[])', [wanted]);
  if (rows[0].n !== wanted.length) throw new AppError('CONTACT_NOT_FOUND', { message: `${wanted.length - rows[0].n} of audience.contactIds are not contacts of this client` });
}

export async function createCampaign(db: pg.Pool, fields: CampaignFields): Promise<CampaignRow> {
  check(fields);
  await checkContacts(db, fields.audience);
  return insertCampaign(db, fields);
}

export async function requireCampaign(db: pg.Pool, id: string): Promise<CampaignRow> {
  const campaign = await findCampaign(db, id);
  if (!campaign) throw new AppError('CAMPAIGN_NOT_FOUND', { message: 'Campaign not found' });
  return campaign;
}

/** Replaces the editable fields (merged with the current ones); only before recipients exist. */
export async function editCampaign(db: pg.Pool, id: string, patch: Partial<CampaignFields>): Promise<CampaignRow> {
  const current = await requireCampaign(db, id);
  if (!['draft', 'scheduled', 'paused'].includes(current.status) || current.materialised_at && (patch.audience !== undefined)) {
    throw new AppError('CAMPAIGN_STATE_CONFLICT', { message: `A ${current.status} campaign cannot be edited${current.materialised_at ? ' (its audience is fixed once sending started)' : ''}` });
  }
  const fields: CampaignFields = {
    name: patch.name ?? current.name,
    subject: patch.subject ?? current.subject,
    html: patch.html ?? current.html,
    text: patch.text ?? current.text_body,
    fromName: patch.fromName !== undefined ? patch.fromName : current.from_name,
    replyTo: patch.replyTo !== undefined ? patch.replyTo : current.reply_to,
    audience: patch.audience ?? current.audience,
    ratePerSecond: patch.ratePerSecond !== undefined ? patch.ratePerSecond : current.rate_per_second,
    ratePerDay: patch.ratePerDay !== undefined ? patch.ratePerDay : current.rate_per_day,
    trackOpens: patch.trackOpens ?? current.track_opens,
    trackClicks: patch.trackClicks ?? current.track_clicks,
  };
  check(fields);
  if (patch.audience !== undefined) await checkContacts(db, fields.audience);
  return updateCampaignFields(db, id, fields);
}
