import { rm } from 'node:fs/promises';
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

/**
 * An empty ListMultipartUploads answer. s3rver answers 501 to `GET /<bucket>?uploads`, which the
 * `minio` client sends before every multipart upload (to resume an earlier one); reporting no
 * in-progress uploads makes the client start a fresh one, which s3rver does support.
 */
function emptyUploadList(bucket: string, query: KoaContext['query']): string {
  const prefix = escapeXml(firstValue(query.prefix));
  return (
    `${XML_HEADER}<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Bucket>${escapeXml(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
    `<NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker><Prefix>${prefix}</Prefix>` +
    '<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>'
  );
}

/**
 * Koa middleware filling the gaps between s3rver 3.7.1 and the `minio` v8 client:
 * - `GET /<bucket>?uploads` (ListMultipartUploads): 501 in s3rver → an empty list;
 * - `DELETE /<bucket>/<key>?uploadId=…` (AbortMultipartUpload): 405 in s3rver → 204, and the
 *   stored parts are removed, as a real server would.
 * Requests for unknown buckets fall through so s3rver answers `NoSuchBucket` itself. These two
 * requests are not signature-checked: a test server only.
 */
export function s3rverFixes(): KoaMiddleware {
  return async (ctx, next) => {
    const { bucket, key } = splitPath(ctx.path);
    const listUploads = ctx.method === 'GET' && key === '' && 'uploads' in ctx.query;
    const abortUpload = ctx.method === 'DELETE' && key !== '' && 'uploadId' in ctx.query;
    if (bucket === '' || !(listUploads || abortUpload) || !(await ctx.app.store.getBucket(bucket))) {
      await next();
      return;
    }
    if (listUploads) {
      ctx.status = 200;
      ctx.type = 'application/xml';
      ctx.body = emptyUploadList(bucket, ctx.query);
      return;
    }
    const uploadId = firstValue(ctx.query.uploadId);
    // Upload ids are hex from s3rver; refuse anything that could escape the uploads directory.
    if (/^[0-9a-f]+$/i.test(uploadId)) {
      const uploads = ctx.app.store.getResourcePath(bucket, undefined, 'uploads');
      await rm(join(uploads, uploadId), { recursive: true, force: true });
    }
    ctx.status = 204;
  };
}
