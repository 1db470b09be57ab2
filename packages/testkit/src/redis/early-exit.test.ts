import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../free-port.js';
import { ExitedEarly, readyOrExit, startWithPortRetry } from './early-exit.js';
import { waitForRedisReady } from './redis-ready.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP port some other process holds, as when a port from freePort() is taken before the bind. */
async function takenPort(): Promise<number> {
  // Connections are dropped at once, so a readiness probe sent there fails instead of hanging.
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** Starts a real redis-server on `port` and resolves once it answers PING. */
async function startRedisOn(port: number): Promise<void> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
    stdio: 'ignore',
  });
  cleanups.push(() => child.kill('SIGKILL'));
  await waitForRedisReady(child, port);
}

describe('readyOrExit', () => {
  it('rejects with ExitedEarly as soon as the process exits, without waiting for the readiness timeout', async () => {
    const child = spawn(process.execPath, ['-e', 'process.exit(3)'], { stdio: 'ignore' });
    let polling: AbortSignal | undefined;
    const never = (signal: AbortSignal) => {
      polling = signal;
      return new Promise<never>(() => {});
    };
    await expect(readyOrExit(child, never, 'a short-lived process')).rejects.toThrow(
      new ExitedEarly('a short-lived process exited with 3 before it answered'),
    );
    // The readiness polling is told to stop.
    expect(polling?.aborted).toBe(true);
  });

  it('resolves with the readiness value while the process runs', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    await expect(readyOrExit(child, async () => 'up', 'a process')).resolves.toBe('up');
  });
});

describe('startWithPortRetry', () => {
  it('moves redis-server to a new port when its port was taken before the bind', async () => {
    let port = await takenPort();
    const tried: number[] = [];
    await startWithPortRetry(
      async () => {
        tried.push(port);
        await startRedisOn(port);
      },
      async () => {
        port = await freePort();
      },
    );
    expect(tried).toHaveLength(2);
    const redis = new Redis(port, '127.0.0.1');
    cleanups.push(() => redis.disconnect());
    expect(await redis.ping()).toBe('PONG');
  });

  it('gives up after `attempts`, and passes other errors through at once', async () => {
    const taken = await takenPort();
    let starts = 0;
    const start = async () => {
      starts += 1;
      await startRedisOn(taken);
    };
    await expect(startWithPortRetry(start, async () => {}, 2)).rejects.toBeInstanceOf(ExitedEarly);
    expect(starts).toBe(2);

    const failing = async () => {
      starts += 1;
      throw new Error('not a port problem');
    };
    await expect(startWithPortRetry(failing, async () => {})).rejects.toThrow('not a port problem');
    expect(starts).toBe(3);
  });
});
