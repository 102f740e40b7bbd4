/** Starts the inbox consumer of the worker role with the configured policy. */
import type { AppContext } from '../context.ts';
import { startInboxConsumer, type InboxConsumer } from './inbox-consumer.ts';

export type { InboxConsumer };

export function startWhatsappInbox(ctx: AppContext): Promise<InboxConsumer> {
  const c = ctx.config.whatsapp;
  return startInboxConsumer(ctx, {
    loops: c.inboxConsumerLoops,
    batchSize: c.inboxBatchSize,
    maxAttempts: c.inboxMaxAttempts,
    retryBaseMs: c.inboxRetryBaseMs,
    leaseSeconds: c.inboxLeaseSeconds,
    pollMs: c.inboxPollMs,
  });
}
