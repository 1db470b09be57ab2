import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The part of s3rver's filesystem store the fixes use (s3rver ships no types). */
export interface S3rverStore {
  getBucket(name: string): Promise<unknown>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
}

/** The part of a Koa context the fixes read and write. */
export interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
  app: { store: S3rverStore };
}

/** A Koa middleware function. */
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function firstValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** Splits a path-style request path into bucket and key ("" when absent). */
function splitPath(path: string): { bucket: string; key: string } {
  const [, bucket = '', ...rest] = path.split('/');
  return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(rest.join('/')) };
}

/** One multipart upload s3rver keeps on disk: `<uploads dir>/<upload id>/{key,metadata,<n>,<n>.md5}`. */
interface StoredUpload {
  uploadId: string;
  key: string;
  /** When the upload was initiated: the time its `key` file was written. */
  initiated: Date;
  dir: string;
}

/** Upload ids are hex from s3rver; anything else could escape the uploads directory. */
const UPLOAD_ID = /^[0-9a-f]+$/i;

async function storedUploads(store: S3rverStore, bucket: string): Promise<StoredUpload[]> {
  const root = store.getResourcePath(bucket, undefined, 'uploads');
  const ids = await readdir(root).catch(() => [] as string[]);
  const uploads: StoredUpload[] = [];
  for (const uploadId of ids.filter((id) => UPLOAD_ID.test(id))) {
    const dir = join(root, uploadId);
    try {
      const keyFile = join(dir, 'key');
      const [key, info] = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]);
      uploads.push({ uploadId, key, initiated: info.mtime, dir });
    } catch {
      // Being created or removed right now: not an upload yet, or not any more.
    }
  }
  return uploads;
}

/**
 * A ListMultipartUploads answer listing the uploads in progress under `prefix` (s3rver answers
 * 501): all in one page, ordered by key then initiation, as S3 orders them. The `minio` client
 * sends this before every multipart upload (to resume an earlier one of the same key), and the
 * relay's cleanup of incomplete uploads relies on it.
 */
async function uploadList(store: S3rverStore, bucket: string, query: KoaContext['query']): Promise<string> {
  const prefix = firstValue(query.prefix);
  const uploads = (await storedUploads(store, bucket))
    .filter((upload) => upload.key.startsWith(prefix))
    .sort((a, b) => a.key.localeCompare(b.key) || a.initiated.getTime() - b.initiated.getTime());
  const entries = uploads
    .map(
      (upload) =>
        `<Upload><Key>${escapeXml(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId>` +
        `<Initiated>${upload.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
    )
    .join('');
  return (
    `${XML_HEADER}<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Bucket>${escapeXml(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
    `<NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker><Prefix>${escapeXml(prefix)}</Prefix>` +
    `<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${entries}</ListMultipartUploadsResult>`
  );
}

/** A ListParts answer (s3rver treats the request as a GET of the object): every stored part, one page. */
async function partList(upload: StoredUpload, bucket: string): Promise<string> {
  const names = await readdir(upload.dir);
  const numbers = names
    .filter((name) => /^[0-9]+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
  const parts: string[] = [];
  for (const number of numbers) {
    try {
      const [info, md5] = await Promise.all([
        stat(join(upload.dir, String(number))),
        readFile(join(upload.dir, `${number}.md5`), 'utf8'),
      ]);
      parts.push(
        `<Part><PartNumber>${number}</PartNumber><LastModified>${info.mtime.toISOString()}</LastModified>` +
          `<ETag>"${md5.trim()}"</ETag><Size>${info.size}</Size></Part>`,
      );
    } catch {
      // A part still being written has no .md5 yet: not listed, as S3 lists only finished parts.
    }
  }
  return (
    `${XML_HEADER}<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId>` +
    `<PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>0</NextPartNumberMarker><MaxParts>10000</MaxParts>` +
    `<IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`
  );
}

function noSuchUpload(ctx: KoaContext, uploadId: string): void {
  ctx.status = 404;
  ctx.type = 'application/xml';
  ctx.body =
    `${XML_HEADER}<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message>` +
    `<UploadId>${escapeXml(uploadId)}</UploadId></Error>`;
}

/**
 * Koa middleware filling the gaps between s3rver 3.7.1 and the `minio` v8 client:
 * - `GET /<bucket>?uploads` (ListMultipartUploads): 501 in s3rver → the uploads in progress;
 * - `PUT /<bucket>/<key>?partNumber=…&uploadId=…` (UploadPart) of an upload that does not exist
 *   (aborted, also while the part is being written): s3rver would store it under a new
 *   directory, or fail with 500 → `NoSuchUpload`, as S3 answers;
 * - `GET /<bucket>/<key>?uploadId=…` (ListParts): a GET of the object in s3rver → the stored
 *   parts (the `minio` client lists them to resume an upload it found), or `NoSuchUpload`;
 * - `DELETE /<bucket>/<key>?uploadId=…` (AbortMultipartUpload): 405 in s3rver → 204, and the
 *   stored parts are removed, as a real server would.
 * Requests for unknown buckets fall through so s3rver answers `NoSuchBucket` itself. These
 * requests are not signature-checked: a test server only.
 */
export function s3rverFixes(): KoaMiddleware {
  return async (ctx, next) => {
    const { bucket, key } = splitPath(ctx.path);
    const listUploads = ctx.method === 'GET' && key === '' && 'uploads' in ctx.query;
    const abortUpload = ctx.method === 'DELETE' && key !== '' && 'uploadId' in ctx.query;
    const listParts = ctx.method === 'GET' && key !== '' && 'uploadId' in ctx.query;
    const uploadPart = ctx.method === 'PUT' && key !== '' && 'uploadId' in ctx.query && 'partNumber' in ctx.query;
    const handled = listUploads || abortUpload || listParts || uploadPart;
    if (bucket === '' || !handled || !(await ctx.app.store.getBucket(bucket))) {
      await next();
      return;
    }
    if (listUploads) {
      ctx.status = 200;
      ctx.type = 'application/xml';
      ctx.body = await uploadList(ctx.app.store, bucket, ctx.query);
      return;
    }
    const uploadId = firstValue(ctx.query.uploadId);
    if (uploadPart) {
      // s3rver would recreate the directory of an aborted upload for a late part: refuse it, as S3 does.
      const known = (await storedUploads(ctx.app.store, bucket)).some((u) => u.uploadId === uploadId && u.key === key);
      if (!known) {
        noSuchUpload(ctx, uploadId);
        return;
      }
      try {
        await next();
      } catch (error) {
        // Aborted while this part was being written: its directory is gone.
        if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
        noSuchUpload(ctx, uploadId);
      }
      return;
    }
    if (listParts) {
      const upload = (await storedUploads(ctx.app.store, bucket)).find((u) => u.uploadId === uploadId && u.key === key);
      if (!upload) {
        noSuchUpload(ctx, uploadId);
        return;
      }
      ctx.status = 200;
      ctx.type = 'application/xml';
      ctx.body = await partList(upload, bucket);
      return;
    }
    if (UPLOAD_ID.test(uploadId)) {
      const uploads = ctx.app.store.getResourcePath(bucket, undefined, 'uploads');
      await rm(join(uploads, uploadId), { recursive: true, force: true });
    }
    ctx.status = 204;
  };
}
