import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { MediaStoredEvent, RelayEvent, TaskConflictEvent, TaskFailedEvent } from '@runway-relay/contracts';
import { generatedSha256 } from '@runway-relay/simulator';
import { waitFor } from '@runway-relay/testkit';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { useBacking } from './helpers/per-file.js';
import { newTaskId, type Stack, startStack } from './helpers/stack.js';

// Verified callbacks (docs/security.md, "Verified callbacks"): the provider's signature covers
// only `<task_id>.<timestamp>`, so a captured signature can carry a forged body. With a provider
// API key the worker asks the simulator's record-detail before downloading and follows it.

const VIDEO = 300_000;
const COVER = 20_000;

const backing = useBacking();
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const verifiedEnv = () => ({ PROVIDER_API_KEY: backing.media.apiKey, PROVIDER_API_URL: backing.media.origin });

/** The provider's record of a finished task whose media the simulator serves under the task id. */
function providerKnows(taskId: string) {
  const videoUrl = backing.media.url(taskId, 'video', { size: VIDEO });
  const imageUrl = backing.media.url(taskId, 'cover', { size: COVER });
  backing.media.tasks.put({ taskId, state: 'success', videoId: `v-${taskId}`, videoUrl, imageUrl });
  return { videoUrl, imageUrl };
}

/** A success callback body for `taskId` with these media URLs. */
function successWith(taskId: string, videoUrl: string, imageUrl: string) {
  return {
    code: 200,
    msg: 'All generated successfully.',
    data: { task_id: taskId, video_id: `v-${taskId}`, video_url: videoUrl, image_url: imageUrl },
  };
}

