import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Shown in the timeout error. */
  description?: string;
  /** Stops the polling early: the wait rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls `condition` until it returns a truthy value (which is returned) or the timeout
 * passes. Tests wait for conditions, never for fixed sleeps.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    try {
      const value = await condition();
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (error) {
      lastError = error;
    }
    await sleep(options.intervalMs ?? 25);
  }
  const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out waiting for ${options.description ?? 'condition'}${reason}`);
}
