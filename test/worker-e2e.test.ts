import type { MediaStoredEvent, TaskFailedEvent } from '@runway-relay/contracts';
import { generatedSha256 } from '@runway-relay/simulator';
import { loadFixture, waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { jobIdFor } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { newTaskId, type Stack, simulatedSuccess, startStack } from './helpers/stack.js';

const backing = useBacking();
let stack: Stack;

afterEach(async () => {
  await stack?.close();
});

const stored = (events: unknown[]) =>
  events.filter((e): e is MediaStoredEvent => (e as MediaStoredEvent).type === 'media.stored');
const failed = (events: unknown[]) =>
  events.filter((e): e is TaskFailedEvent => (e as TaskFailedEvent).type === 'task.failed');

async function jobState(taskId: string, outcome: 'success' | 'failure' = 'success') {
  const job = await stack.ingress.queue.getJob(jobIdFor(taskId, outcome));
  return job ? await job.getState() : 'missing';
}

async function waitForJob(taskId: string, states: string[], outcome: 'success' | 'failure' = 'success') {
  return waitFor(async () => states.includes(await jobState(taskId, outcome)), {
    timeoutMs: 20_000,
    description: `job of ${taskId} in ${states.join('/')}`,
  });
}

describe('a success callback end to end', () => {
  it('stores the video and the cover byte for byte and emits exactly one media.stored', async () => {
    stack = await startStack(backing);
    const taskId = newTaskId();
    expect((await stack.deliver(simulatedSuccess(backing.media, taskId))).body.status).toBe('received');
    const [event] = stored(await stack.waitForEvents(1));
    await waitForJob(taskId, ['completed']);

    expect(event).toMatchObject({ task_id: taskId, video_id: `v-${taskId}`, attempts: 1, missing: [] });
    const prefix = stack.ingress.config.QUEUE_PREFIX;
    const [video, cover] = event?.objects ?? [];
    expect(video).toEqual({
      kind: 'video',
      bucket: 'runway-media',
      key: `${prefix}/${taskId}/video.mp4`,
      size: 300_000,
      sha256: await generatedSha256('video', 300_000, taskId),
      content_type: 'video/mp4',
    });
    expect(cover).toMatchObject({ kind: 'cover', key: `${prefix}/${taskId}/cover.png`, size: 20_000 });
    expect(cover?.sha256).toBe(await generatedSha256('cover', 20_000, taskId));

    const stat = await stack.worker.store.stat(video?.key ?? '');
    expect(stat?.size).toBe(300_000);
    expect(stat?.metadata).toMatchObject({
      'task-id': taskId,
      sha256: video?.sha256,
      'source-host': `127.0.0.1:${backing.media.port}`,
    });
    expect(JSON.stringify(stat?.metadata)).not.toContain('sig=');

    const state = await stack.task(taskId);
    expect(state).toMatchObject({ status: 'stored', video: video, cover: cover });

    // A duplicate delivery afterwards is answered duplicate and downloads nothing again.
    expect((await stack.deliver(simulatedSuccess(backing.media, taskId))).body.status).toBe('duplicate');
    expect(backing.media.requests(backing.media.pathOf(taskId, 'video'))).toBe(1);
    expect(stored(await stack.events())).toHaveLength(1);
  });

  it('normalises the Aleph shape (result_video_url) into the same pipeline', async () => {
    stack = await startStack(backing);
    const taskId = newTaskId();
    const body = {
      code: 200,
      msg: 'success',
      taskId,
      data: {
        result_video_url: backing.media.url(taskId, 'video', { size: 50_000 }),
        result_image_url: backing.media.url(taskId, 'cover', { size: 5_000 }),
      },
    };
    expect((await stack.deliver(body)).status).toBe(200);
    const [event] = stored(await stack.waitForEvents(1));
    expect(event?.objects.map((o) => o.kind)).toEqual(['video', 'cover']);
  });
});

describe('provider failure callbacks', () => {
  it('every failure fixture ends as one task.failed with its category', async () => {
    stack = await startStack(backing);
    const fixtures = loadFixture('callbacks.json').filter((f) => f.expect_category !== 'success');
    const expected = new Map<string, string>();
    for (const fixture of fixtures) {
      const taskId = newTaskId();
      const body = structuredClone(fixture.body) as { data: { task_id: string } };
      body.data.task_id = taskId;
      expected.set(taskId, fixture.expect_category);
      expect((await stack.deliver(body)).status).toBe(200);
    }
    const events = failed(await stack.waitForEvents(fixtures.length));
    expect(events).toHaveLength(fixtures.length);
    for (const event of events) {
      expect(event.category, event.provider_message ?? '').toBe(expected.get(event.task_id));
      expect(event).toMatchObject({ source: 'provider', attempts: 1, detail: null });
      expect((await stack.taskWhen(event.task_id, 'failed')).status).toBe('failed');
    }
  });

  it('a failure superseded by a success before the worker ran is skipped', async () => {
    stack = await startStack(backing);
    await stack.worker.worker.pause();
    const taskId = newTaskId();
    await stack.deliver({ code: 500, msg: 'Generation failed', data: { task_id: taskId } });
    // Signed a second later: only a newer signature may supersede a failure.
    await stack.deliver(simulatedSuccess(backing.media, taskId), Math.floor(Date.now() / 1000) + 1);
    stack.worker.worker.resume();
    await waitForJob(taskId, ['completed'], 'failure');
    await waitForJob(taskId, ['completed']);
    const events = await stack.events();
    expect(events.map((e) => e.type)).toEqual(['media.stored']);
  });
});

describe('download failures: category and retry behaviour', () => {
  const cases = [
    { behavior: 'status:404', category: 'link_expired', requests: 1, retryable: false },
    { behavior: 'status:410', category: 'link_expired', requests: 1, retryable: false },
    { behavior: 'status:503', category: 'source_unavailable', requests: 4, retryable: true },
    // The category is retryable in the taxonomy; this error says it is not, and the event says so too.
    { behavior: 'status:400', category: 'source_unavailable', requests: 1, retryable: false },
    { behavior: 'html', category: 'content_type_mismatch', requests: 1, retryable: false },
    { behavior: 'html-as-media', category: 'content_type_mismatch', requests: 1, retryable: false },
    { behavior: 'truncate', category: 'source_unavailable', requests: 4, retryable: true },
    { behavior: 'redirect-loop', category: 'blocked_url', requests: 4, retryable: false, exact: false },
  ];
  it.each(cases)('$behavior → $category after $requests request(s)', async (c) => {
    stack = await startStack(backing);
    const taskId = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, taskId, { size: 100_000, behavior: c.behavior }, null));
    const [event] = failed(await stack.waitForEvents(1));
    expect(event).toMatchObject({ task_id: taskId, source: 'download', category: c.category, retryable: c.retryable });
    await waitForJob(taskId, ['failed']);
    const requests = backing.media.requests(backing.media.pathOf(taskId, 'video'));
    if (c.exact === false) expect(requests).toBeGreaterThanOrEqual(1);
    else expect(requests).toBe(c.requests);
    expect(await stack.worker.store.stat(`${stack.ingress.config.QUEUE_PREFIX}/${taskId}/video.mp4`)).toBeNull();
    expect(await stack.task(taskId)).toMatchObject({ status: 'failed', error_category: c.category });
  });

  it('a 5xx burst shorter than the retry budget ends stored, with no task.failed', async () => {
    stack = await startStack(backing);
    const taskId = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, taskId, { size: 10_000, behavior: 'flaky:2' }, null));
    const [event] = await stack.waitForEvents(1);
    expect(event).toMatchObject({ type: 'media.stored', attempts: 3 });
    expect(backing.media.requests(backing.media.pathOf(taskId, 'video'))).toBe(3);
  });

  it('video stored, cover failing then recovering: the retry fetches the cover alone', async () => {
    stack = await startStack(backing);
    const taskId = newTaskId();
    await stack.deliver(
      simulatedSuccess(backing.media, taskId, { size: 100_000 }, { size: 5_000, behavior: 'flaky:2' }),
    );
    const [event] = stored(await stack.waitForEvents(1));
    expect(event?.objects.map((o) => o.kind)).toEqual(['video', 'cover']);
    expect(backing.media.requests(backing.media.pathOf(taskId, 'video'))).toBe(1);
    expect(backing.media.requests(backing.media.pathOf(taskId, 'cover'))).toBe(3);
  });

  it('a cover gone for good does not fail the stored video', async () => {
    stack = await startStack(backing);
    const taskId = newTaskId();
    await stack.deliver(
      simulatedSuccess(backing.media, taskId, { size: 10_000 }, { size: 5_000, behavior: 'status:404' }),
    );
    const [event] = stored(await stack.waitForEvents(1));
    expect(event?.objects.map((o) => o.kind)).toEqual(['video']);
    expect(event?.missing).toEqual([{ kind: 'cover', category: 'link_expired', detail: expect.any(String) }]);
  });

  it('an oversized body is aborted early: declared length refused, endless body cut at the limit', async () => {
    stack = await startStack(backing, { DOWNLOAD_MAX_BYTES: String(1024 * 1024) });
    const declared = newTaskId();
    const endless = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, declared, { size: 50 * 1024 * 1024 }, null));
    await stack.deliver(simulatedSuccess(backing.media, endless, { behavior: 'endless' }, null));
    const events = failed(await stack.waitForEvents(2));
    expect(events.map((e) => e.category)).toEqual(['too_large', 'too_large']);
    expect(backing.media.bytesWritten(backing.media.pathOf(declared, 'video'))).toBeLessThan(8 * 1024 * 1024);
    expect(backing.media.bytesWritten(backing.media.pathOf(endless, 'video'))).toBeLessThan(8 * 1024 * 1024);
    expect(backing.media.requests(backing.media.pathOf(endless, 'video'))).toBe(1);
  });

  it('never fetches from our own network: 127.0.0.1 refused by default', async () => {
    stack = await startStack(backing, { DOWNLOAD_ALLOW_PRIVATE: 'false' });
    const taskId = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, taskId, { size: 1000 }, null));
    const [event] = failed(await stack.waitForEvents(1));
    expect(event).toMatchObject({ category: 'blocked_url', retryable: false, action: 'inspect' });
    expect(backing.media.requests(backing.media.pathOf(taskId, 'video'))).toBe(0);
  });

  it.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['loopback by another name', 'http://127.0.0.2:1/x.mp4'],
    ['a private network', 'http://10.1.2.3/x.mp4'],
  ])('a redirect to %s is refused (blocked_url)', async (_name, target) => {
    stack = await startStack(backing, {}, { loopbackIsPublic: true });
    const taskId = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, taskId, { behavior: `redirect-to:${target}` }, null));
    const [event] = failed(await stack.waitForEvents(1));
    expect(event).toMatchObject({ category: 'blocked_url', retryable: false });
    expect(backing.media.requests(backing.media.pathOf(taskId, 'video'))).toBe(1);
  });
});

