import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { loadDashboardConfig } from './dashboard.js';
import { registryTtlSeconds } from './provider.js';

const base = { NODE_ENV: 'development' };

describe('loadDashboardConfig: the registration API', () => {
  it('reads the provider API, the reconciler timing and PUBLIC_CALLBACK_URL (unset by default)', () => {
    const config = loadDashboardConfig(base);
    expect(config).toMatchObject({ PROVIDER_API_URL: 'https://api.kie.ai', PROVIDER_RPS: 5, RECONCILE_AFTER_S: 1500 });
    expect(config.PROVIDER_API_KEY).toBeUndefined();
    expect(config.PUBLIC_CALLBACK_URL).toBeUndefined();
    const set = loadDashboardConfig({ ...base, PUBLIC_CALLBACK_URL: 'https://relay.example/callbacks/runway' });
    expect(set.PUBLIC_CALLBACK_URL).toBe('https://relay.example/callbacks/runway');
  });

  it('refuses a PUBLIC_CALLBACK_URL that is not an http(s) URL, naming it', () => {
    const load = () => loadDashboardConfig({ ...base, PUBLIC_CALLBACK_URL: 'javascript:alert(1)' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/PUBLIC_CALLBACK_URL/);
  });

  it('applies the reconciler rules as the worker does', () => {
    expect(() =>
      loadDashboardConfig({ ...base, RECONCILE_INTERVAL_S: '600', RECONCILE_MAX_INTERVAL_S: '300' }),
    ).toThrow(/RECONCILE_MAX_INTERVAL_S/);
  });

  it('keeps a registration past the maximum age and the task record', () => {
    expect(registryTtlSeconds({ RECONCILE_MAX_AGE_S: 259_200, TASK_TTL_DAYS: 30 })).toBe(259_200 + 30 * 86_400);
  });
});
