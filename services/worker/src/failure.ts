import { FAILURE_TAXONOMY, type FailureCategory, type FailureSource } from '@runway-relay/contracts';
import { StorageError } from '@runway-relay/storage';
import { DownloadError } from './download/index.js';

/** A job failure reduced to what the event and the retry decision need. */
export interface ClassifiedFailure {
  source: FailureSource;
  category: FailureCategory;
  /** Retrying this job later may succeed: the error's own answer, else its category's default. */
  retryable: boolean;
  detail: string;
}

/** The `retryable` an error states about itself, if any. */
function statedRetryable(error: unknown): boolean | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryable?: unknown }).retryable;
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * Classifies an error thrown while storing media. Anything that is neither the source's nor
 * the object store's fault (a Redis error writing the task record, a bug) is the worker's own
 * `internal` failure, retried unless the error says otherwise.
 */
export function classifyJobError(error: unknown): ClassifiedFailure {
  if (error instanceof DownloadError) {
    return { source: 'download', category: error.category, retryable: error.retryable, detail: error.message };
  }
  if (error instanceof StorageError) {
    return { source: 'storage', category: 'storage_error', retryable: error.retryable, detail: error.message };
  }
  const detail = error instanceof Error ? error.message : String(error);
  const retryable = statedRetryable(error) ?? FAILURE_TAXONOMY.internal.retryable;
  return { source: 'worker', category: 'internal', retryable, detail };
}
