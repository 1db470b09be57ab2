import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { waitFor } from '../wait-for.js';
import { readyOrExit } from './early-exit.js';

/**
 * Resolves once the redis-server `child` answers PING on 127.0.0.1:`port`; rejects with
 * `ExitedEarly` as soon as it exits first (e.g. its port was taken), or after `timeoutMs`.
 */
export async function waitForRedisReady(child: ChildProcess, port: number, timeoutMs = 10_000): Promise<void> {
  const what = `redis-server on port ${port}`;
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await readyOrExit(
      child,
      (signal) =>
        waitFor(
          async () => {
            if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
            return (await probe.ping()) === 'PONG';
          },
          { timeoutMs, description: what, signal },
        ),
      what,
    );
  } finally {
    probe.disconnect();
  }
}
