/**
 * Offboarding steps run by `deleteClient` before the client's rows go: each domain that holds
 * something outside our databases for a client (e.g. a Google grant) releases it there.
 * The steps are listed in `src/offboarding.ts` (composition root, loaded lazily to avoid an
 * import cycle). A failing step never blocks the deletion: its outcome is logged, audited and
 * returned to the operator.
 */
import type { AppContext } from '../context.ts';

export interface OffboardingOutcome {
  /** Step name, e.g. `google.revoke`. */
  step: string;
  /** `done`: released; `none`: nothing to release; `failed`: not released (see error). */
  outcome: 'done' | 'none' | 'failed';
  /** Why it failed, safe to show (never a secret). */
  error?: string;
}

export interface OffboardingStep {
  name: string;
  run(ctx: AppContext, client: { id: string; code: string }): Promise<Omit<OffboardingOutcome, 'step'>>;
}

/** Runs every step; a throwing step counts as failed. */
export async function runOffboarding(ctx: AppContext, client: { id: string; code: string }, steps: readonly OffboardingStep[]): Promise<OffboardingOutcome[]> {
  const outcomes: OffboardingOutcome[] = [];
  for (const step of steps) {
    let result: Omit<OffboardingOutcome, 'step'>;
    try {
      result = await step.run(ctx, client);
    } catch (err) {
      result = { outcome: 'failed', error: (err as Error).message };
    }
    if (result.outcome === 'failed') ctx.logger.warn({ clientId: client.id, clientCode: client.code, step: step.name, err: result.error }, 'offboarding step failed; deleting the client anyway');
    outcomes.push({ step: step.name, ...result });
  }
  return outcomes;
}
