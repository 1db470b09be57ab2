import { type MediaStoredEvent, parseTaskState, type RelayEvent, type TaskState } from '@runway-relay/contracts';
import { generatedSha256, tinyPng } from '@runway-relay/simulator';
import { waitFor } from '@runway-relay/testkit';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardAuth, startStackDashboard, type TestDashboard } from './helpers/dashboard.js';
import { objectSha256 } from './helpers/faults-bucket.js';
import { buildTestIngress, TEST_HMAC_KEY, type TestIngress, uniquePrefix } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { readEvents, startTestWorker, type TestWorker } from './helpers/worker.js';

// The Aleph model through the whole relay: submitted with the dashboard's POST /api/generate
// ("model": "aleph"), its signed callback verified against Aleph's own detail endpoint
// (/api/v1/aleph/record-info), and a lost callback recovered by polling that endpoint.

const KEY = 'sk-aleph-e2e';
const VIDEO = 64 * 1024;
/** Seconds before the reconciler first polls a registered task: far past a delivered callback's processing. */
const AFTER_S = 5;

const backing = useBacking({
  media: {
    apiKey: KEY,
    defaultVideoSize: VIDEO,
    provider: {
      // Compressed generation: final about 0.3 s after submission; callbacks signed like the provider's.
      stateMs: { wait: 50, queueing: 50, generating: 200 },
      callbacks: { hmacKey: TEST_HMAC_KEY, retries: 2, retryDelaysMs: [200, 400], timeoutMs: 2000 },
    },
  },
});
let ingress: TestIngress;
let dashboard: TestDashboard;
let worker: TestWorker;
let stream: string;

beforeAll(async () => {
  const prefix = uniquePrefix();
  stream = `${prefix}:events`;
  const shared = {
    QUEUE_PREFIX: prefix,
    EVENTS_STREAM: stream,
    PROVIDER_API_URL: backing.media.origin,
    PROVIDER_API_KEY: KEY,
    PROVIDER_RPS: '100',
    PROVIDER_BURST: '20',
    RECONCILE_AFTER_S: String(AFTER_S),
    RECONCILE_INTERVAL_S: '1',
    RECONCILE_MAX_INTERVAL_S: '2',
    RECONCILE_PASS_S: '1',
  };
  ingress = await buildTestIngress(backing.redis.url, { QUEUE_PREFIX: prefix, EVENTS_STREAM: stream });
  dashboard = await startStackDashboard(
    backing,
    { prefix, stream },
    { PUBLIC_CALLBACK_URL: `${ingress.url}/callbacks/runway`, ...shared },
  );
  worker = await startTestWorker(
    backing.redis.url,
    backing.s3,
    { S3_PREFIX: prefix, PROVIDER_VERIFY: 'true', ...shared },
    { loopbackIsPublic: true },
  );
});
afterAll(async () => {
  await worker?.close();
  await dashboard?.close();
  await ingress?.close();
});

async function submitAleph(label: string): Promise<string> {
  const res = await dashboard.app.inject({
    method: 'POST',
    url: '/api/generate',
    headers: { ...dashboardAuth, 'content-type': 'application/json' },
    payload: JSON.stringify({
      model: 'aleph',
      prompt: `${label} as a watercolour`,
      videoUrl: 'https://example.com/source.mp4',
      aspectRatio: '21:9',
      metadata: { case: label },
    }),
  });
  expect(res.statusCode).toBe(201);
  return (res.json() as { task_id: string }).task_id;
}

const eventsOf = async (taskId: string): Promise<RelayEvent[]> =>
  (await readEvents(worker.config, stream)).filter((event) => event.task_id === taskId);

async function storedEventOf(taskId: string): Promise<MediaStoredEvent> {
  return waitFor(
    async () => (await eventsOf(taskId)).find((event): event is MediaStoredEvent => event.type === 'media.stored'),
    { timeoutMs: 30_000, intervalMs: 200, description: `media.stored of ${taskId}` },
  );
}

