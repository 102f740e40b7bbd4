/**
 * The campaign sending engine, run by the `campaigns.send-campaign` job.
 *
 * Loop: lock the client's pace row, plan send slots, claim that many due
 * recipients with queued→sending (committed BEFORE any SMTP traffic), send
 * each at its slot through the client's pool, write all outcomes of the batch
 * in one statement, publish `campaign.progress`. The job runs for a bounded
 * time and then enqueues its continuation (key `campaign:<id>:run:<seq>`).
 *
 * At most once: a row is only ever sent by whoever moved it to `sending`.
 * After a crash, rows still `sending` past EMAIL_SENDING_LEASE_SECONDS are
 * marked `unknown` (may or may not have been delivered) and never re-sent
 * automatically; their Message-IDs are derived from the row ids, so they can
 * be traced in the provider's logs.
 */
import type pg from 'pg';
import type { AppContext } from '../context.ts';
import { withTransaction } from '../platform/db/pool.ts';
import { classifySmtpError, type SmtpFailure } from '../platform/mail/mailer.ts';
import { tenantDbById } from '../tenants/index.ts';
import { findCampaign, nextRunSeq, setCampaignStatus, type CampaignRow } from './campaigns.repo.ts';
import { composeCampaignMessage } from './compose-message.ts';
import { deliver, loadSender, type Sender } from './deliver.ts';
import {
  claimRecipients, countRecipients, markStaleSendingUnknown, materialiseRecipients, nextDeferredAt, writeOutcomes,
  type ClaimedRecipient, type RecipientOutcome,
} from './recipients.repo.ts';
import { commitSlots, nextUtcMidnight, pauseClientSending, planSlots } from './send-quota.ts';
import { addSuppression } from './suppressions.repo.ts';
import { sendCampaignJob } from './send-campaign.job.ts';

export interface RunCampaignOptions {
  /** Stop and enqueue a continuation after this long (default 50 s). */
  budgetMs?: number;
}

/** Enqueues the next runner job for a campaign (deterministic key per continuation). */
export async function continueCampaign(ctx: AppContext, db: pg.Pool, clientId: string, campaignId: string, startAfter?: Date): Promise<void> {
  const seq = await nextRunSeq(db, campaignId);
  await ctx.queue.enqueue(sendCampaignJob, { clientId, campaignId }, { key: `campaign:${campaignId}:run:${seq}`, startAfter });
}

/** Resolves after `ms`, or at once when `signal` aborts (its timer cleared, so a long wait that lost a race never lingers). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** Moves a due scheduled campaign to `sending`, materialising its recipients once. */
async function startIfDue(db: pg.Pool, campaignId: string): Promise<CampaignRow | undefined> {
  return withTransaction(db, async (tx) => {
    const campaign = await findCampaign(tx, campaignId, true);
    if (!campaign || campaign.status !== 'scheduled') return campaign;
    if (campaign.send_at && campaign.send_at.getTime() > Date.now()) return campaign;
    if (!campaign.materialised_at) {
      await materialiseRecipients(tx, campaignId, campaign.audience);
      await tx.query('UPDATE email_campaigns SET materialised_at = now(), started_at = coalesce(started_at, now()) WHERE id = $1', [campaignId]);
    }
    return setCampaignStatus(tx, campaignId, 'sending');
  });
}

export async function publishProgress(ctx: AppContext, db: pg.Pool, clientId: string, campaignId: string): Promise<void> {
  const [campaign, counts] = await Promise.all([findCampaign(db, campaignId), countRecipients(db, campaignId)]);
  if (!campaign) return;
  ctx.realtime.publish({ clientId, event: 'campaign.progress', payload: { campaignId, status: campaign.status, pauseReason: campaign.pause_reason, counts } });
}

/**
 * Buffers outcomes and writes them in small groups (at most `maxRows` or `delayMs` late),
 * so a crash loses at most a few milliseconds of results (those rows become `unknown`).
 */
class OutcomeWriter {
  private pending: SendOutcome[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private readonly flushGroup: (group: SendOutcome[]) => Promise<void>;

  constructor(flushGroup: (group: SendOutcome[]) => Promise<void>) {
    this.flushGroup = flushGroup;
  }

  add(outcome: SendOutcome): void {
    this.pending.push(outcome);
    if (this.pending.length >= 100) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 25);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const group = this.pending.splice(0);
    // Never leave a rejected promise around (an unhandled rejection would stop the process):
    // remember the first error; the runner rethrows it when it drains, and the rows stay `sending`.
    if (group.length) this.writing = this.writing.then(() => this.flushGroup(group)).catch((err: unknown) => { this.error ??= err; });
    return this.writing;
  }

