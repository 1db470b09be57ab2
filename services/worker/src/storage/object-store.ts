import type { Readable } from 'node:stream';
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

export interface ObjectStore {
  readonly bucket: string;
  /** Creates the bucket when it does not exist. */
  ensureBucket(): Promise<void>;
  /** Resolves when the store answers for the bucket (readiness). */
  ping(): Promise<void>;
  /** Streams `body` to `key`; `size` when known lets the client pick the part count. */
  put(key: string, body: Readable, size: number | null, metadata: MediaMetadata): Promise<void>;
  /** Rewrites the metadata of a stored object in place (server-side copy onto itself). */
  setMetadata(key: string, metadata: MediaMetadata): Promise<void>;
  /** Size and lower-cased user metadata, or null when there is no such object. */
  stat(key: string): Promise<{ size: number; metadata: Record<string, string> } | null>;
  /** A time-limited GET URL. */
  presign(key: string, expirySeconds: number): Promise<string>;
}

function metadataHeaders(metadata: MediaMetadata): Record<string, string> {
  return {
    'Content-Type': metadata.contentType,
    'X-Amz-Meta-Task-Id': metadata.taskId,
    'X-Amz-Meta-Video-Id': metadata.videoId ?? '',
    'X-Amz-Meta-Source-Host': metadata.sourceHost,
    'X-Amz-Meta-Stored-At': metadata.storedAt,
    ...(metadata.sha256 ? { 'X-Amz-Meta-Sha256': metadata.sha256 } : {}),
  };
}

const NOT_FOUND = new Set(['NotFound', 'NoSuchKey', 'NoSuchObject']);

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && NOT_FOUND.has(String((error as { code?: unknown }).code));
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
export function createObjectStore(client: Minio.Client, config: StorageConfig): ObjectStore {
  const bucket = config.S3_BUCKET;
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
        await client.putObject(bucket, key, body, size ?? undefined, metadataHeaders(metadata));
      }),
    setMetadata: (key, metadata) =>
      storageCall('set metadata', async () => {
        const source = new Minio.CopySourceOptions({ Bucket: bucket, Object: key });
        const destination = new Minio.CopyDestinationOptions({
          Bucket: bucket,
          Object: key,
          MetadataDirective: 'REPLACE',
          UserMetadata: {
            'task-id': metadata.taskId,
            'video-id': metadata.videoId ?? '',
            'source-host': metadata.sourceHost,
            'stored-at': metadata.storedAt,
            ...(metadata.sha256 ? { sha256: metadata.sha256 } : {}),
          },
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
