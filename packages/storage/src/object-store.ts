import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { StorageConfig } from '@runway-relay/contracts';
import * as Minio from 'minio';
import { StorageError } from './storage-error.js';

/** Object metadata written with every stored media file (docs/architecture.md §6). */
export interface MediaMetadata {
  taskId: string;
  videoId: string | null;
  contentType: string;
  /** Host the file came from; never the signed URL. */
  sourceHost: string;
  storedAt: string;
  sha256?: string;
}

/** A multipart upload that was begun and neither completed nor aborted. */
export interface IncompleteUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** Told what `put` did about the incomplete upload of a failed transfer (logs, metrics). */
export interface UploadCleanupListener {
  /** `count` incomplete uploads of `key` were aborted (0: the transfer had none). */
  aborted(key: string, count: number): void;
  /** They could not be aborted; a sweep (or the bucket's lifecycle rule) removes them later. */
  failed(key: string, error: unknown): void;
}

export interface ObjectStoreOptions {
  cleanup?: UploadCleanupListener;
  /** Longest wait for the abort of a failed transfer's upload, ms. Default 10 000. */
  abortTimeoutMs?: number;
}

export interface ObjectStore {
  readonly bucket: string;
  /** Creates the bucket when it does not exist. */
  ensureBucket(): Promise<void>;
  /** Resolves when the store answers for the bucket (readiness). */
  ping(): Promise<void>;
  /**
   * Streams `body` to `key`; `size` when known lets the client pick the part count. Rejects
   * when the upload or `body` fails, after aborting the incomplete multipart upload of `key`
   * (best effort: a failure to abort is reported to the cleanup listener, never thrown).
   */
  put(key: string, body: Readable, size: number | null, metadata: MediaMetadata): Promise<void>;
  /** The incomplete multipart uploads whose key starts with `prefix`. */
  listUploads(prefix: string): Promise<IncompleteUpload[]>;
  /** Aborts one multipart upload; one already gone (`NoSuchUpload`) counts as aborted. */
  abortUpload(key: string, uploadId: string): Promise<void>;
  /** Aborts every incomplete multipart upload of exactly `key`; resolves with their number. */
  abortUploads(key: string): Promise<number>;
  /** Rewrites the metadata of a stored object in place (server-side copy onto itself). */
  setMetadata(key: string, metadata: MediaMetadata): Promise<void>;
  /** Size and lower-cased user metadata, or null when there is no such object. */
  stat(key: string): Promise<{ size: number; metadata: Record<string, string> } | null>;
  /** A time-limited GET URL. */
  presign(key: string, expirySeconds: number): Promise<string>;
}

/** The user metadata of a stored object, by name without the `x-amz-meta-` prefix: the one mapping `put` and `setMetadata` share. */
function userMetadata(metadata: MediaMetadata): Record<string, string> {
  return {
    'task-id': metadata.taskId,
    'video-id': metadata.videoId ?? '',
    'source-host': metadata.sourceHost,
    'stored-at': metadata.storedAt,
    ...(metadata.sha256 ? { sha256: metadata.sha256 } : {}),
  };
}

/** The headers of a PUT: the content type and the user metadata as `X-Amz-Meta-*`. */
function metadataHeaders(metadata: MediaMetadata): Record<string, string> {
  const headers: Record<string, string> = { 'Content-Type': metadata.contentType };
  for (const [name, value] of Object.entries(userMetadata(metadata))) headers[`X-Amz-Meta-${name}`] = value;
  return headers;
}

const NOT_FOUND = new Set(['NotFound', 'NoSuchKey', 'NoSuchObject']);

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code) : '';
}

function isNotFound(error: unknown): boolean {
  return NOT_FOUND.has(errorCode(error));
}

/**
 * Rejects when `body` errors or closes before its end; never settles otherwise. The `minio`
 * client does not reject when its source fails on the multipart path (it waits for more parts
 * forever), so `put` races this against the upload.
 */
function sourceFailure(body: Readable): Promise<never> {
  return finished(body, { writable: false }).then(() => new Promise<never>(() => {}));
}

/** `work`, or a rejection once `ms` have passed (the request itself is left to its own timeouts). */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function storageCall<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StorageError) throw error;
    throw new StorageError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Builds a `minio` client from config. `partSize` is set on purpose: see S3_PART_SIZE. */