  error: unknown;
}

/** Runs a campaign until it is done, paused, waiting, or out of time budget. */
export async function runCampaign(ctx: AppContext, clientId: string, campaignId: string, options: RunCampaignOptions = {}): Promise<void> {
  const db = await tenantDbById(ctx, clientId);
  const startedAt = Date.now();
  const budgetMs = options.budgetMs ?? 50_000;
  const mail = ctx.config.mail;
  let campaign = await startIfDue(db, campaignId);
  if (!campaign || campaign.status !== 'sending') return;
  const stale = await markStaleSendingUnknown(db, mail.sendingLeaseSeconds, campaignId);
  if (stale.length) ctx.logger.warn({ clientId, campaignId, recipients: stale[0].n }, 'campaign recipients left in sending by a stopped worker marked unknown (not re-sent)');
  const sender = await loadSender(ctx, clientId);
  await publishProgress(ctx, db, clientId, campaignId);

  // Up to `window` recipients are claimed-but-unfinished at any time (that bounds what a crash can leave `unknown`).
  const window = Math.max(2, mail.batchSize);
  const inflight = new Set<Promise<void>>();
  let stopped = false;
  let lastProgress = Date.now();
  let lastStatusCheck = 0;
  const writer = new OutcomeWriter(async (group) => {
    await writeOutcomes(db, group.map((o) => o.outcome));
    if (await applyConsequences(ctx, db, clientId, campaignId, group)) stopped = true;
  });
  const drain = async () => {
    await Promise.all(inflight);
    await writer.flush();
    if (writer.error) throw writer.error;
  };

  for (;;) {
    if (inflight.size > window / 2) {
      await Promise.race(inflight);
      continue;
    }
    if (Date.now() - lastProgress > 500) {
      lastProgress = Date.now();
      await publishProgress(ctx, db, clientId, campaignId);
    }
    if (Date.now() - lastStatusCheck > 200) {
      lastStatusCheck = Date.now();
      campaign = await findCampaign(db, campaignId);
    }
    if (stopped || !campaign || campaign.status !== 'sending') {
      await drain();
      await publishProgress(ctx, db, clientId, campaignId);
      return;
    }
    const limits = { perSecond: campaign.rate_per_second ?? mail.ratePerSecond, perDay: campaign.rate_per_day ?? mail.ratePerDay };
    const want = window - inflight.size;
    const batch = await withTransaction(db, async (tx) => {
      const plan = await planSlots(tx, want, limits, Math.min(1000, 1000 * window / Math.max(1, limits.perSecond)));
      if (plan.count === 0 && plan.waitUntil) return { waitUntil: plan.waitUntil, claimed: [] as ClaimedRecipient[], slots: [] as number[] };
      const claimed = await claimRecipients(tx, campaignId, plan.count);
      const slots = await commitSlots(tx, plan, claimed.filter((r) => r.status === 'sending').length);
      return { waitUntil: undefined, claimed, slots };
    });
    const outOfTime = Date.now() - startedAt > budgetMs;
    if (batch.waitUntil) {
      if (inflight.size > 0) {
        // waitUntil may be hours away (daily cap, provider quota): cancel the timer once a send finishes first.
        const raced = new AbortController();
        await Promise.race([...inflight, sleep(batch.waitUntil.getTime() - Date.now(), raced.signal)]);
        raced.abort();
        continue;
      }
      if (batch.waitUntil.getTime() - Date.now() <= 1500 && !outOfTime) {
        await sleep(batch.waitUntil.getTime() - Date.now());
        continue;
      }
      await drain();
      await continueCampaign(ctx, db, clientId, campaignId, batch.waitUntil);
      return;
    }
    if (batch.claimed.length === 0) {
      if (inflight.size > 0) {
        await Promise.race(inflight);
        continue;
      }
      await drain();
      const counts = await countRecipients(db, campaignId);
      if (counts.queued + counts.deferred + counts.sending === 0) {
        const finished = await db.query("UPDATE email_campaigns SET status = 'finished', finished_at = now(), updated_at = now() WHERE id = $1 AND status = 'sending'", [campaignId]);
        if (finished.rowCount) ctx.logger.info({ clientId, campaignId, sent: counts.sent, unknown: counts.unknown }, 'campaign finished');
        await publishProgress(ctx, db, clientId, campaignId);
        return;
      }
      if (counts.queued + counts.deferred > 0) {
        const at = (await nextDeferredAt(db, campaignId)) ?? new Date(Date.now() + 1000);
        if (at.getTime() - Date.now() <= 1500 && !outOfTime) {
          await sleep(at.getTime() - Date.now());
          continue;
        }
        await continueCampaign(ctx, db, clientId, campaignId, at);
        return;
      }
      // Only rows another runner is sending: it will finish the campaign (or, if it died, its retried job will).
      return;
    }
    const sending = batch.claimed.filter((r) => r.status === 'sending');
    sending.forEach((row, i) => {
      const task = sendOne(ctx, db, clientId, campaign!, sender, row, batch.slots[i]).then((o) => writer.add(o))
        .catch((err: Error) => ctx.logger.error({ clientId, campaignId, recipientId: row.id, err: err.message }, 'campaign send failed unexpectedly; the recipient stays sending (becomes unknown after the lease)'));
      inflight.add(task);
      void task.finally(() => inflight.delete(task));
    });
    if (outOfTime) {
      await drain();
      await continueCampaign(ctx, db, clientId, campaignId);
      return;
    }
  }
}

