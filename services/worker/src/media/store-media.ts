import type { MediaKind, StoredObject } from '@runway-relay/contracts';
import type { ObjectStore } from '@runway-relay/storage';
import { StorageError } from '@runway-relay/storage';
import { DownloadError, type DownloadOptions, openDownload, toDownloadError } from '../download/index.js';
import { objectKey } from '../storage/object-key.js';
import type { StoreReadiness } from '../storage/store-readiness.js';

export interface StoreMediaInput {
  taskId: string;
  videoId: string | null;
  kind: MediaKind;
  url: string;
  /** Key prefix inside the bucket. */
  prefix: string;
  store: ObjectStore;
  /** Asked before the source is opened; told when the store fails. */
  readiness: StoreReadiness;
  download: DownloadOptions;
  signal?: AbortSignal;
}

export interface StoredMedia {
  object: StoredObject;
  transferMs: number;
}

/**
 * Streams one media file from its URL into the bucket: HTTP body → size/sha256 counter →
 * multipart upload, never holding the file. An interrupted upload is never completed, so no
 * partial object becomes visible. Once the bytes are in, the sha256 is written into the
 * object's metadata (it is only known at the end of the stream).
 *
 * The store is checked first: with the store down, the upload is what would fail, after the
 * whole file was fetched for nothing, on every retry. A {@link StorageError} then fails the
 * attempt without touching the source.
 */
export async function storeMedia(input: StoreMediaInput): Promise<StoredMedia> {
  await input.readiness.check();
  try {
    return await storeChecked(input);
  } catch (error) {
    // The cached "ready" is stale: the next media file checks the store again before fetching.
    if (error instanceof StorageError) input.readiness.invalidate();
    throw error;
  }
}

async function storeChecked(input: StoreMediaInput): Promise<StoredMedia> {
  const maxMs = input.download.maxDurationMs;
  const deadline = maxMs === undefined ? undefined : AbortSignal.timeout(maxMs);
  const signal = deadline && input.signal ? AbortSignal.any([deadline, input.signal]) : (deadline ?? input.signal);
  try {
    return await transfer(input, signal);
  } catch (error) {
    // A source too slow overall (a trickle inside the idle timeout) ends as a timeout.
    if (deadline?.aborted && error === deadline.reason) {
      throw new DownloadError('timeout', `transfer took longer than ${maxMs} ms`, { cause: error });
    }
    throw error;
  }
}

async function transfer(input: StoreMediaInput, signal: AbortSignal | undefined): Promise<StoredMedia> {
  const started = performance.now();
  const opened = await openDownload(input.url, input.kind, input.download, signal);
  const key = objectKey(input.prefix, input.taskId, input.kind, opened.ext);
  const metadata = {
    taskId: input.taskId,
    videoId: input.videoId,
    contentType: opened.contentType,
    sourceHost: new URL(input.url).host,
    storedAt: new Date().toISOString(),
  };
  // A failure of the source while uploading must end the upload with the real cause. The
  // minio client does not reject when its source stream errors on the unknown-size path (it
  // waits for more parts forever), so the source's own error is raced against the upload.
  let sourceError: unknown;
  const sourceFailed = new Promise<never>((_, reject) => {
    opened.body.once('error', (error) => {
      sourceError = error;
      reject(error);
    });
  });
  const upload = input.store.put(key, opened.body, opened.declaredLength, metadata);
  sourceFailed.catch(() => undefined);
  upload.catch(() => undefined);
  try {
    await Promise.race([upload, sourceFailed]);
  } catch (error) {
    opened.body.destroy();
    // The store's put aborts the incomplete multipart upload before it settles; let it finish,
    // so a retry cannot start before the upload of this attempt is gone.
    await upload.catch(() => undefined);
    if (signal?.aborted && (sourceError === signal.reason || error === signal.reason)) throw signal.reason;
    if (sourceError !== undefined) throw toDownloadError(sourceError);
    throw error;
  }
  const { size, sha256 } = await opened.result().catch((error: unknown) => {
    throw error instanceof DownloadError ? error : toDownloadError(error);
  });
  await input.store.setMetadata(key, { ...metadata, sha256 });
  return {
    object: { kind: input.kind, bucket: input.store.bucket, key, size, sha256, content_type: opened.contentType },
    transferMs: performance.now() - started,
  };
}