/** The stored video and cover are the simulator's media of this task, byte for byte. */
async function expectProviderMedia(stored: MediaStoredEvent, taskId: string): Promise<void> {
  const video = stored.objects.find((object) => object.kind === 'video');
  const cover = stored.objects.find((object) => object.kind === 'cover');
  expect(video).toMatchObject({ size: VIDEO, bucket: 'runway-media' });
  const videoSha = await generatedSha256('video', VIDEO, taskId);
  expect(video?.sha256).toBe(videoSha);
  expect(await objectSha256(backing.s3, video?.key ?? '')).toBe(videoSha);
  const coverSha = await generatedSha256('cover', tinyPng().length, taskId);
  expect(cover?.sha256).toBe(coverSha);
  expect(await objectSha256(backing.s3, cover?.key ?? '')).toBe(coverSha);
}

/**
 * The task ended stored (its record matching `record` too), announced by one media.stored and
 * nothing else, and it left the reconciler's schedule.
 */
async function expectStoredOnce(taskId: string, record: Partial<TaskState>): Promise<void> {
  const state = parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));
  expect(state).toMatchObject({ status: 'stored', ...record });
  expect((await eventsOf(taskId)).map((event) => event.type)).toEqual(['media.stored']);
  await waitFor(async () => (await ingress.inspect.zscore(ingress.keys.pollDue, taskId)) === null || null, {
    description: 'registry entry closed',
  });
}

async function metric(line: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${worker.opsPort}/metrics`);
  const text = await res.body.text();
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found ? Number(found.slice(line.length).trim()) : 0;
}

describe('the Aleph model end to end', () => {
  it('a submitted Aleph task: its signed callback is verified against /api/v1/aleph/record-info and its media stored', async () => {
    const taskId = await submitAleph('delivered');
    expect(backing.media.tasks.get(taskId)?.model).toBe('aleph');

    const stored = await storedEventOf(taskId);
    // The callback came (Aleph's shape: top-level taskId, data.result_video_url) and was acknowledged.
    const delivery = backing.media.lifecycle.deliveries().find((d) => d.taskId === taskId);
    expect(delivery?.delivered).toBe(true);
    expect('source' in stored ? stored.source : undefined).toBeUndefined();
    expect(stored.metadata).toEqual({ case: 'delivered', model: 'aleph' });
    await expectProviderMedia(stored, taskId);

    // Verified once, at Aleph's endpoint: the Runway one was never asked.
    expect(backing.media.api.polls(taskId)).toBe(1);
    expect(backing.media.api.counts().record_detail ?? 0).toBe(0);
    expect(await metric('relay_callback_verification_total{result="agree"}')).toBe(1);
    expect(await metric('relay_provider_requests_total{endpoint="aleph_record_info",outcome="ok"}')).toBe(1);

    // Stored once, and it left the reconciler's schedule without a single poll.
    await expectStoredOnce(taskId, { conflicts: 0 });
  }, 60_000);

  it('an Aleph task whose callback is lost: the reconciler polls Aleph\'s endpoint and stores it, source "poll"', async () => {
    backing.media.lifecycle.setSuppressCallbacks(true);
    const taskId = await submitAleph('lost');
    const before = await metric('relay_callback_verification_total{result="agree"}');

    const stored = await storedEventOf(taskId);
    expect(stored.source).toBe('poll');
    expect(stored.metadata).toEqual({ case: 'lost', model: 'aleph' });
    await expectProviderMedia(stored, taskId);
    // No callback was ever sent for it; the relay asked Aleph's endpoint, never the Runway one.
    expect(backing.media.lifecycle.deliveries().some((d) => d.taskId === taskId)).toBe(false);
    expect(backing.media.api.polls(taskId)).toBeGreaterThanOrEqual(1);
    expect(backing.media.api.counts().record_detail ?? 0).toBe(0);
    // A job made from the API's answer is not verified again.
    expect(await metric('relay_callback_verification_total{result="agree"}')).toBe(before);

    await expectStoredOnce(taskId, { accepted_outcome: 'success' });
  }, 60_000);
});
