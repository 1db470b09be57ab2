import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { providerVerifyOn } from './provider.js';
import { loadWorkerConfig } from './worker.js';

describe('loadWorkerConfig: the sweep of stale uploads', () => {
  it('sweeps hourly uploads older than 6 h by default', () => {
    expect(loadWorkerConfig({})).toMatchObject({ S3_SWEEP_INTERVAL_S: 3600, S3_STALE_UPLOAD_S: 21_600 });
  });

  it('refuses a stale age a running transfer could reach', () => {
    const load = () => loadWorkerConfig({ S3_STALE_UPLOAD_S: '1800', DOWNLOAD_MAX_DURATION_MS: '1800000' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/S3_STALE_UPLOAD_S.*must be longer than DOWNLOAD_MAX_DURATION_MS \(1800000 ms\)/);
    expect(loadWorkerConfig({ S3_STALE_UPLOAD_S: '1801' }).S3_STALE_UPLOAD_S).toBe(1801);
  });

  it('turns the sweep off with 0', () => {
    expect(loadWorkerConfig({ S3_SWEEP_INTERVAL_S: '0' }).S3_SWEEP_INTERVAL_S).toBe(0);
  });
});

describe('loadWorkerConfig: the provider API and the reconciler', () => {
  it('has the documented defaults, and no API key unless one is set', () => {
    const config = loadWorkerConfig({});
    expect(config).toMatchObject({
      PROVIDER_API_URL: 'https://api.kie.ai',
      PROVIDER_TIMEOUT_MS: 10_000,
      PROVIDER_RPS: 5,
      PROVIDER_BURST: 10,
      RECONCILE_AFTER_S: 1500,
      RECONCILE_INTERVAL_S: 300,
      RECONCILE_MAX_INTERVAL_S: 3600,
      RECONCILE_MAX_AGE_S: 259_200,
      RECONCILE_PASS_S: 30,
    });
    expect(config.PROVIDER_API_KEY).toBeUndefined();
    expect(loadWorkerConfig({ PROVIDER_API_URL: 'http://127.0.0.1:9/' }).PROVIDER_API_URL).toBe('http://127.0.0.1:9');
  });

  it('names the variable of a bad value', () => {
    expect(() => loadWorkerConfig({ PROVIDER_API_URL: 'ftp://x' })).toThrow(/PROVIDER_API_URL/);
    expect(() => loadWorkerConfig({ PROVIDER_RPS: '0' })).toThrow(/PROVIDER_RPS/);
    expect(() => loadWorkerConfig({ RECONCILE_INTERVAL_S: '600', RECONCILE_MAX_INTERVAL_S: '300' })).toThrow(
      /RECONCILE_MAX_INTERVAL_S: must be at least RECONCILE_INTERVAL_S \(600\)/,
    );
  });
});

describe('loadWorkerConfig: PROVIDER_VERIFY', () => {
  it('is on by default exactly when an API key is set, and can be turned off', () => {
    expect(providerVerifyOn(loadWorkerConfig({}))).toBe(false);
    expect(providerVerifyOn(loadWorkerConfig({ PROVIDER_API_KEY: 'sk-1' }))).toBe(true);
    expect(providerVerifyOn(loadWorkerConfig({ PROVIDER_API_KEY: 'sk-1', PROVIDER_VERIFY: 'false' }))).toBe(false);
    expect(providerVerifyOn(loadWorkerConfig({ PROVIDER_VERIFY: 'false' }))).toBe(false);
  });

  it('refuses true without a key, naming both variables', () => {
    const load = () => loadWorkerConfig({ PROVIDER_VERIFY: 'true' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/PROVIDER_VERIFY.*PROVIDER_API_KEY/);
    expect(() => loadWorkerConfig({ PROVIDER_VERIFY: 'maybe' })).toThrow(/PROVIDER_VERIFY/);
  });
});
