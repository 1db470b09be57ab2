import { configProblems } from '@runway-relay/testkit/config-problems';
import { describe, expect, it } from 'vitest';
import { CALLBACK_PATH_TOKEN_MAX_LENGTH, loadIngressConfig } from './ingress.js';

const INGRESS = { CALLBACK_HMAC_KEYS: 'k' };

const problems = (env: Record<string, string>) => configProblems(() => loadIngressConfig({ ...INGRESS, ...env }));

describe('CALLBACK_PATH_TOKEN', () => {
  it('accepts 16 to CALLBACK_PATH_TOKEN_MAX_LENGTH URL-safe characters', () => {
    expect(CALLBACK_PATH_TOKEN_MAX_LENGTH).toBe(128);
    for (const token of ['a'.repeat(16), 'A1._~-'.repeat(20).slice(0, 128), 'f'.repeat(64)]) {
      expect(problems({ CALLBACK_PATH_TOKEN: token }), token).toEqual([]);
    }
  });

  it('refuses a token longer than the router accepts in a path segment, or with other characters', () => {
    // Before: a 200-character token passed here and every callback to its path was answered 414.
    expect(problems({ CALLBACK_PATH_TOKEN: 'a'.repeat(200) })).toEqual([
      expect.stringMatching(/^CALLBACK_PATH_TOKEN: must be at most 128 characters/),
    ]);
    for (const token of [
      `${'a'.repeat(16)}/b`,
      `${'a'.repeat(16)}+b=`,
      `${'a'.repeat(16)}%20`,
      `${'a'.repeat(16)} b`,
    ]) {
      expect(problems({ CALLBACK_PATH_TOKEN: token }), token).toEqual([
        expect.stringMatching(/^CALLBACK_PATH_TOKEN: only letters, digits and - \. _ ~/),
      ]);
    }
    expect(problems({ CALLBACK_PATH_TOKEN: 'short' })).toEqual([
      expect.stringMatching(/^CALLBACK_PATH_TOKEN: must be at least 16 characters/),
    ]);
  });
});

describe('slow-client limits', () => {
  it('default to 10 s per request, 5 s for headers, 5 s idle keep-alive, 256 sockets per address', () => {
    const config = loadIngressConfig(INGRESS);
    expect(config).toMatchObject({
      INGRESS_REQUEST_TIMEOUT_MS: 10_000,
      INGRESS_HEADERS_TIMEOUT_MS: 5_000,
      INGRESS_KEEP_ALIVE_TIMEOUT_MS: 5_000,
      INGRESS_IDLE_TIMEOUT_MS: 30_000,
      INGRESS_MAX_CONNECTIONS_PER_IP: 256,
      INGRESS_MAX_CONNECTIONS: 1000,
    });
  });

  it('keep the headers timeout within the request timeout and the idle timeout above it', () => {
    expect(problems({ INGRESS_HEADERS_TIMEOUT_MS: '20000' })).toEqual([
      expect.stringMatching(/^INGRESS_HEADERS_TIMEOUT_MS: must not exceed INGRESS_REQUEST_TIMEOUT_MS \(10000\)/),
    ]);
    expect(problems({ INGRESS_IDLE_TIMEOUT_MS: '5000' })).toEqual([
      expect.stringMatching(/^INGRESS_IDLE_TIMEOUT_MS: must be at least INGRESS_REQUEST_TIMEOUT_MS \(10000\)/),
    ]);
    expect(problems({ INGRESS_REQUEST_TIMEOUT_MS: '500' })).toContainEqual(
      expect.stringMatching(/^INGRESS_REQUEST_TIMEOUT_MS: /),
    );
    expect(problems({ INGRESS_MAX_CONNECTIONS_PER_IP: '0', INGRESS_MAX_CONNECTIONS: '0' })).toEqual([]);
  });
});

describe('INGRESS_OPS_HOST / INGRESS_OPS_PORT', () => {
  it('default to 0.0.0.0:9465, apart from the public port', () => {
    expect(loadIngressConfig(INGRESS)).toMatchObject({ INGRESS_OPS_HOST: '0.0.0.0', INGRESS_OPS_PORT: 9465 });
    expect(problems({ INGRESS_PORT: '9465' })).toEqual([
      expect.stringMatching(/^INGRESS_OPS_PORT: must differ from INGRESS_PORT/),
    ]);
    // Port 0 twice is fine: each listener gets its own free port.
    expect(problems({ INGRESS_PORT: '0', INGRESS_OPS_PORT: '0' })).toEqual([]);
  });
});