async function sha256Of(url: string): Promise<string> {
  const res = await request(url);
  expect(res.statusCode).toBe(200);
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function opsGet(running: Stack, path: string) {
  const res = await request(`http://127.0.0.1:${running.worker.opsPort}${path}`);
  return { status: res.statusCode, text: await res.body.text() };
}

function metricValue(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found ? Number(found.slice(line.length).trim()) : 0;
}

const ofType = <T extends RelayEvent['type']>(events: RelayEvent[], type: T) =>
  events.filter((event): event is Extract<RelayEvent, { type: T }> => event.type === type);

describe('verification on (a provider API key is set)', () => {
  it("a forged callback's media are never fetched: the provider's video is stored, task.conflict resolved by provider_api", async () => {
    const logs = new PassThrough();
    const lines: string[] = [];
    logs.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    stack = await startStack(backing, { ...verifiedEnv(), LOG_LEVEL: 'warn' }, { workerLogDestination: logs });
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    // The attacker's media, served by the simulator too, under another id (other bytes), with a
    // query string that must never reach a log line.
    const evilVideo = `${backing.media.url(`evil-${taskId}`, 'video', { size: VIDEO })}&sig=attacker-secret`;
    const evilCover = backing.media.url(`evil-${taskId}`, 'cover', { size: COVER });
    expect((await stack.deliver(successWith(taskId, evilVideo, evilCover))).body.status).toBe('received');

    const events = await stack.waitForEvents(2);
    const [conflict] = ofType(events, 'task.conflict') as TaskConflictEvent[];
    expect(conflict).toMatchObject({
      state: 'resolved',
      resolution: { kept: 'conflicting', by: 'provider_api' },
      accepted: { video_url: backing.media.origin + backing.media.pathOf(`evil-${taskId}`, 'video') },
      conflicting: { video_url: backing.media.origin + backing.media.pathOf(taskId, 'video') },
    });
    const [stored] = ofType(events, 'media.stored') as MediaStoredEvent[];
    const video = stored?.objects.find((object) => object.kind === 'video');
    const realSha = await generatedSha256('video', VIDEO, taskId);
    expect(realSha).not.toBe(await generatedSha256('video', VIDEO, `evil-${taskId}`));
    expect(video?.sha256).toBe(realSha);
    // The object in the bucket is the provider's video, byte for byte.
    expect(await sha256Of(await stack.worker.store.presign(video?.key ?? '', 60))).toBe(realSha);
    expect(backing.media.requests(evilVideo)).toBe(0);
    expect(backing.media.requests(evilCover)).toBe(0);
    expect(backing.media.api.polls(taskId)).toBe(1);

    const task = await stack.taskWhen(taskId, 'stored');
    expect(task).toMatchObject({ status: 'stored', conflict_state: 'resolved', conflicts: 1 });
    expect(task?.content?.video_url).toBe(backing.media.origin + backing.media.pathOf(taskId, 'video'));
    const metrics = (await opsGet(stack, '/metrics')).text;
    expect(metricValue(metrics, 'relay_callback_verification_total{result="disagree"}')).toBe(1);
    // The security event: one warn line with the task id, the redacted differences, no query strings.
    const security = lines.map((line) => JSON.parse(line)).filter((entry) => entry.security === 'callback_mismatch');
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({
      level: 40,
      task_id: taskId,
      differences: [
        { field: 'video_url', differs_in: 'path', callback: evilVideo.split('?')[0] },
        { field: 'image_url', differs_in: 'path' },
      ],
    });
    expect(lines.join('\n')).not.toMatch(/sig=|size=/);

    // The provider's own callback, arriving later, is a duplicate of what was stored.
    const late = await stack.deliver(
      successWith(taskId, real.videoUrl, real.imageUrl),
      Math.floor(Date.now() / 1000) + 1,
    );
    expect(late.body.status).toBe('duplicate');
  });

  it('an agreeing callback is stored as usual after one record-detail call; /readyz says provider_verify on', async () => {
    stack = await startStack(backing, verifiedEnv());
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    await stack.deliver(successWith(taskId, real.videoUrl, real.imageUrl));
    const [stored] = (await stack.waitForEvents(1)) as MediaStoredEvent[];
    expect(stored?.type).toBe('media.stored');
    expect(stored?.objects.find((o) => o.kind === 'video')?.sha256).toBe(await generatedSha256('video', VIDEO, taskId));
    expect(backing.media.api.polls(taskId)).toBe(1);
    expect((await stack.task(taskId))?.conflicts).toBe(0);
    const ready = await opsGet(stack, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', provider_verify: 'on' });
    expect(
      metricValue((await opsGet(stack, '/metrics')).text, 'relay_callback_verification_total{result="agree"}'),
    ).toBe(1);
  });

  it("a success callback the API says failed: task.failed with the API's category, nothing downloaded", async () => {
    stack = await startStack(backing, verifiedEnv());
    const taskId = newTaskId();
    backing.media.tasks.put({
      taskId,
      state: 'fail',
      failCode: 400,
      failMsg: 'Your prompt was caught by our AI moderator.',
    });
    const forged = successWith(
      taskId,
      backing.media.url(`evil-${taskId}`, 'video', { size: VIDEO }),
      backing.media.url(`evil-${taskId}`, 'cover'),
    );
    await stack.deliver(forged);
    const events = await stack.waitForEvents(2);
    const [failed] = ofType(events, 'task.failed') as TaskFailedEvent[];
    expect(failed).toMatchObject({
      source: 'provider',
      category: 'prompt_moderation',
      provider_code: 400,
      provider_message: 'Your prompt was caught by our AI moderator.',
    });
    expect(ofType(events, 'task.conflict')[0]).toMatchObject({
      resolution: { kept: 'conflicting', by: 'provider_api' },
      conflicting: { outcome: 'failure', code: 400 },
    });
    expect(ofType(events, 'media.stored')).toEqual([]);
    expect(backing.media.requests(forged.data.video_url)).toBe(0);
    expect(await stack.taskWhen(taskId, 'failed')).toMatchObject({ status: 'failed', accepted_outcome: 'failure' });
  });

  it("a forged failure for a task the API says succeeded: the provider's media are stored, no task.failed", async () => {
    stack = await startStack(backing, verifiedEnv());
    const taskId = newTaskId();
    providerKnows(taskId);
    const forgedFailure = {
      code: 400,
      msg: 'Your prompt was caught by our AI moderator.',
      data: { task_id: taskId, video_id: '', video_url: '', image_url: '' },
    };
    expect((await stack.deliver(forgedFailure)).body.status).toBe('received');
    const events = await stack.waitForEvents(2);
    expect(ofType(events, 'task.failed')).toEqual([]);
    expect(ofType(events, 'task.conflict')[0]).toMatchObject({
      accepted: { outcome: 'failure', code: 400 },
      conflicting: { outcome: 'success' },
      resolution: { kept: 'conflicting', by: 'provider_api' },
    });
    const [stored] = ofType(events, 'media.stored') as MediaStoredEvent[];
    expect(stored?.objects.find((o) => o.kind === 'video')?.sha256).toBe(await generatedSha256('video', VIDEO, taskId));
    expect(await stack.taskWhen(taskId, 'stored')).toMatchObject({ status: 'stored', accepted_outcome: 'success' });
  });

  it('the API still generating: the job is retried and stores once the simulator finishes', async () => {
    stack = await startStack(backing, { ...verifiedEnv(), JOB_ATTEMPTS: '12', JOB_BACKOFF_MS: '40' });
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    backing.media.tasks.update(taskId, { state: 'generating' });
    await stack.deliver(successWith(taskId, real.videoUrl, real.imageUrl));
    await waitFor(() => backing.media.api.polls(taskId) >= 2 || null, { description: 'two polls' });
    expect(backing.media.requests(real.videoUrl)).toBe(0);
    expect(await stack.events()).toEqual([]);
    backing.media.tasks.update(taskId, { state: 'success' });
    const [stored] = await stack.waitForEvents(1);
    expect(stored?.type).toBe('media.stored');
    const metrics = (await opsGet(stack, '/metrics')).text;
    expect(metricValue(metrics, 'relay_callback_verification_total{result="not_final"}')).toBeGreaterThanOrEqual(2);
  });

  it('the API unavailable (5xx after the client retries): no unverified download, the job retries and stores', async () => {
    stack = await startStack(backing, { ...verifiedEnv(), JOB_ATTEMPTS: '6', JOB_BACKOFF_MS: '40' });
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    // The client makes 4 attempts per job attempt (3 retries): the first job attempt gets only 503s.
    backing.media.api.injectFaults(4, { code: 503, httpStatus: 503 });
    await stack.deliver(successWith(taskId, real.videoUrl, real.imageUrl));
    const [stored] = await stack.waitForEvents(1, 30_000);
    expect(stored?.type).toBe('media.stored');
    expect(backing.media.requests(real.videoUrl)).toBe(1);
    const metrics = (await opsGet(stack, '/metrics')).text;
    expect(metricValue(metrics, 'relay_callback_verification_total{result="unavailable"}')).toBe(1);
    expect(metricValue(metrics, 'relay_provider_requests_total{endpoint="record_detail",outcome="server"}')).toBe(4);
  });

  it('a signed callback for a task the API does not know (404): task.failed unverified at once, nothing downloaded', async () => {
    const logs = new PassThrough();
    const lines: string[] = [];
    logs.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    stack = await startStack(
      backing,
      { ...verifiedEnv(), JOB_ATTEMPTS: '6', JOB_BACKOFF_MS: '40', LOG_LEVEL: 'warn' },
      { workerLogDestination: logs },
    );
    const taskId = newTaskId();
    // Never put in the simulator's task book: its record-detail answers code 404.
    const forged = successWith(
      taskId,
      `${backing.media.url(`evil-${taskId}`, 'video', { size: VIDEO })}&sig=attacker-secret`,
      backing.media.url(`evil-${taskId}`, 'cover'),
    );
    expect((await stack.deliver(forged)).body.status).toBe('received');
    const [failed] = (await stack.waitForEvents(1)) as TaskFailedEvent[];
    expect(failed).toMatchObject({
      type: 'task.failed',
      task_id: taskId,
      source: 'worker',
      category: 'unverified',
      retryable: false,
      action: 'inspect',
    });
    // One job attempt, one question: a refusal is not retried for hours.
    expect(backing.media.api.polls(taskId)).toBe(1);
    expect(backing.media.requests(forged.data.video_url)).toBe(0);
    expect(backing.media.requests(forged.data.image_url)).toBe(0);
    expect(await stack.taskWhen(taskId, 'failed')).toMatchObject({ status: 'failed', error_category: 'unverified' });
    const metrics = (await opsGet(stack, '/metrics')).text;
    expect(metricValue(metrics, 'relay_callback_verification_total{result="unknown_task"}')).toBe(1);
    expect(metricValue(metrics, 'relay_callback_verification_total{result="unavailable"}')).toBe(0);
    const security = lines.map((line) => JSON.parse(line)).filter((entry) => entry.security === 'callback_unverified');
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({ level: 40, task_id: taskId, provider_code: 404 });
    expect(lines.join('\n')).not.toContain('attacker-secret');
  });
});

describe('verification off', () => {
  it('without a key: the callback URLs are used as today, the API never asked, /readyz says off (and stays 200)', async () => {
    stack = await startStack(backing);
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    await stack.deliver(successWith(taskId, real.videoUrl, real.imageUrl));
    const [stored] = await stack.waitForEvents(1);
    expect(stored?.type).toBe('media.stored');
    expect(backing.media.api.polls(taskId)).toBe(0);
    const ready = await opsGet(stack, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', provider_verify: 'off' });
    expect((await opsGet(stack, '/metrics')).text).not.toContain('relay_callback_verification_total{');
  });

  it('PROVIDER_VERIFY=false with a key: not verified, /readyz says off', async () => {
    stack = await startStack(backing, { ...verifiedEnv(), PROVIDER_VERIFY: 'false' });
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    await stack.deliver(successWith(taskId, real.videoUrl, real.imageUrl));
    await stack.waitForEvents(1);
    expect(backing.media.api.polls(taskId)).toBe(0);
    expect(JSON.parse((await opsGet(stack, '/readyz')).text).provider_verify).toBe('off');
  });
});
