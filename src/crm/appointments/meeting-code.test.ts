import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meetingCodeOf } from './notify-workflows.ts';

test('the confirmation template gets the Meet code (the original fourth variable), not the whole link', () => {
  assert.equal(meetingCodeOf('https://meet.google.com/abc-defg-hij'), 'abc-defg-hij');
  assert.equal(meetingCodeOf('https://meet.google.com/abc-defg-hij?authuser=0'), 'abc-defg-hij');
  assert.equal(meetingCodeOf('https://zoom.us/j/123'), null, 'other links stay links');
  assert.equal(meetingCodeOf('https://meet.google.com.evil.example/abc-defg-hij'), null);
  assert.equal(meetingCodeOf(null), null);
});
