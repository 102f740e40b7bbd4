/** Schedule / send now, pause, resume and cancel. Each transition is checked under a row lock. */
import type pg from 'pg';
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { AppError } from '../platform/errors.ts';
import { findCampaign, setCampaignStatus, type CampaignRow, type CampaignStatus } from './campaigns.repo.ts';
import { continueCampaign, publishProgress } from './run-campaign.ts';

async function transition(db: pg.Pool, id: string, allowed: CampaignStatus[], fn: (tx: pg.PoolClient, c: CampaignRow) => Promise<CampaignRow>): Promise<CampaignRow> {
  return withTransaction(db, async (tx) => {
    const campaign = await findCampaign(tx, id, true);
    if (!campaign) throw new AppError('CAMPAIGN_NOT_FOUND', { message: 'Campaign not found' });
    if (!allowed.includes(campaign.status)) {
      throw new AppError('CAMPAIGN_STATE_CONFLICT', { message: `Campaign is ${campaign.status}; this needs it to be ${allowed.join(' or ')}` });
    }
    return fn(tx, campaign);
  });
}

/** Schedules at `sendAt` (UTC) or now; recipients are materialised when it starts. */
export async function scheduleCampaign(ctx: AppContext, clientId: string, db: pg.Pool, id: string, sendAt?: Date): Promise<CampaignRow> {
  const at = sendAt && sendAt.getTime() > Date.now() ? sendAt : new Date();
  const row = await transition(db, id, ['draft', 'scheduled'], (tx) => setCampaignStatus(tx, id, 'scheduled', { sendAt: at }));
  await continueCampaign(ctx, db, clientId, id, at.getTime() > Date.now() ? at : undefined);
  return row;
}

export async function pauseCampaign(ctx: AppContext, clientId: string, db: pg.Pool, id: string): Promise<CampaignRow> {
  const row = await transition(db, id, ['scheduled', 'sending'], (tx) => setCampaignStatus(tx, id, 'paused', { pauseReason: 'paused by the client' }));
  await publishProgress(ctx, db, clientId, id);
  return row;
}

export async function resumeCampaign(ctx: AppContext, clientId: string, db: pg.Pool, id: string): Promise<CampaignRow> {
  const row = await transition(db, id, ['paused'], (tx, c) => setCampaignStatus(tx, id, c.materialised_at ? 'sending' : 'scheduled'));
  await continueCampaign(ctx, db, clientId, id, row.status === 'scheduled' && row.send_at && row.send_at.getTime() > Date.now() ? row.send_at : undefined);
  await publishProgress(ctx, db, clientId, id);
  return row;
}

/** Cancels; recipients not yet sent become `cancelled` (rows being sent right now finish). */
export async function cancelCampaign(ctx: AppContext, clientId: string, db: pg.Pool, id: string): Promise<CampaignRow> {
  const row = await transition(db, id, ['draft', 'scheduled', 'sending', 'paused'], async (tx) => {
    await tx.query("UPDATE email_recipients SET status = 'cancelled', updated_at = now() WHERE campaign_id = $1 AND status IN ('queued', 'deferred')", [id]);
    return setCampaignStatus(tx, id, 'cancelled');
  });
  await publishProgress(ctx, db, clientId, id);
  return row;
}
