import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '../platform/crypto/keyring.ts';
import { eventIdFor } from './event-id.ts';
import { signState, verifyState } from './oauth-state.ts';

const keyring = new Keyring([{ id: 'k1', key: Buffer.alloc(32, 1) }], Buffer.alloc(32, 2));
const otherKeyring = new Keyring([{ id: 'k1', key: Buffer.alloc(32, 3) }], Buffer.alloc(32, 4));

test('a signed state verifies and carries client, nonce and expiry', () => {
  const { state, nonce } = signState(keyring, '42', 600);
  const check = verifyState(keyring, state);
  assert.ok(check.ok);
  assert.equal(check.state.clientId, '42');
  assert.equal(check.state.nonce, nonce);
});

test('tampered, foreign, expired and malformed states are refused', () => {
  const { state } = signState(keyring, '42', 600);
  const [payload, sig] = state.split('.');
  const swapped = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), c: '43' })).toString('base64url');
  assert.deepEqual(verifyState(keyring, `${swapped}.${sig}`), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(verifyState(otherKeyring, state), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(verifyState(keyring, signState(keyring, '42', 600, Date.now() - 601_000).state), { ok: false, reason: 'expired' });
  for (const bad of ['', 'abc', 'a.b.c', `${payload}.`]) assert.equal(verifyState(keyring, bad).ok, false);
});

test('event ids are deterministic base32hex, per client and key', () => {
  const id = eventIdFor('1', 'booking-1');
  assert.match(id, /^[a-v0-9]{52}$/);
  assert.equal(eventIdFor('1', 'booking-1'), id);
  assert.notEqual(eventIdFor('2', 'booking-1'), id);
  assert.notEqual(eventIdFor('1', 'booking-2'), id);
});
