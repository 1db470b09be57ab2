import {
  type MediaStoredEvent,
  parseTaskState,
  type RelayEvent,
  type TaskConflictEvent,
} from '@runway-relay/contracts';
import { generatedSha256 } from '@runway-relay/simulator';
import { waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { objectSha256 } from './helpers/faults-bucket.js';
import { buildTestIngress, postSigned, successWithMedia, type TestIngress, uniquePrefix } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { newTaskId, objectPrefix } from './helpers/stack.js';
import { readEvents, startTestWorker, type TestWorker } from './helpers/worker.js';

// The provider's API settles an open conflict (docs/security.md, "Verified callbacks"): two
// validly signed callbacks of one task name different videos, the ingress holds the task and
// publishes an open task.conflict; the worker, verifying its job against the simulator's
// record-detail, keeps whichever side the API confirms and stores the API's media only.

const VIDEO = 200_000;
const COVER = 10_000;

const backing = useBacking();
let ingress: TestIngress | undefined;
let worker: TestWorker | undefined;

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

/** A test's relay (an ingress; the worker is the test's to start) and one task: the provider's media and forged ones. */
interface Scene {
  env: RelayEnv;
  relay: TestIngress;
  taskId: string;
  real: Side;
  forged: Side;
}

async function startScene(): Promise<Scene> {
  const env = relayEnv();
  ingress = await buildTestIngress(backing.redis.url, env);
  const taskId = newTaskId();
  return { env, relay: ingress, taskId, real: providerKnows(taskId), forged: forgedFor(taskId) };
}

/** Posts a success callback naming `side`'s media, signed by the provider's scheme at `timestampS`. */
async function deliver({ relay, taskId }: Scene, side: Side, timestampS: number): Promise<string> {
  const res = await postSigned(relay, successWithMedia(taskId, side.videoUrl, side.imageUrl), timestampS);
  expect(res.statusCode).toBe(200);
  return (res.json() as { status: string }).status;
}

const taskOf = async ({ relay, taskId }: Scene) => parseTaskState(await relay.inspect.hgetall(relay.keys.task(taskId)));

const resolutionOf = ({ relay, taskId }: Scene) => relay.inspect.hget(relay.keys.task(taskId), 'resolution');

const eventsOf = ({ relay, env }: Scene) => readEvents(relay.config, env.EVENTS_STREAM);

const ofType = <T extends RelayEvent['type']>(events: RelayEvent[], type: T) =>
  events.filter((event): event is Extract<RelayEvent, { type: T }> => event.type === type);

/**
 * Delivers `first` then `second` (a second later, so its signature is a new one, not a replay)
 * with no worker running: the second opens a conflict and nothing is announced but that.
 */
async function openConflict(scene: Scene, first: Side, second: Side) {
  const now = Math.floor(Date.now() / 1000);
  expect(await deliver(scene, first, now)).toBe('received');
  expect(await deliver(scene, second, now + 1)).toBe('conflict');
  const events = await eventsOf(scene);
  expect(events.map((event) => event.type)).toEqual(['task.conflict']);
  expect(events[0]).toMatchObject({
    state: 'open',
    resolution: null,
    accepted: { video_url: first.shownVideo },
    conflicting: { video_url: second.shownVideo },
  });
  expect(await taskOf(scene)).toMatchObject({ status: 'accepted', conflict_state: 'open', conflicts: 1 });
}

/**
 * With a worker running and the provider's CDN slow (1.5 s) for the task: delivers the real
 * callback, and the forged one once the download has started, which opens a conflict mid-download.
 */
async function conflictDuringDownload(scene: Scene) {
  const { real, forged } = scene;
  backing.media.setBehavior(scene.taskId, 'delay:1500', 'video');
  const now = Math.floor(Date.now() / 1000);
  expect(await deliver(scene, real, now)).toBe('received');
  await waitFor(() => backing.media.requests(real.videoUrl) >= 1 || null, { description: 'download started' });
  expect(await deliver(scene, forged, now + 1)).toBe('conflict');
}

/** Waits for the task's media.stored and returns every event of the stream. */
async function untilStored(scene: Scene): Promise<RelayEvent[]> {
  return waitFor(
    async () => {
      const events = await eventsOf(scene);
      return events.some((event) => event.type === 'media.stored') ? events : null;
    },
    { timeoutMs: 20_000, description: 'media.stored' },
  );
}

/** The stored video is the provider's, byte for byte, in the event and in the bucket. */
async function expectProviderVideo(stored: MediaStoredEvent | undefined, taskId: string) {
  const video = stored?.objects.find((object) => object.kind === 'video');
  const realSha = await generatedSha256('video', VIDEO, taskId);
  expect(realSha).not.toBe(await generatedSha256('video', VIDEO, `evil-${taskId}`));
  expect(video?.sha256).toBe(realSha);
  expect(await objectSha256(backing.s3, video?.key ?? '')).toBe(realSha);
}

/**
 * The conflict of `events` (the whole stream, up to media.stored) was settled by the provider
 * API keeping `kept`, the provider's own side: opened then resolved, the provider's media stored
 * once, the forged media never fetched, the task stored with the provider's content.
 */
async function expectSettledByApi(scene: Scene, events: RelayEvent[], kept: 'accepted' | 'conflicting') {
  const { real, forged } = scene;
  const [accepted, conflicting] = kept === 'accepted' ? [real, forged] : [forged, real];
  const conflicts = ofType(events, 'task.conflict') as TaskConflictEvent[];
  expect(conflicts.map((event) => event.state)).toEqual(['open', 'resolved']);
  expect(conflicts[1]).toMatchObject({
    resolution: { kept, by: 'provider_api' },
    accepted: { video_url: accepted.shownVideo },
    conflicting: { video_url: conflicting.shownVideo },
  });
  expect(ofType(events, 'task.failed')).toEqual([]);
  const stored = ofType(events, 'media.stored');
  expect(stored).toHaveLength(1);
  await expectProviderVideo(stored[0], scene.taskId);
  expect(backing.media.requests(forged.videoUrl)).toBe(0);
  expect(backing.media.requests(forged.imageUrl)).toBe(0);
  expect(await taskOf(scene)).toMatchObject({
    status: 'stored',
    conflict_state: 'resolved',
    content: { video_url: real.shownVideo },
  });
  expect(await resolutionOf(scene)).toBe(`${kept}:provider_api`);
}

describe('the provider API settles an open conflict (verification on)', () => {
  it('the API agrees with the accepted callback: kept accepted by provider_api, its media stored', async () => {
    const scene = await startScene();
    await openConflict(scene, scene.real, scene.forged);

    await startWorker(scene.env);
    await expectSettledByApi(scene, await untilStored(scene), 'accepted');
    expect(backing.media.api.polls(scene.taskId)).toBe(1);
  });

  it("the API agrees with the second callback: kept conflicting by provider_api, the API's media stored, never the forged URL's", async () => {
    const scene = await startScene();
    await openConflict(scene, scene.forged, scene.real);

    await startWorker(scene.env);
    await expectSettledByApi(scene, await untilStored(scene), 'conflicting');
    // The provider's own callback, retried later, is now the accepted one: a duplicate.
    expect(await deliver(scene, scene.real, Math.floor(Date.now() / 1000) + 2)).toBe('duplicate');
  });

  it('a conflict that opens while the verified job downloads: the API is asked again and the accepted side kept', async () => {
    const scene = await startScene();
    await startWorker(scene.env);
    await conflictDuringDownload(scene);

    await expectSettledByApi(scene, await untilStored(scene), 'accepted');
    // Asked twice: before the download, and again before the outcome once the conflict was seen.
    expect(backing.media.api.polls(scene.taskId)).toBe(2);
  });

  it('the API no longer confirms the accepted side when asked again: the task stays held for an operator', async () => {
    const scene = await startScene();
    await startWorker(scene.env);
    await conflictDuringDownload(scene);
    // The API changes its answer meanwhile: it no longer names what was downloaded.
    backing.media.tasks.update(scene.taskId, {
      videoUrl: backing.media.url(`other-${scene.taskId}`, 'video', { size: VIDEO }),
    });

    const held = await waitFor(
      async () => {
        const task = await taskOf(scene);
        return task?.status === 'held' ? task : null;
      },
      { timeoutMs: 20_000, description: 'task held' },
    );
    expect(held).toMatchObject({ conflict_state: 'open', content: { video_url: scene.real.shownVideo } });
    expect(held?.video).toBeDefined();
    expect(backing.media.api.polls(scene.taskId)).toBe(2);
    expect((await eventsOf(scene)).map((event) => event.type)).toEqual(['task.conflict']);
    expect(await resolutionOf(scene)).toBeNull();
  });
});
