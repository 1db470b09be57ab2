import { FAILURE_TAXONOMY, type FailureCategory, type FailureSource } from '@runway-relay/contracts';
import { DownloadError } from './download/index.js';
import { StorageError } from './storage/storage-error.js';

/** A job failure reduced to what the event and the retry decision need. */
export interface ClassifiedFailure {
  source: FailureSource;
  category: FailureCategory;
  /** Retrying this job later may succeed. */
  retryable: boolean;
  detail: string;
}

/** Classifies an error thrown while storing media. Unknown errors are retried (they are ours). */
export function classifyJobError(error: unknown): ClassifiedFailure {
  if (error instanceof DownloadError) {
    return { source: 'download', category: error.category, retryable: error.retryable, detail: error.message };
  }
  if (error instanceof StorageError) {
    return { source: 'storage', category: 'storage_error', retryable: true, detail: error.message };
  }
  const detail = error instanceof Error ? error.message : String(error);
  return { source: 'storage', category: 'storage_error', retryable: FAILURE_TAXONOMY.storage_error.retryable, detail };
}
