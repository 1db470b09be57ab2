import { createHash } from 'node:crypto';
import { minioClientOptions, type S3Harness } from '@runway-relay/testkit';
import * as Minio from 'minio';

/** One object of a bucket listing. */
export interface ListedObject {
  key: string;
  size: number;
}

/** Every object under `prefix/` in `bucket`, sorted by key (a fresh client, independent of the worker's). */
export async function listObjects(s3: S3Harness, prefix: string, bucket = 'runway-media'): Promise<ListedObject[]> {
  const client = new Minio.Client(minioClientOptions(s3));
  const objects: ListedObject[] = [];
  for await (const item of client.listObjectsV2(bucket, `${prefix}/`, true)) {
    if (item.name) objects.push({ key: item.name, size: item.size });
  }
  return objects.sort((a, b) => a.key.localeCompare(b.key));
}

/** Hex sha256 of the bytes stored under `key`, streamed (never held whole). */
export async function objectSha256(s3: S3Harness, key: string, bucket = 'runway-media'): Promise<string> {
  const client = new Minio.Client(minioClientOptions(s3));
  const hash = createHash('sha256');
  for await (const chunk of await client.getObject(bucket, key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A multipart upload begun and neither completed nor aborted. */
export interface ListedUpload {
  key: string;
  uploadId: string;
  initiated: Date;
  /** Bytes in its uploaded parts. */
  size: number;
}

/** Every incomplete multipart upload under `prefix/` in `bucket`, sorted by key (a fresh client). */
export async function listIncompleteUploads(
  s3: S3Harness,
  prefix: string,
  bucket = 'runway-media',
): Promise<ListedUpload[]> {
  const client = new Minio.Client(minioClientOptions(s3));
  const uploads: ListedUpload[] = [];
  for await (const item of client.listIncompleteUploads(bucket, `${prefix}/`, true)) {
    const upload = item as ListedUpload;
    uploads.push({ key: upload.key, uploadId: upload.uploadId, initiated: upload.initiated, size: upload.size });
  }
  return uploads.sort((a, b) => a.key.localeCompare(b.key));
}