interface SendOutcome {
  outcome: RecipientOutcome;
  email: string;
  failure?: SmtpFailure;
}

async function sendOne(ctx: AppContext, db: pg.Pool, clientId: string, campaign: CampaignRow, sender: Sender, row: ClaimedRecipient, slot: number): Promise<SendOutcome> {
  const mail = ctx.config.mail;
  const message = composeCampaignMessage(ctx, clientId, campaign, sender, { recipientId: row.id, email: row.email, vars: row.vars });
  const wait = slot - Date.now();
  if (wait > 0) await sleep(wait);
  try {
    const result = await deliver(ctx, db, clientId, sender, message, { kind: 'campaign', campaignId: campaign.id });
    return { email: row.email, outcome: { id: row.id, status: 'sent', messageId: result.messageId, code: '250', error: null, attempt: 1, nextAttemptAt: null } };
  } catch (err) {
    const failure = classifySmtpError(err);
    const base = { id: row.id, messageId: message.messageId, code: failure.responseCode ? String(failure.responseCode) : failure.code, error: failure.reason };
    let outcome: RecipientOutcome;
    switch (failure.kind) {
      case 'transient': {
        const attempts = row.attempts + 1;
        outcome = attempts >= mail.maxAttempts
          ? { ...base, status: 'failed', attempt: 1, nextAttemptAt: null, error: `gave up after ${attempts} attempts: ${failure.reason}` }
          : { ...base, status: 'deferred', attempt: 1, nextAttemptAt: new Date(Date.now() + mail.retryBaseSeconds * 1000 * 3 ** (attempts - 1)) };
        break;
      }
      case 'uncertain': outcome = { ...base, status: 'unknown', attempt: 1, nextAttemptAt: null }; break;
      case 'bad_address': outcome = { ...base, status: 'bounced', attempt: 1, nextAttemptAt: null }; break;
      case 'policy': outcome = { ...base, status: 'failed', attempt: 1, nextAttemptAt: null }; break;
      // Not this recipient's fault: back to the queue, the attempt does not count.
      case 'auth': case 'quota': outcome = { ...base, status: 'queued', attempt: 0, nextAttemptAt: null }; break;
    }
    return { email: row.email, outcome, failure };
  }
}

/** Suppresses hard bounces; pauses the campaign on auth/TLS failures and the client on quota replies. @returns true when the campaign was paused */
async function applyConsequences(ctx: AppContext, db: pg.Pool, clientId: string, campaignId: string, outcomes: SendOutcome[]): Promise<boolean> {
  for (const o of outcomes) {
    if (o.outcome.status === 'bounced') await addSuppression(db, o.email, 'hard_bounce', `campaign:${campaignId}`);
  }
  const auth = outcomes.find((o) => o.failure?.kind === 'auth');
  if (auth) {
    await ctx.mailer.evict(clientId);
    const paused = await db.query("UPDATE email_campaigns SET status = 'paused', pause_reason = $2, updated_at = now() WHERE id = $1 AND status = 'sending'",
      [campaignId, `SMTP settings refused (${auth.failure!.code}): ${auth.failure!.reason}`.slice(0, 500)]);
    if (paused.rowCount) ctx.logger.warn({ clientId, campaignId, code: auth.failure!.code }, 'campaign paused: SMTP authentication/TLS failed');
    return true;
  }
  const quota = outcomes.find((o) => o.failure?.kind === 'quota');
  if (quota) {
    const until = nextUtcMidnight(Date.now());
    await pauseClientSending(db, until, `Provider sending limit reached: ${quota.failure!.reason}`);
    ctx.logger.warn({ clientId, campaignId, until }, 'client sending paused: provider quota reached');
    // Keep going: the next slot plan sees the pause and schedules the continuation for when it ends.
  }
  return false;
}
