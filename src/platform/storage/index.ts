/** Builds the configured object storage (see storage.ts). */
import path from 'node:path';
import type { StorageConfig } from './config.ts';
import { LocalStorage } from './local-storage.ts';
import { S3Storage } from './s3-storage.ts';
import type { ObjectStorage } from './storage.ts';

export type { ObjectStorage, StoredObject } from './storage.ts';
export { LocalStorage } from './local-storage.ts';
export { S3Storage } from './s3-storage.ts';
export { contentDisposition } from './storage.ts';

/** Path prefix of the route that serves local files by signed token. */
export const LOCAL_FILES_PATH = '/api/saas/media/files/';

export function createStorage(config: StorageConfig, options: { dataDir: string; tokenSecret: Buffer }): ObjectStorage {
  if (config.driver === 's3' && config.s3) return new S3Storage(config.s3);
  return new LocalStorage({ root: path.join(options.dataDir, 'media'), tokenSecret: options.tokenSecret, urlPrefix: LOCAL_FILES_PATH });
}
