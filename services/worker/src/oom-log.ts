import type { Logger } from '@runway-relay/runtime';

/** Redis refuses writes above `maxmemory` under `noeviction` with this reply. */
export const isRedisOom = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('OOM command not allowed');

/**
 * Logs a BullMQ worker's `error` events, but Redis OOM replies at most once per `intervalMs`
 * with the count of the lines left out: a full Redis fails every fetch and every finish,
 * and one line per failure would flood the log (and the disk) while telling nothing new.
 */
export function createWorkerErrorLog(
  logger: Logger,
  intervalMs = 10_000,
  now: () => number = Date.now,
): (error: Error) => void {
  let lastOom = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error) => {
    if (!isRedisOom(error)) {
      logger.error({ err: error }, 'worker error');
      return;
    }
    const at = now();
    if (at - lastOom < intervalMs) {
      suppressed++;
      return;
    }
    logger.error(
      { err: error, suppressed },
      'worker error: redis is at maxmemory (noeviction); retrying with backoff until memory is freed',
    );
    lastOom = at;
    suppressed = 0;
  };
}
