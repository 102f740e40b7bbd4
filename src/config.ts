/**
 * All configuration, parsed once at boot. Each section lives with its owner
 * (platform here; integrations in their folders) and is combined below, so
 * every problem in every section is reported at once.
 */
import { EnvReader, ConfigError } from './platform/env-reader.ts';
import { readPlatformConfig } from './platform/config.ts';
import { readJobsConfig } from './platform/jobs/config.ts';
import { readOutboundConfig } from './platform/http/outbound-config.ts';
import { readWorkflowsConfig } from './workflows/config.ts';
import { readWhatsappConfig } from './whatsapp/config.ts';
import { readGoogleConfig } from './meet/config.ts';
import { readMailConfig } from './campaigns/config.ts';
import { readStorageConfig } from './platform/storage/config.ts';
import { readMediaConfig } from './media/config.ts';
import { readRealtimeConfig } from './realtime/config.ts';
import { readCrmConfig } from './crm/config.ts';
import packageJson from '../package.json' with { type: 'json' };

function readAll(env: EnvReader) {
  const platform = readPlatformConfig(env);
  return {
    version: packageJson.version,
    ...platform,
    jobs: readJobsConfig(env),
    crm: readCrmConfig(env),
    outbound: readOutboundConfig(env, platform.nodeEnv),
    workflows: readWorkflowsConfig(env),
    whatsapp: readWhatsappConfig(env),
    google: readGoogleConfig(env),
    mail: readMailConfig(env),
    storage: readStorageConfig(env),
    media: readMediaConfig(env),
    realtime: readRealtimeConfig(env),
  };
}

export type AppConfig = ReturnType<typeof readAll>;

/** Parses `env`; throws ConfigError listing every problem. */
export function parseConfig(env: Record<string, string | undefined>): AppConfig {
  const reader = new EnvReader(env);
  const config = readAll(reader);
  if (reader.errors.length) throw new ConfigError(reader.errors);
  return config;
}

/** Every documented variable (for `.env.example` and `ecodrix doctor`). */
export function documentedVariables() {
  const reader = new EnvReader({});
  readAll(reader);
  return reader.documented;
}
