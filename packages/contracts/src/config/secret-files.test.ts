import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configProblems } from '@runway-relay/testkit/config-problems';
import { afterAll, describe, expect, it } from 'vitest';
import { DashboardEnvSchema, loadDashboardConfig } from './dashboard.js';
import { IngressEnvSchema, loadIngressConfig } from './ingress.js';
import { SECRET_VARIABLES } from './secret-files.js';
import { loadWorkerConfig, WorkerEnvSchema } from './worker.js';

const dir = mkdtempSync(join(tmpdir(), 'relay-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a secret file as Docker mounts one (content plus a trailing newline). */
function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

const problems = configProblems;

describe('<NAME>_FILE secrets', () => {
  it('reads every secret variable from a file, trimmed, in the service that uses it', () => {
    const hmac = secretFile('hmac', 'key-one,key-two\n');
    const password = secretFile('password', '  s3cr3t-pw \r\n');
    const user = secretFile('user', 'operator\n');
    const s3Secret = secretFile('s3-secret', 'relay-secret-key\n');
    const s3Access = secretFile('s3-access', 'relay\n');
    const redis = secretFile('redis', 'redis://:redis-pw@redis:6379\n');
    const token = secretFile('token', `${'t'.repeat(32)}\n`);
    const whsec = secretFile('whsec', 'whsec_c2VjcmV0\n');

    const ingress = loadIngressConfig({
      CALLBACK_HMAC_KEYS_FILE: hmac,
      CALLBACK_PATH_TOKEN_FILE: token,
      CALLBACK_WEBHOOK_SECRETS_FILE: whsec,
      REDIS_URL_FILE: redis,
    });
    expect(ingress.CALLBACK_HMAC_KEYS).toEqual(['key-one', 'key-two']);
    expect(ingress.CALLBACK_PATH_TOKEN).toBe('t'.repeat(32));
    expect(ingress.CALLBACK_WEBHOOK_SECRETS).toEqual(['whsec_c2VjcmV0']);
    expect(ingress.REDIS_URL).toBe('redis://:redis-pw@redis:6379');

    const worker = loadWorkerConfig({ S3_ACCESS_KEY_FILE: s3Access, S3_SECRET_KEY_FILE: s3Secret });
    expect(worker).toMatchObject({ S3_ACCESS_KEY: 'relay', S3_SECRET_KEY: 'relay-secret-key' });

    const dashboard = loadDashboardConfig({
      NODE_ENV: 'production',
      DASHBOARD_USER_FILE: user,
      DASHBOARD_PASSWORD_FILE: password,
    });
    expect(dashboard).toMatchObject({ DASHBOARD_USER: 'operator', DASHBOARD_PASSWORD: 's3cr3t-pw' });
    expect(dashboard.defaultCredentials).toBe(false);
    // The _FILE variables themselves do not leak into the parsed config.
    expect(Object.keys(dashboard).filter((key) => key.endsWith('_FILE'))).toEqual([]);
  });

  it('refuses a variable set both ways, naming it and not the value', () => {
    const path = secretFile('both', 'from-file\n');
    const found = problems(() =>
      loadDashboardConfig({
        NODE_ENV: 'production',
        DASHBOARD_USER: 'u',
        DASHBOARD_PASSWORD: 'inline-value',
        DASHBOARD_PASSWORD_FILE: path,
      }),
    );
    expect(found).toEqual(['DASHBOARD_PASSWORD_FILE: DASHBOARD_PASSWORD is set too; set only one of them']);
    expect(found.join('\n')).not.toMatch(/inline-value|from-file/);
  });

  it('refuses a missing, unreadable or empty file, naming the variable and never the content', () => {
    const unreadable = secretFile('unreadable', 'top-secret-content\n');
    chmodSync(unreadable, 0o000);
    const empty = secretFile('empty', ' \n');
    const missing = join(dir, 'nope');
    const env = { CALLBACK_HMAC_KEYS_FILE: missing, S3_SECRET_KEY_FILE: empty, S3_ACCESS_KEY_FILE: unreadable };
    const found = problems(() => loadWorkerConfig(env));
    expect(found).toContain(`S3_SECRET_KEY_FILE: ${empty} is empty`);
    // CALLBACK_HMAC_KEYS is a secret variable even where the worker does not read it: still checked.
    expect(found).toContain(`CALLBACK_HMAC_KEYS_FILE: cannot read ${missing} (ENOENT)`);
    // Root reads a mode-000 file anyway; then the value is read and no problem is reported for it.
    const rootReads = process.getuid?.() === 0;
    if (!rootReads) expect(found).toContain(`S3_ACCESS_KEY_FILE: cannot read ${unreadable} (EACCES)`);
    expect(found.join('\n')).not.toContain('top-secret-content');
    const directory = problems(() => loadWorkerConfig({ S3_SECRET_KEY_FILE: dir }));
    expect(directory).toEqual([`S3_SECRET_KEY_FILE: cannot read ${dir} (EISDIR)`]);
  });

  it('covers every secret-looking variable the three services read', () => {
    const secretLooking = /(^|_)(KEYS?|SECRETS?|TOKEN|PASSWORD)(_|$)/;
    const read = [IngressEnvSchema, WorkerEnvSchema, DashboardEnvSchema].flatMap((schema) => Object.keys(schema.shape));
    const found = [...new Set(read.filter((name) => secretLooking.test(name)))];
    expect(found.length).toBeGreaterThanOrEqual(6);
    for (const name of found) expect(SECRET_VARIABLES, name).toContain(name);
  });
});
