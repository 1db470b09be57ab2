/** The dev runner's small parts (scripts/dev/*): its env file, its flags, its run record. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { writeDevEnv } from '../scripts/dev/dev-data.js';
import { parseDevOptions } from '../scripts/dev/dev-options.js';
import { isRunning, stopLeftovers, stopRecorded } from '../scripts/dev/leftovers.js';
import { processIdentity } from '../scripts/dev/process-identity.js';
import { type RecordedProcess, readRunRecord, writeRunRecord } from '../scripts/dev/run-record.js';

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

describe('the run record: what a killed runner left running', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  /** A real process that runs until signalled; `ignoreTerm`: it shrugs SIGTERM off, as a hung drain would. */
  async function startSleeper(ignoreTerm = false): Promise<{ child: ChildProcess; recorded: RecordedProcess }> {
    const code = `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} setInterval(() => {}, 1000); console.log('up');`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    await once(child.stdout ?? child, 'data');
    const pid = child.pid ?? 0;
    return { child, recorded: { name: 'worker', pid, identity: processIdentity(pid) ?? '' } };
  }

  it('tells a process by pid and start: the same one matches, a dead one does not', async () => {
    const { child, recorded } = await startSleeper();
    expect(recorded.identity).not.toBe('');
    expect(processIdentity(recorded.pid)).toBe(recorded.identity);
    expect(isRunning(recorded)).toBe(true);
    // The same pid with another start is another process (a pid handed out again).
    expect(isRunning({ ...recorded, identity: `${recorded.identity}0` })).toBe(false);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(processIdentity(recorded.pid)).toBeUndefined();
  });

  /**
   * The signal that ended `child`. stopRecorded sees a process gone once it is a zombie; this
   * process reaps it, and `child` learns how it ended, a moment later.
   */
  async function endedBy(child: ChildProcess): Promise<NodeJS.Signals | null> {
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    return child.signalCode;
  }

  it('stops with SIGTERM, kills one that ignores it after the grace, never signals a reused pid', async () => {
    const polite = await startSleeper();
    expect(await stopRecorded(polite.recorded, 30_000)).toBe('stopped');
    expect(await endedBy(polite.child)).toBe('SIGTERM');

    const stubborn = await startSleeper(true);
    expect(await stopRecorded(stubborn.recorded, 300)).toBe('killed');
    expect(await endedBy(stubborn.child)).toBe('SIGKILL');

    const other = await startSleeper();
    expect(await stopRecorded({ ...other.recorded, identity: 'linux:another-boot:1' }, 300)).toBe('gone');
    expect(isRunning(other.recorded)).toBe(true);
  });

  it('before a start: stops what a dead runner left (and says so), leaves a live runner alone', async () => {
    const file = join(dir, 'run.json');
    const lines: string[] = [];
    const options = { serviceGraceMs: 30_000, storeGraceMs: 30_000, say: (line: string) => lines.push(line) };

    // A runner that still runs: its stack is in use, nothing is touched.
    const live = await startSleeper();
    const runnerAlive = { name: 'runner', pid: process.pid, identity: processIdentity(process.pid) ?? '' };
    writeRunRecord(file, { runner: runnerAlive, processes: [{ ...live.recorded, name: 'redis' }] });
    expect(await stopLeftovers(file, options)).toBe('busy');
    expect(isRunning(live.recorded)).toBe(true);
    expect(lines.join('\n')).toContain(`another \`npm run dev\` (pid ${process.pid}) runs on this data directory`);

    // A runner that was killed: its service and its Redis are stopped, the record removed.
    const dead = await startSleeper();
    const deadRunner = dead.recorded;
    dead.child.kill('SIGKILL');
    await once(dead.child, 'exit');
    const service = await startSleeper();
    writeRunRecord(file, {
      runner: { ...deadRunner, name: 'runner' },
      processes: [
        { ...live.recorded, name: 'redis' },
        { ...service.recorded, name: 'worker' },
      ],
    });
    lines.length = 0;
    expect(await stopLeftovers(file, options)).toBe('clear');
    expect(isRunning(live.recorded)).toBe(false);
    expect(isRunning(service.recorded)).toBe(false);
    expect(lines[0]).toBe(
      `the previous run (pid ${deadRunner.pid}) ended without stopping redis (pid ${live.recorded.pid}), worker (pid ${service.recorded.pid}): stopping them now`,
    );
    // The service first, Redis after it: the services drain into Redis.
    expect(lines.slice(1)).toEqual([
      `  worker (pid ${service.recorded.pid}) stopped`,
      `  redis (pid ${live.recorded.pid}) stopped`,
    ]);
    expect(existsSync(file)).toBe(false);
    expect(readRunRecord(file)).toBeUndefined();
    expect(await stopLeftovers(file, options)).toBe('clear');
  });
});
