/** The dev runner's small parts (scripts/dev/*): its env file and its flags. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDevEnv } from '../scripts/dev/dev-data.js';
import { parseDevOptions } from '../scripts/dev/dev-options.js';

const dir = mkdtempSync(join(tmpdir(), 'relay-dev-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('.dev-data/dev.env', () => {
  const values = {
    REDIS_URL: 'redis://127.0.0.1:6390',
    S3_SECRET_KEY: `it's a "secret" with spaces $HOME`,
    CALLBACK_HMAC_KEYS: 'new-key,old-key',
  };

  it('gives a shell (set -a; . file) exactly the values written', () => {
    const file = join(dir, 'shell.env');
    writeDevEnv(file, values);
    const script = `set -a; . '${file}'; set +a; node -e 'console.log(JSON.stringify({REDIS_URL: process.env.REDIS_URL, S3_SECRET_KEY: process.env.S3_SECRET_KEY, CALLBACK_HMAC_KEYS: process.env.CALLBACK_HMAC_KEYS}))'`;
    const seen = JSON.parse(execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH } }));
    expect(seen).toEqual(values);
  });

  it('is read by process.loadEnvFile (the example consumer) with the plain values intact', () => {
    const file = join(dir, 'node.env');
    writeDevEnv(file, { REDIS_URL: values.REDIS_URL, CALLBACK_HMAC_KEYS: values.CALLBACK_HMAC_KEYS });
    const script = `process.loadEnvFile(${JSON.stringify(file)}); console.log(process.env.REDIS_URL + ' ' + process.env.CALLBACK_HMAC_KEYS)`;
    const seen = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(seen.trim()).toBe(`${values.REDIS_URL} ${values.CALLBACK_HMAC_KEYS}`);
  });
});

describe('npm run dev flags', () => {
  it('defaults to the fixed ports and .dev-data', () => {
    expect(parseDevOptions([])).toEqual({
      fresh: false,
      dataDir: '.dev-data',
      redisPort: 6390,
      s3Port: 4568,
      mediaPort: 3002,
    });
  });

  it('refuses Redis on 6379, the machine’s own Redis', () => {
    expect(() => parseDevOptions(['--redis-port', '6379'])).toThrow(/6379/);
  });

  it('refuses a port that is not one, and unknown flags', () => {
    expect(() => parseDevOptions(['--s3-port', 'eighty'])).toThrow();
    expect(() => parseDevOptions(['--frsh'])).toThrow(/frsh/);
  });
});
