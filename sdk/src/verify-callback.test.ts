import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { CallbackVerificationError, signCallback, verifyCallback } from './index.ts';

const body = JSON.stringify({ status: 'completed', metadata: { moduleId: 'appt_1', moduleType: 'Appointment', reminderKey: '1h' }, jobId: 'j1', trigger: 'appointment_reminder', result: {} });
const now = 1_800_000_000_000;
const ts = Math.floor(now / 1000);

/** Computed independently of the SDK, straight from the Standard Webhooks spec. */
function reference(key: Buffer, id: string, timestamp: number, payload: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${payload}`).digest('base64')}`;
}

test('a plain secret signs with its UTF-8 bytes and verifies', () => {
  const secret = 'a3f9c2e1b4d5a6f7a8b9c0d1e2f3a4b5';
  const signature = reference(Buffer.from(secret, 'utf8'), 'msg_1', ts, body);
  assert.equal(signCallback(secret, 'msg_1', ts, body), signature);
  const payload = verifyCallback({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature }, body, secret, { now });
  assert.equal(payload.metadata.moduleId, 'appt_1');
});

test('a whsec_ secret signs with its base64-decoded bytes', () => {
  const raw = randomBytes(32);
  const secret = `whsec_${raw.toString('base64')}`;
  const signature = reference(raw, 'msg_2', ts, body);
  const headers = new Headers({ 'webhook-id': 'msg_2', 'webhook-timestamp': String(ts), 'webhook-signature': `v1,bm90LXRoaXMtb25l ${signature}` });
  assert.equal(verifyCallback(headers, Buffer.from(body), secret, { now }).status, 'completed');
});

test('forgeries, replays and malformed headers are rejected', () => {
  const secret = 'shared-secret-123';
  const good = { 'webhook-id': 'msg_3', 'webhook-timestamp': String(ts), 'webhook-signature': signCallback(secret, 'msg_3', ts, body) };
  assert.throws(() => verifyCallback(good, body.replace('completed', 'failed'), secret, { now }), CallbackVerificationError, 'tampered body');
  assert.throws(() => verifyCallback(good, body, 'other-secret', { now }), /HMAC mismatch/, 'wrong secret');
  assert.throws(() => verifyCallback({ ...good, 'webhook-id': 'msg_4' }, body, secret, { now }), CallbackVerificationError, 'id is signed');
  assert.throws(() => verifyCallback(good, body, secret, { now: now + 301_000 }), /tolerance/, 'stale timestamp');
  assert.throws(() => verifyCallback({ ...good, 'webhook-timestamp': 'soon' }, body, secret, { now }), /invalid webhook-timestamp/);
  assert.throws(() => verifyCallback({ 'webhook-id': 'x' }, body, secret, { now }), /missing/);
  assert.throws(() => verifyCallback({ ...good, 'webhook-signature': 'v2,abc' }, body, secret, { now }), /HMAC mismatch/);
});
