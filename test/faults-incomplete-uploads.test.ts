import { generatedSha256 } from '@runway-relay/simulator';
import { minioClientOptions, waitFor } from '@runway-relay/testkit';
import { sweepStaleUploads } from '@runway-relay/worker';
import * as Minio from 'minio';
import { afterEach, describe, expect, it } from 'vitest';
import { type ListedUpload, listIncompleteUploads, listObjects, objectSha256 } from './helpers/faults-bucket.js';
import { useBacking } from './helpers/per-file.js';
import { type ServiceProcess, spawnService, workerProcessEnv } from './helpers/processes.js';
import { newTaskId, type Stack, simulatedSuccess, startStack } from './helpers/stack.js';

/**
 * Multipart uploads must not outlive their transfer: a failed transfer aborts its upload, and
 * the uploads of a killed worker are swept once they are older than any transfer can last.
 */

const MiB = 1024 * 1024;
/** The smallest part S3 allows: a few MiB of media already make a multipart upload. */
const PART_SIZE = String(5 * MiB);
/** Twice the part size reaches the store before the source fails or the worker is killed. */
const MULTIPART_VIDEO = 24 * MiB;

const backing = useBacking();
let stack: Stack | undefined;
const spawned: ServiceProcess[] = [];

afterEach(async () => {
  await Promise.all(spawned.splice(0).map((worker) => worker.stop('SIGKILL')));
  await stack?.close();
  stack = undefined;
});

/** Waits until an upload under `prefix` holds at least `bytes` in its parts. */
function waitForUpload(prefix: string, bytes: number): Promise<ListedUpload> {
  return waitFor(
    async () => (await listIncompleteUploads(backing.s3, prefix)).find((upload) => upload.size >= bytes) ?? null,
    { timeoutMs: 20_000, description: `an incomplete upload of ${bytes} bytes under ${prefix}/` },
  );
}

async function abortedUploads(current: Stack, reason: string): Promise<number> {
  const metric = await current.worker.metrics.uploadsAborted.get();
  return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('a transfer that fails after some parts were uploaded', () => {
  it('aborts its multipart upload: none is left once the task failed', async () => {
    stack = await startStack(backing, { S3_PART_SIZE: PART_SIZE, JOB_ATTEMPTS: '2' });
    const prefix = stack.ingress.config.QUEUE_PREFIX;
    const taskId = newTaskId();
    // Full Content-Length, then a reset after half the body: 12 MiB, two parts and a bit.
    await stack.deliver(simulatedSuccess(backing.media, taskId, { size: MULTIPART_VIDEO, behavior: 'truncate' }, null));
    const [event] = await stack.waitForEvents(1);
    expect(event).toMatchObject({ type: 'task.failed', category: 'source_unavailable', attempts: 2 });
    expect(backing.media.bytesWritten(backing.media.pathOf(taskId, 'video'))).toBeGreaterThanOrEqual(2 * 12 * MiB);

    expect(await listIncompleteUploads(backing.s3, prefix)).toEqual([]);
    expect(await listObjects(backing.s3, prefix)).toEqual([]);
    expect(await abortedUploads(stack, 'failed_transfer')).toBe(2);
  });
});

describe('the sweep of stale uploads', () => {
  it('removes, on the next worker start, the upload a SIGKILLed worker left behind', async () => {
    stack = await startStack(backing);
    const prefix = stack.ingress.config.QUEUE_PREFIX;
    const workerEnv = (queuePrefix: string, env: Record<string, string>) =>
      workerProcessEnv(backing, queuePrefix, { S3_PREFIX: prefix, S3_PART_SIZE: PART_SIZE, ...env });
    // The in-process worker stays paused: the job is the spawned worker's alone.
    await stack.worker.worker.pause();
    const first = spawnService('worker', workerEnv(prefix, {}));
    spawned.push(first);
    const taskId = newTaskId();
    await stack.deliver(
      simulatedSuccess(backing.media, taskId, { size: MULTIPART_VIDEO, behavior: 'slow:4000000' }, null),
    );
    const left = await waitForUpload(prefix, 5 * MiB);
    await first.stop('SIGKILL');
    expect(await listIncompleteUploads(backing.s3, prefix)).toEqual([expect.objectContaining({ key: left.key })]);

    // A worker on another queue (it never retakes the job) sharing the object prefix, with a
    // stale age of 1 s, which the upload has reached by the time that worker starts.
    await waitFor(async () => Date.now() - left.initiated.getTime() > 1500, { description: 'the upload 1.5 s old' });
    const second = spawnService(
      'worker',
      workerEnv(`${prefix}-sweeper`, { S3_STALE_UPLOAD_S: '1', DOWNLOAD_MAX_DURATION_MS: '500' }),
    );
    spawned.push(second);
    await second.waitForLog('stale incomplete upload aborted');
    expect(await listIncompleteUploads(backing.s3, prefix)).toEqual([]);
    const line = second.lines().find((l) => l.msg === 'stale incomplete upload aborted');
    expect(line).toMatchObject({ key: left.key, upload_id: left.uploadId });
    expect(await listObjects(backing.s3, prefix)).toEqual([]);
  });

  it('leaves a running transfer alone, and uploads outside its prefix', async () => {
    stack = await startStack(backing, { S3_PART_SIZE: PART_SIZE });
    const prefix = stack.ingress.config.QUEUE_PREFIX;
    const { store, config } = stack.worker;
    const taskId = newTaskId();
    await stack.deliver(
      simulatedSuccess(backing.media, taskId, { size: MULTIPART_VIDEO, behavior: 'slow:6000000' }, null),
    );
    await waitForUpload(prefix, 5 * MiB);
    const staleMs = config.S3_STALE_UPLOAD_S * 1000;
    expect(await sweepStaleUploads({ store, prefix, staleMs })).toEqual({ aborted: 0, kept: 1, failed: 0 });

    const [event] = await stack.waitForEvents(1);
    expect(event).toMatchObject({ type: 'media.stored' });
    const key = `${prefix}/${taskId}/video.mp4`;
    expect(await objectSha256(backing.s3, key)).toBe(await generatedSha256('video', MULTIPART_VIDEO, taskId));

    // Uploads nobody runs, seen from 10 h later: the one under the prefix goes, the other stays.
    const client = new Minio.Client(minioClientOptions(backing.s3));
    const outside = `${prefix}-other/x/video.mp4`;
    await client.initiateNewMultipartUpload(store.bucket, outside, {});
    await client.initiateNewMultipartUpload(store.bucket, `${prefix}/abandoned/video.mp4`, {});
    const later = () => Date.now() + 10 * 3600_000;
    expect(await sweepStaleUploads({ store, prefix, staleMs, now: later })).toEqual({ aborted: 1, kept: 0, failed: 0 });
    expect(await listIncompleteUploads(backing.s3, prefix)).toEqual([]);
    expect((await listIncompleteUploads(backing.s3, `${prefix}-other`)).map((u) => u.key)).toEqual([outside]);
  });
});
