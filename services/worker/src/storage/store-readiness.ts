import { withTimeout } from '@runway-relay/runtime';
import { StorageError } from '@runway-relay/storage';

export interface StoreReadinessOptions {
  /**
   * How long an answer of the store is trusted, in ms from when the check was sent, so that a
   * busy worker makes about one extra request per second, not one per media file. Default 1000.
   */
  cacheMs?: number;
  /** How long a check may wait for the store before it counts as a failure, in ms. Default 5000. */
  timeoutMs?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/** Whether the object store can take an upload, asked before a source is fetched. */
export interface StoreReadiness {
  /**
   * Resolves when the store answered within the last `cacheMs` or answers now; rejects with a
   * (retryable) {@link StorageError} otherwise. Concurrent callers share one request.
   */
  check(): Promise<void>;
  /** Forgets the last answer (and any check under way): a storage failure seen elsewhere makes the next check ask again. */
  invalidate(): void;
}

/**
 * Readiness of the object store through `ping` (e.g. `ObjectStore.ping`, a HEAD on the bucket).
 * Only an answer is cached: while the store is down every check asks again (a refused
 * connection costs little), so the first job after it is back proceeds at once.
 */
export function createStoreReadiness(ping: () => Promise<void>, options: StoreReadinessOptions = {}): StoreReadiness {
  const cacheMs = options.cacheMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  let readyUntil = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | null = null;
  /** Bumped by `invalidate`, so a check sent before it cannot restore the cached answer. */
  let generation = 0;

  const probe = async (): Promise<void> => {
    const sentAt = now();
    const sentIn = generation;
    try {
      await withTimeout(ping(), timeoutMs);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new StorageError(`object store not reachable, source not fetched: ${detail}`, { cause: error });
    }
    if (sentIn === generation) readyUntil = sentAt + cacheMs;
  };

  return {
    check() {
      if (now() < readyUntil) return Promise.resolve();
      if (pending === null) {
        const current = probe().finally(() => {
          if (pending === current) pending = null;
        });
        pending = current;
      }
      return pending;
    },
    invalidate() {
      readyUntil = Number.NEGATIVE_INFINITY;
      generation += 1;
      // A check already on its way was sent before the failure: later callers ask anew.
      pending = null;
    },
  };
}
