import type { Logger } from '@runway-relay/runtime';
import type { ObjectStore, UploadCleanupListener } from '@runway-relay/storage';
import type { WorkerMetrics } from '../metrics.js';

export interface SweepOptions {
  store: Pick<ObjectStore, 'listUploads' | 'abortUpload'>;
  /** Only uploads whose key is under `<prefix>/` are touched ('' for the whole bucket). */
  prefix: string;
  /** Age from which an upload is stale, ms: longer than any transfer can last. */
  staleMs: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  /** Told about each upload aborted, or that could not be. */
  onAborted?: (key: string, uploadId: string, initiated: Date) => void;
  onFailed?: (key: string, uploadId: string, error: unknown) => void;
}

export interface SweepResult {
  aborted: number;
  /** Uploads under the prefix too young to be stale (a transfer may be running). */
  kept: number;
  /** Stale uploads whose abort failed; the next sweep tries again. */
  failed: number;
}

/**
 * Aborts the incomplete multipart uploads under `prefix` older than `staleMs`: those of
 * workers killed mid-transfer (a failed transfer aborts its own). Several workers may sweep
 * at once: harmless, the second abort of an upload finds it gone and counts it as done.
 */
export async function sweepStaleUploads(options: SweepOptions): Promise<SweepResult> {
  const now = options.now ?? Date.now;
  const prefix = options.prefix === '' ? '' : `${options.prefix}/`;
  const result: SweepResult = { aborted: 0, kept: 0, failed: 0 };
  for (const upload of await options.store.listUploads(prefix)) {
    if (now() - upload.initiated.getTime() < options.staleMs) {
      result.kept += 1;
      continue;
    }
    try {
      await options.store.abortUpload(upload.key, upload.uploadId);
      result.aborted += 1;
      options.onAborted?.(upload.key, upload.uploadId, upload.initiated);
    } catch (error) {
      result.failed += 1;
      options.onFailed?.(upload.key, upload.uploadId, error);
    }
  }
  return result;
}

export interface UploadSweeperOptions {
  store: Pick<ObjectStore, 'listUploads' | 'abortUpload'>;
  prefix: string;
  staleMs: number;
  /** ms between sweeps; the first runs at once. 0: no sweep at all. */
  intervalMs: number;
  logger: Logger;
  metrics: Pick<WorkerMetrics, 'uploadsAborted'>;
}

export interface UploadSweeper {
  /** Settles when the sweep at start is over (at once when sweeping is off). Never rejects. */
  readonly firstSweep: Promise<void>;
  /** Stops the timer; a sweep under way finishes on its own. */
  stop(): void;
}

/** Sweeps stale uploads at start and every `intervalMs`, logging and counting what it aborts. */
export function startUploadSweeper(options: UploadSweeperOptions): UploadSweeper {
  const { logger, metrics } = options;
  if (options.intervalMs === 0) return { firstSweep: Promise.resolve(), stop: () => undefined };
  let running = false;
  const sweep = async () => {
    if (running) return; // a slow listing must not pile sweeps up
    running = true;
    try {
      const result = await sweepStaleUploads({
        store: options.store,
        prefix: options.prefix,
        staleMs: options.staleMs,
        onAborted: (key, uploadId, initiated) => {
          metrics.uploadsAborted.inc({ reason: 'sweep' });
          logger.info(
            { key, upload_id: uploadId, initiated: initiated.toISOString() },
            'stale incomplete upload aborted',
          );
        },
        onFailed: (key, uploadId, error) =>
          logger.warn({ key, upload_id: uploadId, err: error }, 'could not abort a stale incomplete upload'),
      });
      logger.info(result, 'incomplete uploads swept');
    } catch (error) {
      logger.warn({ err: error }, 'could not list incomplete uploads, the next sweep tries again');
    } finally {
      running = false;
    }
  };
  const firstSweep = sweep();
  const timer = setInterval(sweep, options.intervalMs);
  timer.unref();
  return { firstSweep, stop: () => clearInterval(timer) };
}

/** The cleanup listener of the worker's object store: logs and counts aborted uploads. */
export function uploadCleanupReporter(
  logger: Logger,
  metrics: Pick<WorkerMetrics, 'uploadsAborted'>,
): UploadCleanupListener {
  return {
    aborted: (key, count) => {
      if (count === 0) return;
      metrics.uploadsAborted.inc({ reason: 'failed_transfer' }, count);
      logger.info({ key, count }, 'incomplete upload of a failed transfer aborted');
    },
    failed: (key, error) =>
      logger.warn({ key, err: error }, 'could not abort the incomplete upload of a failed transfer; the sweep will'),
  };
}
