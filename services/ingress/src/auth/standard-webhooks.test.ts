import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signStandardWebhook, verifyStandardWebhook } from './standard-webhooks.js';

// The reference implementation of the spec (the `standardwebhooks` package) is the yardstick:
// on every well-formed body the two must agree. The relay still verifies with its own code,
// because the package decodes a Buffer payload to a string before hashing (the flaw shown in
// the last test), fixes the tolerance at 300 s and reads the wall clock.

const secret = `whsec_${Buffer.from('reference-implementation-secret-32').toString('base64')}`;
const nowMs = Date.now();
const timestamp = String(Math.floor(nowMs / 1000));

function ours(body: Buffer, signatureHeader: string) {
  return verifyStandardWebhook({
    secrets: [secret],
    id: 'msg_1',
    timestamp,
    signatureHeader,
    rawBody: body,
    nowMs,
    toleranceS: 300,
  });
}

describe('Standard Webhooks, against the reference implementation', () => {
  const bodies = [
    '{"code":200,"msg":"All generated successfully.","data":{"task_id":"t1"}}',
    '{"code":400,"msg":"生成失败：内容违规","data":{"task_id":"t2"}}',
    '{"emoji":"🎬","nested":{"a":[1,2,3]}}',
  ];

  it.each(bodies)('a signature made by the reference verifies here: %s', (text) => {
    const signature = new Webhook(secret).sign('msg_1', new Date(nowMs), text);
    expect(ours(Buffer.from(text), signature)).toEqual({ ok: true });
  });

  it.each(bodies)('a signature made here verifies with the reference: %s', (text) => {
    const signature = signStandardWebhook(secret, 'msg_1', timestamp, Buffer.from(text));
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': timestamp, 'webhook-signature': signature };
    expect(() => new Webhook(secret).verify(text, headers)).not.toThrow();
  });

  it('bytes that are not UTF-8: ours signs and checks the bytes; the reference checks a decoded string', () => {
    const bytes = Buffer.concat([Buffer.from('{"msg":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const other = Buffer.from(bytes.toString('utf8')); // U+FFFD twice: other bytes, same decoded text
    expect(other.equals(bytes)).toBe(false);
    const signature = signStandardWebhook(secret, 'msg_1', timestamp, bytes);
    expect(ours(bytes, signature)).toEqual({ ok: true });
    expect(ours(other, signature).ok).toBe(false);
    // The reference accepts the other bytes under a signature over the decoded text.
    const decoded = new Webhook(secret).sign('msg_1', new Date(nowMs), bytes);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': timestamp, 'webhook-signature': decoded };
    expect(() => new Webhook(secret).verify(other, headers, { jsonParse: false })).not.toThrow();
  });
});
