import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import * as Minio from 'minio';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamDigest } from '../http/stream-helpers.js';
import { minioClientOptions, type S3Harness, startS3Server } from './index.js';

const BUCKET = 'relay-test';
const MiB = 1024 * 1024;

/** A stream of `total` pseudo-random bytes in `chunk`-sized pieces, with no declared length. */
function randomStream(total: number, chunk = 256 * 1024): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const piece = randomBytes(Math.min(chunk, total - sent));
      sent += piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

async function listNames(client: Minio.Client, bucket: string, prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for await (const item of client.listObjects(bucket, prefix, true)) {
    if ('name' in item && typeof item.name === 'string') names.push(item.name);
  }
  return names.sort();
}

describe('startS3Server', () => {
  let s3: S3Harness;
  let client: Minio.Client;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    client = new Minio.Client(minioClientOptions(s3));
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('listens on 127.0.0.1 and pre-creates the requested buckets', async () => {
    if (s3.kind === 's3rver') expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await client.bucketExists(BUCKET)).toBe(true);
  });

  it('makes buckets and reports their existence', async () => {
    expect(await client.bucketExists('made-here')).toBe(false);
    await client.makeBucket('made-here', s3.region);
    expect(await client.bucketExists('made-here')).toBe(true);
  });

  it('stores a stream of known size with metadata, then stats and reads it back', async () => {
    const body = randomBytes(300 * 1024);
    await client.putObject(BUCKET, 'known/video.mp4', Readable.from([body]), body.length, {
      'Content-Type': 'video/mp4',
      'X-Amz-Meta-Task-Id': 'task-1',
      'x-amz-meta-sha256': 'abc',
    });
    const stat = await client.statObject(BUCKET, 'known/video.mp4');
    expect(stat.size).toBe(body.length);
    // Metadata comes back lower-cased without the x-amz-meta- prefix.
    expect(stat.metaData).toMatchObject({ 'content-type': 'video/mp4', 'task-id': 'task-1', sha256: 'abc' });
    const read = await streamDigest(await client.getObject(BUCKET, 'known/video.mp4'));
    expect(read).toEqual({ sha256: createHash('sha256').update(body).digest('hex'), size: body.length });
  });

  it('streams an upload of unknown size over several parts (multipart) byte-exactly', async () => {
    const partClient = new Minio.Client(minioClientOptions(s3, 5 * MiB));
    const source = randomStream(20 * MiB);
    await partClient.putObject(BUCKET, 'multi/big.bin', source.stream, undefined, {
      'Content-Type': 'application/octet-stream',
    });
    const sent = source.sha256();
    expect((await client.statObject(BUCKET, 'multi/big.bin')).size).toBe(20 * MiB);
    const read = await streamDigest(await client.getObject(BUCKET, 'multi/big.bin'));
    expect(read).toEqual({ sha256: sent, size: 20 * MiB });
    expect(await listNames(client, BUCKET, 'multi/')).toEqual(['multi/big.bin']);
  });

  it('lists and removes objects', async () => {
    await client.putObject(BUCKET, 'list/a.txt', Buffer.from('a'));
    await client.putObject(BUCKET, 'list/b.txt', Buffer.from('b'));
    expect(await listNames(client, BUCKET, 'list/')).toEqual(['list/a.txt', 'list/b.txt']);
    await client.removeObject(BUCKET, 'list/a.txt');
    expect(await listNames(client, BUCKET, 'list/')).toEqual(['list/b.txt']);
    await expect(client.statObject(BUCKET, 'list/a.txt')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('serves presigned GET URLs to a plain HTTP client', async () => {
    await client.putObject(BUCKET, 'presigned/cover.png', Buffer.from('not really a png'), undefined, {
      'Content-Type': 'image/png',
    });
    const url = await client.presignedGetObject(BUCKET, 'presigned/cover.png', 60);
    const response = await request(url);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/png');
    expect(await response.body.text()).toBe('not really a png');
  });

  it('answers the multipart bookkeeping calls the minio client makes', async () => {
    const uploads: unknown[] = [];
    for await (const upload of client.listIncompleteUploads(BUCKET, '', true)) uploads.push(upload);
    expect(uploads).toEqual([]);
    // removeIncompleteUpload lists uploads first; with none in progress it must simply succeed.
    await expect(client.removeIncompleteUpload(BUCKET, 'nothing.bin')).resolves.toBeUndefined();
  });

  it('lists an upload in progress with the size of its parts, until it is aborted', async () => {
    const key = 'inflight/video.mp4';
    const uploadId = await client.initiateNewMultipartUpload(BUCKET, key, {});
    await client.uploadPart(
      { bucketName: BUCKET, objectName: key, uploadID: uploadId, partNumber: 1, headers: {} },
      Buffer.alloc(5 * MiB, 1),
    );
    const listed: Array<{ key: string; uploadId: string; size: number; initiated: Date }> = [];
    for await (const upload of client.listIncompleteUploads(BUCKET, 'inflight/', true)) listed.push(upload);
    expect(listed).toEqual([expect.objectContaining({ key, uploadId, size: 5 * MiB })]);
    expect(listed[0]?.initiated).toBeInstanceOf(Date);
    await client.abortMultipartUpload(BUCKET, key, uploadId);
    // A part that arrives after the abort is refused, and brings nothing back.
    const late = { bucketName: BUCKET, objectName: key, uploadID: uploadId, partNumber: 2, headers: {} };
    await expect(client.uploadPart(late, Buffer.alloc(16))).rejects.toMatchObject({ code: 'NoSuchUpload' });
    const after: unknown[] = [];
    for await (const upload of client.listIncompleteUploads(BUCKET, 'inflight/', true)) after.push(upload);
    expect(after).toEqual([]);
  });

  it('aborts a multipart upload with 204 and leaves no object (s3rver only: anonymous requests)', async (ctx) => {
    if (s3.kind !== 's3rver') ctx.skip();
    const objectUrl = `${s3.endpoint}/${BUCKET}/aborted/part.bin`;
    const initiated = await request(`${objectUrl}?uploads`, { method: 'POST' });
    expect(initiated.statusCode).toBe(200);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await initiated.body.text())?.[1];
    expect(uploadId).toBeDefined();
    const part = await request(`${objectUrl}?partNumber=1&uploadId=${uploadId}`, { method: 'PUT', body: 'part' });
    expect(part.statusCode).toBe(200);
    await part.body.dump();
    const aborted = await request(`${objectUrl}?uploadId=${uploadId}`, { method: 'DELETE' });
    expect(aborted.statusCode).toBe(204);
    await aborted.body.dump();
    expect(await listNames(client, BUCKET, 'aborted/')).toEqual([]);
  });

  it('keeps objects across restart() on the same endpoint', async (ctx) => {
    if (s3.kind === 'external') ctx.skip();
    await client.putObject(BUCKET, 'durable/kept.txt', Buffer.from('still here'));
    const endpoint = s3.endpoint;
    await s3.restart();
    expect(s3.endpoint).toBe(endpoint);
    const read = await streamDigest(await client.getObject(BUCKET, 'durable/kept.txt'));
    expect(read).toEqual({ sha256: createHash('sha256').update('still here').digest('hex'), size: 10 });
  });

  it('refuses connections while suspended and serves again after resume()', async (ctx) => {
    if (s3.kind === 'external') ctx.skip();
    await client.putObject(BUCKET, 'outage/kept.txt', Buffer.from('x'));
    await s3.suspend();
    await expect(client.statObject(BUCKET, 'outage/kept.txt')).rejects.toThrow();
    await s3.resume();
    expect((await client.statObject(BUCKET, 'outage/kept.txt')).size).toBe(1);
  });
});

describe('startS3Server with S3_ENDPOINT', () => {
  it('uses the external endpoint, creates buckets there and never stops it', async () => {
    const owner = await startS3Server({ env: {} });
    try {
      const env = { S3_ENDPOINT: `${owner.endpoint}/`, S3_ACCESS_KEY: owner.accessKey, S3_SECRET_KEY: owner.secretKey };
      const external = await startS3Server({ env, buckets: ['external-bucket'] });
      expect(external).toMatchObject({ kind: 'external', endpoint: owner.endpoint, dataDir: undefined });
      await external.stop();
      await expect(external.restart()).rejects.toThrow(/external S3_ENDPOINT/);
      const client = new Minio.Client(minioClientOptions(owner));
      expect(await client.bucketExists('external-bucket')).toBe(true);
    } finally {
      await owner.stop();
    }
    if (owner.dataDir) expect(existsSync(owner.dataDir)).toBe(false);
  });

  it('names the missing variable when S3_ENDPOINT comes without keys', async () => {
    await expect(startS3Server({ env: { S3_ENDPOINT: 'http://127.0.0.1:1' } })).rejects.toThrow(/S3_ACCESS_KEY/);
  });
});
