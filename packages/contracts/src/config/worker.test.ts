import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
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
