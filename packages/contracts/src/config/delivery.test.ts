import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { loadDashboardConfig } from './dashboard.js';
import { deliveryBackoffCapMs } from './delivery.js';
import { loadWorkerConfig } from './worker.js';

const SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

describe('delivery settings', () => {
  it('has no env endpoint, https and public addresses only, 15 attempts by default', () => {
    expect(loadWorkerConfig({}).DELIVERY_URL).toBeUndefined();
    expect(loadWorkerConfig({})).toMatchObject({
      DELIVERY_ALLOW_PRIVATE: false,
      DELIVERY_ALLOW_HTTP: false,
      DELIVERY_TIMEOUT_MS: 15_000,
      DELIVERY_ATTEMPTS: 15,
      DELIVERY_BACKOFF_MS: 10_000,
      DELIVERY_LINK_TTL_S: 86_400,
    });
  });

  it('spreads the default retries over about a day', () => {
    // Expected span: half the sum of the caps (uniform draws below each cap).
    let caps = 0;
    for (let retry = 1; retry < 15; retry += 1) caps += deliveryBackoffCapMs(retry, 10_000);
    expect(caps / 2 / 3_600_000).toBeGreaterThan(20);
    expect(caps / 2 / 3_600_000).toBeLessThan(26);
  });

  it('takes an env endpoint with a whsec_ secret', () => {
    const config = loadWorkerConfig({ DELIVERY_URL: 'https://app.example.com/hooks', DELIVERY_SECRET: SECRET });
    expect(config.DELIVERY_SECRET).toBe(SECRET);
  });

  it.each([
    [
      { DELIVERY_URL: 'https://app.example.com/hooks' },
      /DELIVERY_SECRET: DELIVERY_URL and DELIVERY_SECRET go together/,
    ],
    [{ DELIVERY_SECRET: SECRET }, /DELIVERY_URL: DELIVERY_URL and DELIVERY_SECRET go together/],
    [{ DELIVERY_URL: 'https://a.example.com/', DELIVERY_SECRET: 'hunter2' }, /DELIVERY_SECRET: must be whsec_/],
    [{ DELIVERY_URL: 'http://a.example.com/', DELIVERY_SECRET: SECRET }, /DELIVERY_URL: must be https/],
    [{ DELIVERY_URL: 'ftp://a.example.com/', DELIVERY_SECRET: SECRET }, /DELIVERY_URL/],
    [{ DELIVERY_ATTEMPTS: '30', DELIVERY_BACKOFF_MS: '60000' }, /DELIVERY_LOG_RETENTION_S: must exceed/],
  ])('refuses %j', (env, message) => {
    expect(() => loadWorkerConfig(env)).toThrow(ConfigError);
    expect(() => loadWorkerConfig(env)).toThrow(message);
  });

  it('accepts plain http with DELIVERY_ALLOW_HTTP, and the dashboard reads the same settings', () => {
    const env = { DELIVERY_URL: 'http://127.0.0.1:8080/h', DELIVERY_SECRET: SECRET, DELIVERY_ALLOW_HTTP: 'true' };
    expect(loadWorkerConfig(env).DELIVERY_URL).toBe('http://127.0.0.1:8080/h');
    expect(loadDashboardConfig({ ...env, NODE_ENV: 'development' }).DELIVERY_ALLOW_HTTP).toBe(true);
    expect(() => loadDashboardConfig({ DELIVERY_URL: env.DELIVERY_URL, NODE_ENV: 'development' })).toThrow(
      /DELIVERY_SECRET/,
    );
  });
});
