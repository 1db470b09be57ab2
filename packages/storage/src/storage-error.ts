/** The object store failed (unreachable, 5xx, auth): retryable, category `storage_error`. */
export class StorageError extends Error {
  readonly category = 'storage_error' as const;
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}
