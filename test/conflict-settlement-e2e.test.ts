import { createHash } from 'node:crypto';
import {
  type MediaStoredEvent,
  parseTaskState,
  type RelayEvent,
  type TaskConflictEvent,
} from '@runway-relay/contracts';
import { generatedSha256 } from '@runway-relay/simulator';
import { waitFor } from '@runway-relay/testkit';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestIngress, providerHeaders, type TestIngress, uniquePrefix } from './helpers/ingress.js';
import { type Backing, newTaskId, objectPrefix, startBacking } from './helpers/stack.js';
import { readEvents, startTestWorker, type TestWorker } from './helpers/worker.js';

// The provider's API settles an open conflict (docs/security.md, "Verified callbacks"): two
// validly signed callbacks of one task name different videos, the ingress holds the task and
// publishes an open task.conflict; the worker, verifying its job against the simulator's
// record-detail, keeps whichever side the API confirms and stores the API's media only.

const VIDEO = 200_000;
const COVER = 10_000;

let backing: Backing;
let ingress: TestIngress | undefined;
let worker: TestWorker | undefined;

beforeAll(async () => {
  backing = await startBacking();
});
afterAll(async () => {
  await backing.dispose();
});
afterEach(async () => {
  await worker?.close();
  await ingress?.close();
  worker = undefined;
  ingress = undefined;
});

/** One relay's settings: a fresh prefix and stream, verification on against the simulator. */
function relayEnv() {
  const prefix = uniquePrefix();
  return {
    QUEUE_PREFIX: prefix,
    EVENTS_STREAM: `${prefix}:events`,
    JOB_ATTEMPTS: '4',
    JOB_BACKOFF_MS: '50',
    PROVIDER_API_KEY: backing.media.apiKey,
    PROVIDER_API_URL: backing.media.origin,
    PROVIDER_VERIFY: 'true',
  };
}

type RelayEnv = ReturnType<typeof relayEnv>;

const startIngress = async (env: RelayEnv) => {
  ingress = await buildTestIngress(backing.redis.url, env);
  return ingress;
};

const startWorker = async (env: RelayEnv) => {
  worker = await startTestWorker(backing.redis.url, backing.s3, { S3_PREFIX: objectPrefix(env.QUEUE_PREFIX), ...env });
  return worker;
};

interface Side {
  videoUrl: string;
  imageUrl: string;
  /** The URL as the relay records it (origin and path: summaries carry no query string). */
  shownVideo: string;
}

/** The provider's record of a finished task, its media served under the task id. */
function providerKnows(taskId: string): Side {
  const videoUrl = backing.media.url(taskId, 'video', { size: VIDEO });
  const imageUrl = backing.media.url(taskId, 'cover', { size: COVER });
  backing.media.tasks.put({ taskId, state: 'success', videoId: `v-${taskId}`, videoUrl, imageUrl });
  return { videoUrl, imageUrl, shownVideo: backing.media.origin + backing.media.pathOf(taskId, 'video') };
}

/** Other media, served too (other bytes), that the provider never made for the task. */
function forgedFor(taskId: string): Side {
  const id = `evil-${taskId}`;
  return {
    videoUrl: backing.media.url(id, 'video', { size: VIDEO }),
    imageUrl: backing.media.url(id, 'cover', { size: COVER }),
    shownVideo: backing.media.origin + backing.media.pathOf(id, 'video'),
  };
}

/** Posts a success callback naming `side`'s media, signed by the provider's scheme at `timestampS`. */
async function deliver(relay: TestIngress, taskId: string, side: Side, timestampS: number): Promise<string> {
  const body = {
    code: 200,
    msg: 'All generated successfully.',
    data: { task_id: taskId, video_id: `v-${taskId}`, video_url: side.videoUrl, image_url: side.imageUrl },
  };
  const res = await relay.app.inject({
    method: 'POST',
    url: '/callbacks/runway',
    headers: providerHeaders(taskId, undefined, timestampS),
    payload: JSON.stringify(body),
  });
  expect(res.statusCode).toBe(200);
  return (res.json() as { status: string }).status;
}

const taskOf = async (relay: TestIngress, taskId: string) =>
  parseTaskState(await relay.inspect.hgetall(relay.keys.task(taskId)));

