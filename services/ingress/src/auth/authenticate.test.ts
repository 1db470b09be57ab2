import { describe, expect, it } from 'vitest';
import { addressMatcher } from './address-matcher.js';
import { type AuthPolicy, authenticate } from './authenticate.js';
import { expectedProviderSignature } from './provider-signature.js';

const nowMs = 1_700_000_000_000;
const ts = String(nowMs / 1000);
const none: AuthPolicy = {
  hmacKeys: [],
  webhookSecrets: [],
  pathToken: undefined,
  allowedIps: null,
  toleranceS: 300,
  disabled: false,
};
const request = {
  sourceIp: '203.0.113.1',
  pathToken: undefined,
  headers: {},
  rawBody: Buffer.from('{}'),
  taskId: 't1',
  nowMs,
};
const signed = { 'x-webhook-timestamp': ts, 'x-webhook-signature': expectedProviderSignature('key', 't1', ts) };

describe('authenticate', () => {
  it('refuses everything when nothing is configured and auth is not disabled', () => {
    expect(authenticate(none, request)).toEqual({ ok: false, reason: 'no authentication configured' });
  });
  it('accepts everything, marked "none", only when disabled', () => {
    expect(authenticate({ ...none, disabled: true }, request)).toEqual({ ok: true, methods: ['none'] });
  });
  it('requires every configured mode: IP and signature together', () => {
    const policy = { ...none, hmacKeys: ['key'], allowedIps: addressMatcher(['203.0.113.0/24']) };
    expect(authenticate(policy, { ...request, headers: signed })).toEqual({
      ok: true,
      methods: ['ip_allowlist', 'provider_hmac'],
      providerSignature: { timestamp: Number(signed['x-webhook-timestamp']), value: signed['x-webhook-signature'] },
    });
    expect(authenticate(policy, { ...request, headers: {} })).toEqual({ ok: false, reason: 'signature required' });
    expect(authenticate(policy, { ...request, sourceIp: '192.0.2.1', headers: signed })).toEqual({
      ok: false,
      reason: 'source address not allowed',
    });
  });
  it('checks the path token when one is configured', () => {
    const policy = { ...none, pathToken: 'secret-token-123456' };
    expect(authenticate(policy, { ...request, pathToken: 'secret-token-123456' }).ok).toBe(true);
    expect(authenticate(policy, { ...request, pathToken: 'secret-token-12345' })).toEqual({
      ok: false,
      reason: 'wrong path token',
    });
  });
  it('ignores provider headers when only Standard Webhooks secrets are configured', () => {
    const policy = { ...none, webhookSecrets: ['whsec_c2VjcmV0'] };
    expect(authenticate(policy, { ...request, headers: signed })).toEqual({ ok: false, reason: 'signature required' });
  });
});
