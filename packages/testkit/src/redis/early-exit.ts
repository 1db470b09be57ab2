import type { ChildProcess } from 'node:child_process';

/** A server process ended before it answered, most often because its port was taken. */
export class ExitedEarly extends Error {}

/**
 * Waits for `ready` (given a signal that aborts when the process exits), unless `child` exits
 * first: then an {@link ExitedEarly} at once, instead of polling a dead process until the
 * readiness timeout, and the polling stops.
 */
export async function readyOrExit<T>(
  child: ChildProcess,
  ready: (signal: AbortSignal) => Promise<T>,
  what: string,
): Promise<T> {
  const stop = new AbortController();
  let onExit: (code: number | null) => void = () => {};
  const exited = new Promise<never>((_, reject) => {
    onExit = (code) => {
      const error = new ExitedEarly(`${what} exited with ${code} before it answered`);
      stop.abort(error);
      reject(error);
    };
    if (child.exitCode !== null) onExit(child.exitCode);
    else child.once('exit', onExit);
  });
  const readiness = ready(stop.signal);
  try {
    return await Promise.race([readiness, exited]);
  } finally {
    child.off('exit', onExit);
    exited.catch(() => undefined);
    readiness.catch(() => undefined);
  }
}

/**
 * Runs `start`; when the server exited before answering, calls `retarget` (pick new free ports)
 * and starts again, up to `attempts` times. A port from `freePort()` is free when asked, not
 * when the server binds it: test files run in parallel, and their outgoing connections take
 * ephemeral ports from the same range.
 */
export async function startWithPortRetry(
  start: () => Promise<void>,
  retarget: () => Promise<void>,
  attempts = 3,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      return;
    } catch (error) {
      if (!(error instanceof ExitedEarly) || attempt >= attempts) throw error;
      await retarget();
    }
  }
}
