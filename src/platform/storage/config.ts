/** Object storage settings: local disk under DATA_DIR unless S3_BUCKET is set. */
import type { EnvReader } from '../env-reader.ts';

export function readStorageConfig(env: EnvReader) {
  const bucket = env.str('S3_BUCKET', { doc: 'Bucket for archived media. Set it (with the keys) to store in S3/R2/MinIO; unset: local disk under DATA_DIR/media.' });
  const endpoint = env.url('S3_ENDPOINT', { doc: 'S3-compatible endpoint, e.g. https://<account>.r2.cloudflarestorage.com or http://minio:9000. Unset: AWS S3.' });
  const region = env.str('S3_REGION', { default: 'auto', doc: 'Region (R2 uses "auto"; AWS needs the bucket\'s region).' });
  const accessKeyId = env.str('S3_ACCESS_KEY_ID', { secret: true, doc: 'Access key id for S3_BUCKET.' });
  const secretAccessKey = env.str('S3_SECRET_ACCESS_KEY', { secret: true, doc: 'Secret access key for S3_BUCKET.' });
  const forcePathStyle = env.bool('S3_FORCE_PATH_STYLE', { default: false, doc: 'Use path-style URLs (endpoint/bucket/key); MinIO and most self-hosted servers need true.' });
  const prefix = env.str('S3_PREFIX', { default: '', doc: 'Key prefix inside the bucket (e.g. "ecodrix/"), so a bucket can be shared.' });
  const requestTimeoutMs = env.int('S3_REQUEST_TIMEOUT_MS', { default: 60_000, min: 1000, max: 600_000, doc: 'Timeout of one storage request.' });
  if (bucket && (!accessKeyId || !secretAccessKey)) env.fail('S3_BUCKET is set: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are required too');
  if (prefix && !/^([A-Za-z0-9._-]+\/)+$/.test(prefix)) env.fail('S3_PREFIX must be path segments ending with "/" (letters, digits, . _ -)');
  return {
    driver: bucket && accessKeyId && secretAccessKey ? 's3' as const : 'local' as const,
    s3: bucket && accessKeyId && secretAccessKey
      ? { bucket, endpoint, region, accessKeyId, secretAccessKey, forcePathStyle, prefix, requestTimeoutMs }
      : undefined,
  };
}

export type StorageConfig = ReturnType<typeof readStorageConfig>;
