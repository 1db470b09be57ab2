import { describe, expect, it } from 'vitest';
import { expectedProviderSignature, verifyProviderSignature } from './provider-signature.js';

const now = 1_700_000_000_000;
const ts = String(now / 1000);
const base = { keys: ['k-new', 'k-old'], taskId: 'task-1', timestamp: ts, nowMs: now, toleranceS: 300 };

describe('verifyProviderSignature', () => {
  it('accepts base64 HMAC-SHA256 of "<task_id>.<timestamp>" with any listed key', () => {
    for (const key of base.keys) {
      expect(verifyProviderSignature({ ...base, signature: expectedProviderSignature(key, 'task-1', ts) })).toEqual({
        ok: true,
      });
    }
  });

  it('matches the documented construction', async () => {
    const { createHmac } = await import('node:crypto');
    const expected = createHmac('sha256', 'k-new').update(`task-1.${ts}`).digest('base64');
    expect(expectedProviderSignature('k-new', 'task-1', ts)).toBe(expected);
  });

  it.each([
    ['unknown key', { signature: expectedProviderSignature('k-other', 'task-1', ts) }, 'signature does not match'],
    ['other task', { signature: expectedProviderSignature('k-new', 'task-2', ts) }, 'signature does not match'],
    ['missing signature', { signature: undefined }, 'missing X-Webhook-Signature or X-Webhook-Timestamp'],
    ['non-numeric timestamp', { timestamp: '12abc', signature: 'x' }, 'X-Webhook-Timestamp is not Unix seconds'],
    [
      'stale timestamp',
      {
        timestamp: String(now / 1000 - 301),
        signature: expectedProviderSignature('k-new', 'task-1', String(now / 1000 - 301)),
      },
      'X-Webhook-Timestamp outside the tolerance',
    ],
    ['no task id', { taskId: undefined, signature: 'x' }, 'no task id to verify the signature against'],
  ])('rejects %s', (_name, patch, reason) => {
    const input = { ...base, signature: undefined as string | undefined };
    expect(verifyProviderSignature(Object.assign(input, patch))).toEqual({ ok: false, reason });
  });

  it('accepts a timestamp exactly at the tolerance edge', () => {
    const edge = String(now / 1000 - 300);
    expect(
      verifyProviderSignature({
        ...base,
        timestamp: edge,
        signature: expectedProviderSignature('k-old', 'task-1', edge),
      }).ok,
    ).toBe(true);
  });
});
