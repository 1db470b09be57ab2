import { createHash } from 'node:crypto';
import { type MediaStoredEvent, parseTaskState, type RelayEvent } from '@runway-relay/contracts';
import { generatedSha256, type MediaServer, startMediaServer, tinyPng } from '@runway-relay/simulator';
import {
  type RedisServerHarness,
  type S3Harness,
  startRedisServer,
  startS3Server,
  waitFor,
} from '@runway-relay/testkit';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DASHBOARD_PASSWORD,
  DASHBOARD_USER,
  dashboardAuth,
  startTestDashboard,
  type TestDashboard,
} from './helpers/dashboard.js';
import { buildTestIngress, TEST_HMAC_KEY, type TestIngress, uniquePrefix } from './helpers/ingress.js';
import { readEvents, startTestWorker, type TestWorker } from './helpers/worker.js';

// The Aleph model through the whole relay: submitted with the dashboard's POST /api/generate
// ("model": "aleph"), its signed callback verified against Aleph's own detail endpoint
// (/api/v1/aleph/record-info), and a lost callback recovered by polling that endpoint.

const KEY = 'sk-aleph-e2e';
const VIDEO = 64 * 1024;
/** Seconds before the reconciler first polls a registered task: far past a delivered callback's processing. */
const AFTER_S = 5;

let redis: RedisServerHarness;
let s3: S3Harness;
let sim: MediaServer;
let ingress: TestIngress;
let dashboard: TestDashboard;
let worker: TestWorker;
let stream: string;

beforeAll(async () => {
  [redis, s3] = await Promise.all([startRedisServer(), startS3Server({ buckets: [] })]);
  sim = await startMediaServer({
    apiKey: KEY,
    defaultVideoSize: VIDEO,
    provider: {
      // Compressed generation: final about 0.3 s after submission; callbacks signed like the provider's.
      stateMs: { wait: 50, queueing: 50, generating: 200 },
      callbacks: { hmacKey: TEST_HMAC_KEY, retries: 2, retryDelaysMs: [200, 400], timeoutMs: 2000 },
    },
  });
  const prefix = uniquePrefix();
  stream = `${prefix}:events`;
  const shared = {
    QUEUE_PREFIX: prefix,
    EVENTS_STREAM: stream,
    PROVIDER_API_URL: sim.origin,
    PROVIDER_API_KEY: KEY,
    PROVIDER_RPS: '100',
    PROVIDER_BURST: '20',
    RECONCILE_AFTER_S: String(AFTER_S),
    RECONCILE_INTERVAL_S: '1',
    RECONCILE_MAX_INTERVAL_S: '2',
    RECONCILE_PASS_S: '1',
  };
  ingress = await buildTestIngress(redis.url, { QUEUE_PREFIX: prefix, EVENTS_STREAM: stream });
  dashboard = await startTestDashboard({
    REDIS_URL: redis.url,
    DASHBOARD_USER,
    DASHBOARD_PASSWORD,
    NODE_ENV: 'test',
    PUBLIC_CALLBACK_URL: `${ingress.url}/callbacks/runway`,
    ...shared,
  });
  worker = await startTestWorker(
    redis.url,
    s3,
    { S3_PREFIX: prefix, PROVIDER_VERIFY: 'true', ...shared },
    { loopbackIsPublic: true },
  );
});
afterAll(async () => {
  await worker?.close();
  await dashboard?.close();
  await ingress?.close();
  await sim?.close();
  await s3?.stop();
  await redis?.dispose();
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

/** sha256 of an object as the bucket serves it. */
async function bucketSha256(key: string): Promise<string> {
  const res = await request(await worker.store.presign(key, 60));
  expect(res.statusCode).toBe(200);
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The stored video and cover are the simulator's media of this task, byte for byte. */
async function expectProviderMedia(stored: MediaStoredEvent, taskId: string): Promise<void> {
  const video = stored.objects.find((object) => object.kind === 'video');
  const cover = stored.objects.find((object) => object.kind === 'cover');
  expect(video).toMatchObject({ size: VIDEO, bucket: 'runway-media' });
  const videoSha = await generatedSha256('video', VIDEO, taskId);
  expect(video?.sha256).toBe(videoSha);
  expect(await bucketSha256(video?.key ?? '')).toBe(videoSha);
  const coverSha = await generatedSha256('cover', tinyPng().length, taskId);
  expect(cover?.sha256).toBe(coverSha);
  expect(await bucketSha256(cover?.key ?? '')).toBe(coverSha);
}

const taskState = async (taskId: string) => parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));

async function metric(line: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${worker.opsPort}/metrics`);
  const text = await res.body.text();
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found ? Number(found.slice(line.length).trim()) : 0;
}

describe('the Aleph model end to end', () => {
  it('a submitted Aleph task: its signed callback is verified against /api/v1/aleph/record-info and its media stored', async () => {
    const taskId = await submitAleph('delivered');
    expect(sim.tasks.get(taskId)?.model).toBe('aleph');

    const stored = await storedEventOf(taskId);
    // The callback came (Aleph's shape: top-level taskId, data.result_video_url) and was acknowledged.
    const delivery = sim.lifecycle.deliveries().find((d) => d.taskId === taskId);
    expect(delivery?.delivered).toBe(true);
    expect('source' in stored ? stored.source : undefined).toBeUndefined();
    expect(stored.metadata).toEqual({ case: 'delivered', model: 'aleph' });
    await expectProviderMedia(stored, taskId);

    // Verified once, at Aleph's endpoint: the Runway one was never asked.
    expect(sim.api.polls(taskId)).toBe(1);
    expect(sim.api.counts().record_detail ?? 0).toBe(0);
    expect(await metric('relay_callback_verification_total{result="agree"}')).toBe(1);
    expect(await metric('relay_provider_requests_total{endpoint="aleph_record_info",outcome="ok"}')).toBe(1);

    expect(await taskState(taskId)).toMatchObject({ status: 'stored', conflicts: 0 });
    expect((await eventsOf(taskId)).map((event) => event.type)).toEqual(['media.stored']);
    // It left the reconciler's schedule without a single poll.
    await waitFor(async () => (await ingress.inspect.zscore(ingress.keys.pollDue, taskId)) === null || null, {
      description: 'registry entry closed',
    });
  }, 60_000);

  it('an Aleph task whose callback is lost: the reconciler polls Aleph\'s endpoint and stores it, source "poll"', async () => {
    sim.lifecycle.setSuppressCallbacks(true);
    const taskId = await submitAleph('lost');
    const before = await metric('relay_callback_verification_total{result="agree"}');

    const stored = await storedEventOf(taskId);
    expect(stored.source).toBe('poll');
    expect(stored.metadata).toEqual({ case: 'lost', model: 'aleph' });
    await expectProviderMedia(stored, taskId);
    // No callback was ever sent for it; the relay asked Aleph's endpoint, never the Runway one.
    expect(sim.lifecycle.deliveries().some((d) => d.taskId === taskId)).toBe(false);
    expect(sim.api.polls(taskId)).toBeGreaterThanOrEqual(1);
    expect(sim.api.counts().record_detail ?? 0).toBe(0);
    // A job made from the API's answer is not verified again.
    expect(await metric('relay_callback_verification_total{result="agree"}')).toBe(before);

    expect(await taskState(taskId)).toMatchObject({ status: 'stored', accepted_outcome: 'success' });
    expect((await eventsOf(taskId)).map((event) => event.type)).toEqual(['media.stored']);
    await waitFor(async () => (await ingress.inspect.zscore(ingress.keys.pollDue, taskId)) === null || null, {
      description: 'registry entry closed',
    });
  }, 60_000);
});
