import { setTimeout as sleep } from 'node:timers/promises';
import type { MediaStoredEvent } from '@runway-relay/contracts';
import { generatedSha256 } from '@runway-relay/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { listObjects, objectSha256 } from './helpers/faults-bucket.js';
import { useBacking } from './helpers/per-file.js';
import { newTaskId, type Stack, simulatedSuccess, startStack } from './helpers/stack.js';

/**
 * The object store goes away for a few seconds in the middle of a batch. Storage errors are
 * retryable, so with a retry budget longer than the outage every job backs off and completes
 * after the store is back: no task.failed, every file stored whole. The worker checks the
 * store before each download, so the attempts made while it is down do not fetch the media.
 */

const TASKS = 30;
const VIDEO_SIZE = 40_000;
const COVER_SIZE = 2_000;
/** 40 KB at 40 KB/s: a second per video for the first half of the batch, so the outage lands mid-transfer. */
const VIDEO_BEHAVIOR = 'slow:40000';
const OUTAGE_MS = 3000;
/**
 * Backoff 200 ms doubling (±50 % jitter): attempts 2..6 start at least 0.1, 0.3, 0.7, 1.5 and
 * 3.1 s after the first failure, and 10 attempts reach past 50 s, far beyond the outage.
 */
const POLICY = { JOB_ATTEMPTS: '10', JOB_BACKOFF_MS: '200', WORKER_CONCURRENCY: '8' };
/**
 * Downloads the outage may cost on top of one per video: each job slot holds at most one
 * transfer that was under way, or started within the ~1 s the store's last "ready" is trusted,
 * when the store went down; its upload fails and the retry fetches the file again.
 */
const EXTRA_DOWNLOADS = Number(POLICY.WORKER_CONCURRENCY);

const backing = useBacking();
let stack: Stack | undefined;

afterEach(async () => {
  await backing.s3.resume();
  await stack?.close();
  stack = undefined;
});

describe('S3 unavailable during a batch', () => {
  it('jobs back off while the store is down and all complete after it is back: zero task.failed', async () => {
    stack = await startStack(backing, POLICY);
    const current = stack;
    const prefix = current.ingress.config.QUEUE_PREFIX;
    const taskIds = Array.from({ length: TASKS }, newTaskId);
    const early = taskIds.slice(0, TASKS / 2);
    const late = taskIds.slice(TASKS / 2);
    // Early tasks: throttled videos, several still downloading when the store goes away.
    for (const taskId of early) await deliver(current, taskId, VIDEO_BEHAVIOR);
    const storedBefore = (await current.waitForEvents(3, 20_000)).length;
    const suspendedAt = Date.now();
    await backing.s3.suspend();
    // Late tasks arrive during the outage: fast downloads, so they fail and back off repeatedly.
    for (const taskId of late) await deliver(current, taskId, 'ok');
    await sleep(OUTAGE_MS); // the outage itself
    const retriesDuringOutage = await retryCount(current);
    await backing.s3.resume();
    const resumedAt = Date.now();

    const events = await current.waitForEvents(TASKS, 60_000);
    const allStoredAfterMs = Date.now() - resumedAt;
    const stored = events.filter((e): e is MediaStoredEvent => e.type === 'media.stored');
    const failed = events.filter((e) => e.type === 'task.failed');
    const retried = stored.filter((e) => e.attempts > 1);
    const downloadsOf = (ids: string[]) => ids.map((id) => backing.media.requests(backing.media.pathOf(id, 'video')));
    const perVideo = downloadsOf(taskIds);
    const downloads = perVideo.reduce((a, b) => a + b, 0);
    console.log(
      `[faults] s3 outage ${resumedAt - suspendedAt} ms: tasks ${TASKS}, stored before the outage ${storedBefore}, ` +
        `storage retries during the outage ${retriesDuringOutage}, media.stored ${stored.length} ` +
        `(${retried.length} after more than one attempt, max attempts ${Math.max(...stored.map((e) => e.attempts))}), ` +
        `task.failed ${failed.length}, video downloads ${downloads} (early ${downloadsOf(early)}; late ${downloadsOf(late)}), ` +
        `all stored ${allStoredAfterMs} ms after the store came back`,
    );

    expect(failed).toEqual([]);
    expect(new Set(stored.map((e) => e.task_id))).toEqual(new Set(taskIds));
    expect(stored).toHaveLength(TASKS);
    expect(retriesDuringOutage, 'jobs hit the outage and were retried').toBeGreaterThan(0);
    expect(retried.length).toBeGreaterThan(0);
    for (const event of stored) expect(event.missing).toEqual([]);

    // Retries while the store was down failed on its readiness check, before the source: no
    // video was fetched again per attempt (up to 6 attempts here), at most once more in all.
    expect(Math.max(...perVideo), `downloads per video: ${perVideo}`).toBeLessThanOrEqual(2);
    expect(downloads, `downloads per video: ${perVideo}`).toBeLessThanOrEqual(TASKS + EXTRA_DOWNLOADS);

    // Every file is in the bucket once, whole, byte for byte what the source served.
    const objects = await listObjects(backing.s3, prefix);
    const expected = taskIds.flatMap((id) => [
      { key: `${prefix}/${id}/cover.png`, size: COVER_SIZE },
      { key: `${prefix}/${id}/video.mp4`, size: VIDEO_SIZE },
    ]);
    expect(objects).toEqual(expected.sort((a, b) => a.key.localeCompare(b.key)));
    for (const taskId of taskIds) {
      expect(await objectSha256(backing.s3, `${prefix}/${taskId}/video.mp4`)).toBe(
        await generatedSha256('video', VIDEO_SIZE, taskId),
      );
      expect((await current.task(taskId))?.status).toBe('stored');
    }
  }, 120_000);
});

describe('S3 unavailable when a job starts', () => {
  it('fails the attempt with storage_error without requesting the media', async () => {
    stack = await startStack(backing, { JOB_ATTEMPTS: '1' });
    await backing.s3.suspend();
    const taskId = newTaskId();
    await deliver(stack, taskId, 'ok');
    const [event] = await stack.waitForEvents(1);
    expect(event).toMatchObject({ type: 'task.failed', source: 'storage', category: 'storage_error', retryable: true });
    expect(event?.type === 'task.failed' ? event.detail : null).toMatch(
      /^object store not reachable, source not fetched/,
    );
    expect(backing.media.requests(backing.media.pathOf(taskId, 'video'))).toBe(0);
    expect(backing.media.requests(backing.media.pathOf(taskId, 'cover'))).toBe(0);
  });
});

async function deliver(current: Stack, taskId: string, behavior: string): Promise<void> {
  const body = simulatedSuccess(backing.media, taskId, { size: VIDEO_SIZE, behavior }, { size: COVER_SIZE });
  expect((await current.deliver(body)).status).toBe(200);
}

/** Job attempts the worker gave up on for a retryable storage error so far. */
async function retryCount(current: Stack): Promise<number> {
  const metric = await current.worker.metrics.jobs.get();
  return metric.values
    .filter((v) => v.labels.outcome === 'retry' && v.labels.category === 'storage_error')
    .reduce((total, v) => total + v.value, 0);
}