const ofType = <T extends RelayEvent['type']>(events: RelayEvent[], type: T) =>
  events.filter((event): event is Extract<RelayEvent, { type: T }> => event.type === type);

async function bucketSha256(running: TestWorker, key: string): Promise<string> {
  const res = await request(await running.store.presign(key, 60));
  expect(res.statusCode).toBe(200);
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Delivers `first` then `second` (a second later, so its signature is a new one, not a replay)
 * with no worker running: the second opens a conflict and nothing is announced but that.
 */
async function openConflict(relay: TestIngress, env: RelayEnv, taskId: string, first: Side, second: Side) {
  const now = Math.floor(Date.now() / 1000);
  expect(await deliver(relay, taskId, first, now)).toBe('received');
  expect(await deliver(relay, taskId, second, now + 1)).toBe('conflict');
  const events = await readEvents(relay.config, env.EVENTS_STREAM);
  expect(events.map((event) => event.type)).toEqual(['task.conflict']);
  expect(events[0]).toMatchObject({
    state: 'open',
    resolution: null,
    accepted: { video_url: first.shownVideo },
    conflicting: { video_url: second.shownVideo },
  });
  expect(await taskOf(relay, taskId)).toMatchObject({ status: 'accepted', conflict_state: 'open', conflicts: 1 });
}

/** Waits for the task's media.stored and returns every event of the stream. */
async function untilStored(relay: TestIngress, env: RelayEnv): Promise<RelayEvent[]> {
  return waitFor(
    async () => {
      const events = await readEvents(relay.config, env.EVENTS_STREAM);
      return events.some((event) => event.type === 'media.stored') ? events : null;
    },
    { timeoutMs: 20_000, description: 'media.stored' },
  );
}

/** The stored video is the provider's, byte for byte, in the event and in the bucket. */
async function expectProviderVideo(running: TestWorker, stored: MediaStoredEvent | undefined, taskId: string) {
  const video = stored?.objects.find((object) => object.kind === 'video');
  const realSha = await generatedSha256('video', VIDEO, taskId);
  expect(realSha).not.toBe(await generatedSha256('video', VIDEO, `evil-${taskId}`));
  expect(video?.sha256).toBe(realSha);
  expect(await bucketSha256(running, video?.key ?? '')).toBe(realSha);
}

describe('the provider API settles an open conflict (verification on)', () => {
  it('the API agrees with the accepted callback: kept accepted by provider_api, its media stored', async () => {
    const env = relayEnv();
    const relay = await startIngress(env);
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    const forged = forgedFor(taskId);
    await openConflict(relay, env, taskId, real, forged);

    const running = await startWorker(env);
    const events = await untilStored(relay, env);
    const conflicts = ofType(events, 'task.conflict') as TaskConflictEvent[];
    expect(conflicts.map((event) => event.state)).toEqual(['open', 'resolved']);
    expect(conflicts[1]).toMatchObject({
      resolution: { kept: 'accepted', by: 'provider_api' },
      accepted: { video_url: real.shownVideo },
      conflicting: { video_url: forged.shownVideo },
    });
    expect(ofType(events, 'task.failed')).toEqual([]);
    const stored = ofType(events, 'media.stored');
    expect(stored).toHaveLength(1);
    await expectProviderVideo(running, stored[0], taskId);
    expect(backing.media.requests(forged.videoUrl)).toBe(0);
    expect(backing.media.requests(forged.imageUrl)).toBe(0);
    expect(backing.media.api.polls(taskId)).toBe(1);

    expect(await taskOf(relay, taskId)).toMatchObject({
      status: 'stored',
      conflict_state: 'resolved',
      content: { video_url: real.shownVideo },
    });
    expect(await relay.inspect.hget(relay.keys.task(taskId), 'resolution')).toBe('accepted:provider_api');
  });

  it("the API agrees with the second callback: kept conflicting by provider_api, the API's media stored, never the forged URL's", async () => {
    const env = relayEnv();
    const relay = await startIngress(env);
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    const forged = forgedFor(taskId);
    await openConflict(relay, env, taskId, forged, real);

    const running = await startWorker(env);
    const events = await untilStored(relay, env);
    const conflicts = ofType(events, 'task.conflict') as TaskConflictEvent[];
    expect(conflicts.map((event) => event.state)).toEqual(['open', 'resolved']);
    expect(conflicts[1]).toMatchObject({
      resolution: { kept: 'conflicting', by: 'provider_api' },
      accepted: { video_url: forged.shownVideo },
      conflicting: { video_url: real.shownVideo },
    });
    expect(ofType(events, 'task.failed')).toEqual([]);
    const stored = ofType(events, 'media.stored');
    expect(stored).toHaveLength(1);
    await expectProviderVideo(running, stored[0], taskId);
    expect(backing.media.requests(forged.videoUrl)).toBe(0);
    expect(backing.media.requests(forged.imageUrl)).toBe(0);

    expect(await taskOf(relay, taskId)).toMatchObject({
      status: 'stored',
      conflict_state: 'resolved',
      content: { video_url: real.shownVideo },
    });
    expect(await relay.inspect.hget(relay.keys.task(taskId), 'resolution')).toBe('conflicting:provider_api');
    // The provider's own callback, retried later, is now the accepted one: a duplicate.
    expect(await deliver(relay, taskId, real, Math.floor(Date.now() / 1000) + 2)).toBe('duplicate');
  });

  it('a conflict that opens while the verified job downloads: the API is asked again and the accepted side kept', async () => {
    const env = relayEnv();
    const relay = await startIngress(env);
    const running = await startWorker(env);
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    const forged = forgedFor(taskId);
    // The provider's CDN takes 1.5 s to answer: the forged callback lands during the download.
    backing.media.setBehavior(taskId, 'delay:1500', 'video');
    const now = Math.floor(Date.now() / 1000);
    expect(await deliver(relay, taskId, real, now)).toBe('received');
    await waitFor(() => backing.media.requests(real.videoUrl) >= 1 || null, { description: 'download started' });
    expect(await deliver(relay, taskId, forged, now + 1)).toBe('conflict');

    const events = await untilStored(relay, env);
    const conflicts = ofType(events, 'task.conflict') as TaskConflictEvent[];
    expect(conflicts.map((event) => event.state)).toEqual(['open', 'resolved']);
    expect(conflicts[1]).toMatchObject({ resolution: { kept: 'accepted', by: 'provider_api' } });
    await expectProviderVideo(running, ofType(events, 'media.stored')[0], taskId);
    expect(backing.media.requests(forged.videoUrl)).toBe(0);
    // Asked twice: before the download, and again before the outcome once the conflict was seen.
    expect(backing.media.api.polls(taskId)).toBe(2);
    expect(await taskOf(relay, taskId)).toMatchObject({ status: 'stored', conflict_state: 'resolved' });
    expect(await relay.inspect.hget(relay.keys.task(taskId), 'resolution')).toBe('accepted:provider_api');
  });

  it('the API no longer confirms the accepted side when asked again: the task stays held for an operator', async () => {
    const env = relayEnv();
    const relay = await startIngress(env);
    await startWorker(env);
    const taskId = newTaskId();
    const real = providerKnows(taskId);
    const forged = forgedFor(taskId);
    backing.media.setBehavior(taskId, 'delay:1500', 'video');
    const now = Math.floor(Date.now() / 1000);
    expect(await deliver(relay, taskId, real, now)).toBe('received');
    await waitFor(() => backing.media.requests(real.videoUrl) >= 1 || null, { description: 'download started' });
    expect(await deliver(relay, taskId, forged, now + 1)).toBe('conflict');
    // The API changes its answer meanwhile: it no longer names what was downloaded.
    backing.media.tasks.update(taskId, { videoUrl: backing.media.url(`other-${taskId}`, 'video', { size: VIDEO }) });

    const held = await waitFor(
      async () => {
        const task = await taskOf(relay, taskId);
        return task?.status === 'held' ? task : null;
      },
      { timeoutMs: 20_000, description: 'task held' },
    );
    expect(held).toMatchObject({ conflict_state: 'open', content: { video_url: real.shownVideo } });
    expect(held?.video).toBeDefined();
    expect(backing.media.api.polls(taskId)).toBe(2);
    const events = await readEvents(relay.config, env.EVENTS_STREAM);
    expect(events.map((event) => event.type)).toEqual(['task.conflict']);
    expect(await relay.inspect.hget(relay.keys.task(taskId), 'resolution')).toBeNull();
  });
});
