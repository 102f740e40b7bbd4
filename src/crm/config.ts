/** CRM settings: phone normalisation, first-contact SLA, scoring and reminder schedules. */
import type { EnvReader } from '../platform/env-reader.ts';

export function readCrmConfig(env: EnvReader) {
  return {
    defaultCountryCode: env.str('CRM_DEFAULT_COUNTRY_CODE', {
      default: '91',
      doc: 'Calling code prepended to national phone numbers (no + or 00) when contacts are created or imported. Changing it only affects numbers written afterwards.',
    }),
    importMaxRows: env.int('CRM_IMPORT_MAX_ROWS', {
      default: 200_000, min: 1,
      doc: 'Most data rows one CSV import may hold (the import is streamed, so this bounds time, not memory).',
    }),
    slaMinutes: env.int('CRM_FIRST_CONTACT_SLA_MINUTES', {
      default: 15, min: 1, max: 10_080,
      doc: 'First-contact window: a lead with no outbound message or logged contact this long after it was created is flagged (lead.sla_breached).',
    }),
    searchProbeLimit: env.int('CRM_SEARCH_PROBE_LIMIT', {
      default: 1000, min: 1, max: 100_000,
      doc: 'List search: when at most this many contacts match, a page is sorted from exactly those; above it the term counts as common and the list walks its sort index instead.',
    }),
    scoringBatchSize: env.int('CRM_SCORING_BATCH_SIZE', {
      default: 5000, min: 100, max: 100_000,
      doc: 'Leads recalculated per SQL statement in bulk recalculations (progress is saved after each batch).',
    }),
    remindersHorizonHours: env.int('CRM_REMINDERS_HORIZON_HOURS', {
      default: 48, min: 1, max: 720,
      doc: 'The reminders sweep schedules reminders of appointments starting within this many hours.',
    }),
  };
}

export type CrmConfig = ReturnType<typeof readCrmConfig>;
