/**
 * `campaigns.send-campaign`: one run of a campaign's sending loop (see
 * run-campaign.ts). Jobs carry ids only. A run whose worker died is retried by
 * the queue (heartbeat); the retried run marks the dead run's in-flight
 * recipients `unknown` instead of sending them again.
 */
import type { AppContext } from '../context.ts';
import { defineJob } from '../platform/jobs/queue.ts';
import { runCampaign } from './run-campaign.ts';

export interface SendCampaignData {
  clientId: string;
  campaignId: string;
}

export const sendCampaignJob = defineJob<SendCampaignData, AppContext>({
  name: 'campaigns.send-campaign',
  concurrency: 4,
  retry: { attempts: 10, backoffSeconds: 5, expireInSeconds: 300 },
  handler: async (data, ctx) => {
    await runCampaign(ctx, data.clientId, data.campaignId);
  },
});
