/** Every offboarding step run when a client is deleted, in order (see OffboardingStep in tenants/offboarding.ts). */
import type { OffboardingStep } from './tenants/offboarding.ts';
import { revokeGoogleOnOffboarding } from './meet/index.ts';

export const offboardingSteps: OffboardingStep[] = [
  revokeGoogleOnOffboarding,
];
