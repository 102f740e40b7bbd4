/** Pure outbound rules: pacing buckets, template parameter counting and checks, payload building. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildGraphPayload, normaliseContent, normalisePhone } from './message-content.ts';
import { checkTemplateParameters, parameterCounts } from './template-rules.ts';
import { SendThrottle } from './throttle.ts';

test('the per-number bucket allows the rate per second, then spaces sends evenly', () => {
  const t = new SendThrottle({ ratePerSecond: 80, pairBurst: 1000, pairIntervalMs: 0 });
  const now = 1_000_000;
  const waits = Array.from({ length: 100 }, () => t.reserve('n1', undefined, now));
  assert.equal(waits.filter((w) => w === 0).length, 80);
  assert.equal(waits[80], 13); // 1000/80 = 12.5 ms per extra send
  assert.equal(waits[99], 250);
  assert.equal(t.reserve('n2', undefined, now), 0, 'numbers are independent');
  assert.equal(t.reserve('n1', undefined, now + 2000), 0, 'the bucket refills');
});

test('the pair bucket allows a burst to one recipient, then one per interval, others unaffected', () => {
  const t = new SendThrottle({ ratePerSecond: 1000, pairBurst: 3, pairIntervalMs: 6000 });
  const now = 5_000_000;
  assert.deepEqual([1, 2, 3].map(() => t.reserve('n', '1555', now)), [0, 0, 0]);
  assert.equal(t.reserve('n', '1555', now), 6000);
  assert.equal(t.reserve('n', '1666', now), 0);
});

test('pacing never promises more than the rate over any window (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }), (rate, gaps) => {
    const t = new SendThrottle({ ratePerSecond: rate, pairBurst: 1, pairIntervalMs: 0 });
    let now = 0;
    const sendTimes = gaps.map((gap) => {
      now += gap;
      return now + t.reserve('n', undefined, now);
    }).sort((a, b) => a - b);
    // In any 1-second window at most rate + burst(=rate) sends.
    for (let i = 0; i < sendTimes.length; i++) {
      let j = i;
      while (j < sendTimes.length && sendTimes[j] < sendTimes[i] + 1000) j++;
      if (j - i > 2 * rate) return false;
    }
    return true;
  }));
});

test('parameter counts are derived from positional and named templates', () => {
  const counts = parameterCounts([
    { type: 'HEADER', format: 'IMAGE' },
    { type: 'BODY', text: 'Olá {{1}}! Pedido {{2}} em {{3}}, {{1}}.' },
    { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'x' }, { type: 'URL', url: 'https://x.example/{{1}}' }] },
  ]);
  assert.deepEqual(counts, { body: 3, header: { format: 'IMAGE', count: 1 }, buttons: { 0: { type: 'QUICK_REPLY', count: 0 }, 1: { type: 'URL', count: 1 } } });
  const named = parameterCounts([{ type: 'BODY', text: 'Hi {{first_name}}, code {{code}}' }]);
  assert.deepEqual(named.bodyNames, ['first_name', 'code']);
  assert.throws(() => checkTemplateParameters('t', counts, [{ type: 'body', parameters: [{ type: 'text', text: 'a' }] }]), /expects 3 body parameter\(s\), got 1/);
  assert.throws(() => checkTemplateParameters('t', counts, [
    { type: 'body', parameters: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'image', image: {} }] },
  ]), /body parameter 3 has type image/);
  assert.throws(() => checkTemplateParameters('t', counts, [
    { type: 'header', parameters: [{ type: 'image', image: { link: 'https://x' } }] },
    { type: 'body', parameters: [{ type: 'text', text: 'a' }, { type: 'currency', currency: {} }, { type: 'date_time', date_time: {} }] },
  ]), /URL button 1 needs its 1 parameter/);
});

test('phone numbers are normalised to E.164 digits or refused', () => {
  assert.equal(normalisePhone('+1 (555) 000-0001'), '15550000001');
  for (const bad of ['', '+', '0123456789', '12345', '1234567890123456', '15550000001x']) assert.throws(() => normalisePhone(bad), /to:/);
});

test('the Graph payload carries our callback id, the reply context and uploaded media ids', () => {
  const content = normaliseContent({ type: 'image', image: { data: Buffer.from('x').toString('base64'), mimeType: 'image/png', caption: 'c' } });
  const payload = buildGraphPayload({ messageId: 'm1', content: { to: '1555', type: 'image', body: content.body }, replyToWaId: 'wamid.Q', mediaId: '123' });
  assert.deepEqual(payload, {
    messaging_product: 'whatsapp', recipient_type: 'individual', to: '1555', type: 'image',
    biz_opaque_callback_data: 'ecodrix:msg:m1', image: { id: '123', caption: 'c' }, context: { message_id: 'wamid.Q' },
  });
  const reaction = buildGraphPayload({ messageId: 'm2', content: { to: '1555', type: 'reaction', body: { messageId: 'x', waMessageId: 'wamid.R', emoji: '👍' } }, replyToWaId: 'wamid.Q', mediaId: null });
  assert.deepEqual(reaction.reaction, { message_id: 'wamid.R', emoji: '👍' });
  assert.equal(reaction.context, undefined, 'reactions cannot quote');
});
