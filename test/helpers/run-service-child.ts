/**
 * A process run by `runService` with a stand-in service, for test/run-service.test.ts.
 * CHILD_MODE: `ok` (runs until signalled), `refuse` (start throws StartRefusedError),
 * `bad-config` (loadConfig throws ConfigError), `reject` (an unhandled rejection once started).
 * CLOSE_MS: how long close() takes; GRACE_MS: SHUTDOWN_GRACE_MS; STOP_ON_STDIN_EOF as in the services.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, envBoolean } from '@runway-relay/contracts';
import { createLogger, runService, StartRefusedError } from '@runway-relay/runtime';

const mode = process.env.CHILD_MODE ?? 'ok';

await runService(
  'child',
  () => {
    if (mode === 'bad-config') throw new ConfigError(['CHILD_PORT: expected a number']);
    return {
      SHUTDOWN_GRACE_MS: Number(process.env.GRACE_MS ?? 5000),
      STOP_ON_STDIN_EOF: envBoolean(false).parse(process.env.STOP_ON_STDIN_EOF),
    };
  },
  () => {
    const logger = createLogger({ service: 'child', level: 'info' });
    // Stands for a listening server: keeps the event loop alive until close().
    let alive: NodeJS.Timeout | undefined;
    let closes = 0;
    return {
      logger,
      start: async () => {
        if (mode === 'refuse') throw new StartRefusedError('maxmemory-policy is allkeys-lru: must be noeviction');
        alive = setInterval(() => undefined, 60_000);
        logger.info('child started');
        if (mode === 'reject') setTimeout(() => void Promise.reject(new Error('boom')), 10);
      },
      close: async () => {
        closes += 1;
        logger.info({ closes }, 'close called');
        await sleep(Number(process.env.CLOSE_MS ?? 0));
        clearInterval(alive);
        logger.info('close finished');
      },
    };
  },
);