export function createMinioClient(config: StorageConfig): Minio.Client {
  const endpoint = new URL(config.S3_ENDPOINT);
  const useSSL = endpoint.protocol === 'https:';
  return new Minio.Client({
    endPoint: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: config.S3_ACCESS_KEY,
    secretKey: config.S3_SECRET_KEY,
    region: config.S3_REGION,
    pathStyle: true,
    partSize: config.S3_PART_SIZE,
  });
}

/** The object store of the relay, over the `minio` client (the same code path for MinIO and S3). */
export function createObjectStore(
  client: Minio.Client,
  config: StorageConfig,
  options: ObjectStoreOptions = {},
): ObjectStore {
  const bucket = config.S3_BUCKET;
  const abortTimeoutMs = options.abortTimeoutMs ?? 10_000;

  const listUploads = (prefix: string) =>
    storageCall('list uploads', async () => {
      const uploads: IncompleteUpload[] = [];
      let keyMarker = '';
      let uploadIdMarker = '';
      for (;;) {
        const page = await client.listIncompleteUploadsQuery(bucket, prefix, keyMarker, uploadIdMarker, '');
        for (const upload of page.uploads) {
          uploads.push({ key: String(upload.key), uploadId: upload.uploadId, initiated: upload.initiated });
        }
        // A truncated page without a new marker would loop forever: stop (the next sweep goes on).
        if (!page.isTruncated || page.nextKeyMarker === '' || page.nextKeyMarker === keyMarker) break;
        keyMarker = page.nextKeyMarker;
        uploadIdMarker = page.nextUploadIdMarker;
      }
      return uploads;
    });

  const abortUpload = (key: string, uploadId: string) =>
    storageCall('abort upload', async () => {
      try {
        await client.abortMultipartUpload(bucket, key, uploadId);
      } catch (error) {
        // Another worker's sweep, or the store's own cleanup, got there first.
        if (errorCode(error) !== 'NoSuchUpload') throw error;
      }
    });

  const abortUploads = async (key: string) => {
    const uploads = (await listUploads(key)).filter((upload) => upload.key === key);
    for (const upload of uploads) await abortUpload(key, upload.uploadId);
    return uploads.length;
  };

  /** Best effort: the transfer already failed, and that failure is what the caller must see. */
  const cleanUpAfterFailure = async (key: string) => {
    try {
      const count = await within(abortUploads(key), abortTimeoutMs, 'abort incomplete upload');
      options.cleanup?.aborted(key, count);
    } catch (error) {
      options.cleanup?.failed(key, error);
    }
  };

  return {
    bucket,
    ensureBucket: () =>
      storageCall('ensure bucket', async () => {
        if (await client.bucketExists(bucket)) return;
        try {
          await client.makeBucket(bucket, config.S3_REGION);
        } catch (error) {
          // Another worker created it between our check and our create.
          const code = (error as { code?: string }).code;
          if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
        }
      }),
    ping: () =>
      storageCall('ping', async () => {
        if (!(await client.bucketExists(bucket))) throw new StorageError(`bucket ${bucket} does not exist`);
      }),
    put: (key, body, size, metadata) =>
      storageCall('put object', async () => {
        const upload = client.putObject(bucket, key, body, size ?? undefined, metadataHeaders(metadata));
        upload.catch(() => undefined);
        try {
          await Promise.race([upload, sourceFailure(body)]);
        } catch (error) {
          // Without this, the parts already sent stay in the bucket (billed, invisible) until a
          // lifecycle rule or the sweep removes them.
          await cleanUpAfterFailure(key);
          throw error;
        }
      }),
    listUploads,
    abortUpload,
    abortUploads,
    setMetadata: (key, metadata) =>
      storageCall('set metadata', async () => {
        const source = new Minio.CopySourceOptions({ Bucket: bucket, Object: key });
        const destination = new Minio.CopyDestinationOptions({
          Bucket: bucket,
          Object: key,
          MetadataDirective: 'REPLACE',
          UserMetadata: userMetadata(metadata),
          Headers: { 'Content-Type': metadata.contentType },
        });
        await client.copyObject(source, destination);
      }),
    stat: (key) =>
      storageCall('stat object', async () => {
        try {
          const stat = await client.statObject(bucket, key);
          const metadata: Record<string, string> = {};
          for (const [name, value] of Object.entries(stat.metaData ?? {})) {
            metadata[name.toLowerCase().replace(/^x-amz-meta-/, '')] = String(value);
          }
          return { size: stat.size, metadata };
        } catch (error) {
          if (isNotFound(error)) return null;
          throw error;
        }
      }),
    presign: (key, expirySeconds) =>
      storageCall('presign', () => client.presignedGetObject(bucket, key, expirySeconds)),
  };
}
