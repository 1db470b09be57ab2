import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * runService (packages/runtime) in real processes: exit statuses, and one drain per process
 * whatever signals arrive, with test/helpers/run-service-child.ts as the service.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function startChild(env: Record<string, string>, stdin: 'ignore' | 'pipe' = 'ignore') {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/run-service-child.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const messages = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg?: string }).msg);
  const started = () => waitFor(() => messages().includes('child started'), { description: 'child started' });
  return { child, exited, messages, started, stderr: () => stderr };
}

describe('runService', () => {
  it('exits 78 with the message on stderr for a bad config', async () => {
    const run = startChild({ CHILD_MODE: 'bad-config' });
    expect(await run.exited).toBe(78);
    expect(run.stderr()).toContain('child: invalid configuration');
    expect(run.stderr()).toContain('CHILD_PORT: expected a number');
  });

  it('exits 78 with the message on stderr when start() refuses, after closing', async () => {
    const run = startChild({ CHILD_MODE: 'refuse' });
    expect(await run.exited).toBe(78);
    expect(run.stderr()).toContain('child: maxmemory-policy is allkeys-lru: must be noeviction');
    expect(run.messages()).toContain('close finished');
  });

  it('drains once on SIGTERM and exits 0', async () => {
    const run = startChild({ CLOSE_MS: '200' });
    await run.started();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.messages().filter((msg) => msg === 'close called')).toHaveLength(1);
    expect(run.messages()).toContain('shutdown complete');
  });

  it('SIGINT and SIGTERM together (Ctrl-C under a dev runner) make one drain that is not cut short', async () => {
    const run = startChild({ CLOSE_MS: '800' });
    await run.started();
    run.child.kill('SIGINT');
    run.child.kill('SIGTERM');
    // A third one, mid-drain, changes nothing either.
    setTimeout(() => run.child.kill('SIGINT'), 300);
    expect(await run.exited).toBe(0);
    const messages = run.messages();
    expect(messages.filter((msg) => msg === 'close called')).toHaveLength(1);
    expect(messages.filter((msg) => msg === 'already shutting down, signal ignored')).toHaveLength(2);
    expect(messages).toContain('close finished');
    expect(messages).toContain('shutdown complete');
  });

  it('exits 1 when close() outlasts SHUTDOWN_GRACE_MS', async () => {
    const run = startChild({ CLOSE_MS: '10000', GRACE_MS: '300' });
    await run.started();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(1);
    expect(run.messages()).toContain('shutdown grace period over, exiting');
    expect(run.messages()).not.toContain('close finished');
  });

  it('drains and exits 1 on an unhandled rejection', async () => {
    const run = startChild({ CHILD_MODE: 'reject', CLOSE_MS: '50' });
    expect(await run.exited).toBe(1);
    expect(run.messages()).toEqual(
      expect.arrayContaining(['uncaught error, shutting down', 'close called', 'close finished']),
    );
  });

  it('with STOP_ON_STDIN_EOF, drains once and exits 0 when the stdin pipe ends (its supervisor died)', async () => {
    const run = startChild({ CLOSE_MS: '200', STOP_ON_STDIN_EOF: 'true' }, 'pipe');
    await run.started();
    // What the kernel does to the write end when the process holding it dies, SIGKILL included.
    run.child.stdin?.end();
    expect(await run.exited).toBe(0);
    const messages = run.messages();
    expect(messages).toContain('stdin closed (supervisor gone), shutting down');
    expect(messages.filter((msg) => msg === 'close called')).toHaveLength(1);
    expect(messages).toContain('shutdown complete');
  });

  it('with STOP_ON_STDIN_EOF and the pipe still open, SIGTERM drains and exits as before', async () => {
    const run = startChild({ CLOSE_MS: '50', STOP_ON_STDIN_EOF: 'true' }, 'pipe');
    await run.started();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.messages().filter((msg) => msg === 'close called')).toHaveLength(1);
    expect(run.messages()).not.toContain('stdin closed (supervisor gone), shutting down');
  });

  it('with STOP_ON_STDIN_EOF but no pipe on stdin, warns and keeps running', async () => {
    const run = startChild({ STOP_ON_STDIN_EOF: 'true' });
    await run.started();
    expect(run.messages()).toContain('STOP_ON_STDIN_EOF is set but stdin is no pipe: not watched');
    // /dev/null is at its end from the start: had it been watched, the child would drain now.
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.messages()).not.toContain('stdin closed (supervisor gone), shutting down');
  });
});
