import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

/** Rejects with the signal's reason once it aborts; never settles otherwise. */
export function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Backoff between attempts: 0.5 s, 1 s, 1.5 s, … capped at 5 s. */
export const startRetryDelay = (attempt: number) => Math.min(500 * attempt, 5000);

export interface RetryUntilOptions {
  /** Logged with each failed attempt, e.g. `object store not ready, retrying`. */
  message: string;
  logger: Logger;
  /** Stops the attempts (the service is closing): the promise rejects with the signal's reason. */
  signal: AbortSignal;
}

/**
 * Runs `attempt` until it resolves, waiting a growing delay after each failure. A service
 * waits so for a dependency at start (its ops listener already answering that it is not
 * ready) rather than exiting and counting on a restart.
 */
export async function retryUntil<T>(attempt: () => Promise<T>, options: RetryUntilOptions): Promise<T> {
  const aborted = whenAborted(options.signal);
  aborted.catch(() => undefined);
  for (let count = 1; ; count++) {
    options.signal.throwIfAborted();
    try {
      return await Promise.race([attempt(), aborted]);
    } catch (error) {
      options.signal.throwIfAborted();
      options.logger.warn({ err: error, attempt: count }, options.message);
    }
    await sleep(startRetryDelay(count), undefined, { signal: options.signal });
  }
}
