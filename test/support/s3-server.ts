/**
 * A small S3-compatible server for tests: path-style PUT/GET/HEAD/DELETE of
 * objects kept in memory. Every request must carry AWS SigV4 credentials for
 * the configured access key, either an `Authorization: AWS4-HMAC-SHA256 …`
 * header or presigned query parameters (whose expiry is enforced). Understands
 * `aws-chunked` uploads and `response-content-*` overrides on GET.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3Object {
  body: Buffer;
  contentType: string;
}

export interface TestS3Server {
  url: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Stored objects by key (without the bucket). */
  objects: Map<string, S3Object>;
  /** Method and path of every request, with whether it was authenticated. */
  requests: Array<{ method: string; path: string; authorized: boolean }>;
  /** Env vars pointing ECODrIx at this server. */
  env: Record<string, string>;
  close(): Promise<void>;
}

function xmlError(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

/** Decodes an `aws-chunked` body: `<hex size>;chunk-signature=…\r\n<data>\r\n` … `0;…\r\n` [trailers]. */
function decodeAwsChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new Error('bad aws-chunked body');
    const size = parseInt(raw.subarray(offset, lineEnd).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) throw new Error('bad aws-chunked size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

function amzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export async function startS3Server(options: { bucket?: string; accessKeyId?: string; secretAccessKey?: string } = {}): Promise<TestS3Server> {
  const bucket = options.bucket ?? 'ecodrix-test';
  const accessKeyId = options.accessKeyId ?? 'AKIATESTKEY000001';
  const secretAccessKey = options.secretAccessKey ?? 'test-secret-access-key-0123456789';
  const objects = new Map<string, S3Object>();
  const requests: TestS3Server['requests'] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://s3.local');
      const method = req.method ?? 'GET';
      const auth = req.headers.authorization ?? '';
      const presigned = url.searchParams.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256';
      let authorized = false;
      if (auth.startsWith('AWS4-HMAC-SHA256 ')) {
        authorized = auth.includes(`Credential=${accessKeyId}/`) && /SignedHeaders=[^,]+/.test(auth) && /Signature=[0-9a-f]{64}/.test(auth)
          && typeof req.headers['x-amz-date'] === 'string' && typeof req.headers['x-amz-content-sha256'] === 'string';
      } else if (presigned) {
        const credential = url.searchParams.get('X-Amz-Credential') ?? '';
        const signature = url.searchParams.get('X-Amz-Signature') ?? '';
        const issued = amzDate(url.searchParams.get('X-Amz-Date') ?? '');
        const expires = Number(url.searchParams.get('X-Amz-Expires'));
        if (credential.startsWith(`${accessKeyId}/`) && /^[0-9a-f]{64}$/.test(signature) && Number.isFinite(issued) && expires > 0) {
          if (Date.now() > issued + expires * 1000) {
            requests.push({ method, path: url.pathname, authorized: false });
            return xmlError(res, 403, 'AccessDenied', 'Request has expired');
          }
          authorized = true;
        }
      }
      requests.push({ method, path: url.pathname, authorized });
      if (!authorized) return xmlError(res, 403, 'AccessDenied', 'Missing or invalid AWS SigV4 credentials');
      const [, bucketName, ...rest] = url.pathname.split('/');
      if (bucketName !== bucket) return xmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
      const key = rest.map(decodeURIComponent).join('/');
      if (!key) return xmlError(res, 400, 'InvalidRequest', 'Bucket operations are not supported');
      const raw = Buffer.concat(chunks);
      if (method === 'PUT') {
        const chunked = String(req.headers['content-encoding'] ?? '').includes('aws-chunked')
          || String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
        const body = chunked ? decodeAwsChunked(raw) : raw;
        const declared = req.headers['x-amz-decoded-content-length'];
        if (declared !== undefined && Number(declared) !== body.length) return xmlError(res, 400, 'IncompleteBody', 'Body length mismatch');
        objects.set(key, { body, contentType: String(req.headers['content-type'] ?? 'application/octet-stream') });
        res.writeHead(200, { etag: `"${body.length.toString(16)}"` });
        return res.end();
      }
      if (method === 'GET' || method === 'HEAD') {
        const object = objects.get(key);
        if (!object) return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        const headers: Record<string, string | number> = {
          'content-type': url.searchParams.get('response-content-type') ?? object.contentType,
          'content-length': object.body.length,
          etag: `"${object.body.length.toString(16)}"`,
        };
        const disposition = url.searchParams.get('response-content-disposition');
        if (disposition) headers['content-disposition'] = disposition;
        res.writeHead(200, headers);
        return res.end(method === 'HEAD' ? undefined : object.body);
      }
      if (method === 'DELETE') {
        objects.delete(key);
        res.writeHead(204);
        return res.end();
      }
      return xmlError(res, 405, 'MethodNotAllowed', 'Method not allowed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, bucket, accessKeyId, secretAccessKey, objects, requests,
    env: {
      S3_BUCKET: bucket, S3_ENDPOINT: url, S3_REGION: 'us-east-1', S3_ACCESS_KEY_ID: accessKeyId,
      S3_SECRET_ACCESS_KEY: secretAccessKey, S3_FORCE_PATH_STYLE: 'true',
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