describe('a job edited to point at another task', () => {
  it("is refused before any download or write: the other task's record and objects stay untouched", async () => {
    stack = await startStack(backing);
    await stack.worker.worker.pause();
    const own = newTaskId();
    const other = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, own, { size: 10_000 }, null));
    const ownBefore = await stack.task(own);
    // What Bull Board's "edit and retry" allows: same job id, another task's callback.
    const job = await stack.ingress.queue.getJob(jobIdFor(own, 'success'));
    const data = job?.data as { callback: Record<string, unknown> };
    const video_url = backing.media.url(other, 'video', { size: 10_000 });
    await job?.updateData({ ...data, callback: { ...data.callback, task_id: other, video_url } });
    stack.worker.worker.resume();

    await waitForJob(own, ['failed']);
    const failedJob = await stack.ingress.queue.getJob(jobIdFor(own, 'success'));
    expect(failedJob?.failedReason).toBe(
      `job_id_mismatch: job ${jobIdFor(own, 'success')} carries the callback of task ${other} (expected job id ${jobIdFor(other, 'success')})`,
    );
    expect(failedJob?.attemptsMade).toBe(1);
    expect(backing.media.requests(backing.media.pathOf(other, 'video'))).toBe(0);
    expect(backing.media.requests(backing.media.pathOf(own, 'video'))).toBe(0);
    expect(await stack.task(other)).toBeNull();
    expect(await stack.task(own)).toEqual(ownBefore);
    expect(await stack.worker.store.stat(`${stack.ingress.config.QUEUE_PREFIX}/${other}/video.mp4`)).toBeNull();
    expect(await stack.events()).toEqual([]);
    const refused = await stack.worker.metrics.jobsRefused.get();
    expect(refused.values).toEqual([{ labels: { reason: 'job_id_mismatch' }, value: 1 }]);
  });
});
