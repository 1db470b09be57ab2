import { setTimeout as sleep } from 'node:timers/promises';
import type { RelayEvent } from '@runway-relay/contracts';
import { type DeliveryResult, type MediaServer, sendCallback, startMediaServer } from '@runway-relay/simulator';
import {
  type RedisServerHarness,
  type S3Harness,
  startRedisServer,
  startS3Server,
  waitFor,
} from '@runway-relay/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestIngress, TEST_HMAC_KEY, type TestIngress } from './helpers/ingress.js';
import { newTaskId, simulatedSuccess } from './helpers/stack.js';
import { readEvents, startTestWorker, type TestWorker } from './helpers/worker.js';

/**
 * Redis restarted under a stream of callbacks: every callback the ingress acknowledged with 200
 * must end stored, whatever the provider had to retry. The provider is the simulator's sender
 * over real HTTP; ingress and worker run in this process and must reconnect by themselves.
 */

const TASKS = 100;
/** Concurrent deliveries fired at the moment of the crash. */
const BURST = 20;
/** One callback every 50 ms: the stream spans ~4 s, the outage lands in its middle. */
const PACE_MS = 50;
const OUTAGE_AFTER_ACKED = 20;
const OUTAGE_MS = 1500;
/** The provider's schedule compressed: 0.2, 0.5, 1, 2, 4, 4, 4, 4 s (~20 s of retries). */
const RETRY_DELAYS_MS = [200, 500, 1000, 2000, 4000];
const RETRIES = 8;
const POLICY = { JOB_ATTEMPTS: '10', JOB_BACKOFF_MS: '200' };

let media: MediaServer;
let s3: S3Harness;
let run: Run | undefined;

beforeAll(async () => {
  [media, s3] = await Promise.all([startMediaServer(), startS3Server({ buckets: [] })]);
});
afterAll(async () => {
  await media?.close();
  await s3?.stop();
});
afterEach(async () => {
  await run?.close();
  run = undefined;
});

interface Run {
  redis: RedisServerHarness;
  ingress: TestIngress;
  worker: TestWorker;
  url: string;
  stream: string;
  close(): Promise<void>;
}

async function startRun(redisArgs: string[]): Promise<Run> {
  const redis = await startRedisServer({ persistent: true, args: redisArgs });
  const ingress = await buildTestIngress(redis.url, POLICY);
  const { port } = ingress;
  const prefix = ingress.config.QUEUE_PREFIX;
  const stream = `${prefix}:events`;
  const worker = await startTestWorker(redis.url, s3, {
    QUEUE_PREFIX: prefix,
    EVENTS_STREAM: stream,
    S3_PREFIX: prefix,
    ...POLICY,
  });
  return {
    redis,
    ingress,
    worker,
    url: `http://127.0.0.1:${port}/callbacks/runway`,
    stream,
    close: async () => {
      await worker.close();
      await ingress.close();
      await redis.dispose();
    },
  };
}

interface StreamOutcome {
  results: DeliveryResult[];
  /** Deliveries of the burst fired just before the crash. */
  burst: number;
  downMs: number;
  ingressReconnectMs: number;
}

/**
 * Sends TASKS callbacks: a steady stream, and once OUTAGE_AFTER_ACKED were acknowledged a burst
 * of BURST concurrent deliveries; Redis goes down as soon as the first of them reached Redis, so
 * the crash lands between the claim and the enqueue of some of them.
 */
async function streamThroughOutage(current: Run, crash: () => Promise<void>): Promise<StreamOutcome> {
  let acked = 0;
  const deliveries: Promise<DeliveryResult>[] = [];
  const send = (taskId: string) => {
    const delivery = sendCallback({
      url: current.url,
      body: simulatedSuccess(media, taskId, { size: 20_000 }, { size: 2_000 }),
      hmacKey: TEST_HMAC_KEY,
      retries: RETRIES,
      retryDelaysMs: RETRY_DELAYS_MS,
      timeoutMs: 5000,
    });
    deliveries.push(
      delivery.then((result) => {
        if (result.delivered) acked += 1;
        return result;
      }),
    );
  };
  const sending = (async () => {
    for (let i = 0; i < TASKS - BURST; i++) {
      send(newTaskId());
      await sleep(PACE_MS); // the provider's sending rate, not a wait for a condition
    }
  })();

  await waitFor(() => acked >= OUTAGE_AFTER_ACKED, { timeoutMs: 15_000, description: 'first acknowledgements' });
  const burst = Array.from({ length: BURST }, newTaskId);
  for (const taskId of burst) send(taskId);
  const taskKeys = burst.map((id) => current.ingress.keys.task(id));
  await waitFor(async () => (await current.ingress.inspect.exists(...taskKeys)) > 0, {
    timeoutMs: 5000,
    intervalMs: 1,
    description: 'the burst reaching Redis',
  });
  const down = Date.now();
  await crash();
  await sleep(OUTAGE_MS); // the outage itself
  await current.redis.start();
  const up = Date.now();
  await waitFor(() => current.ingress.redis.status === 'ready', {
    timeoutMs: 15_000,
    description: 'ingress producer reconnect',
  });
  const ingressReconnectMs = Date.now() - up;
  await sending;
  return { results: await Promise.all(deliveries), burst: BURST, downMs: up - down, ingressReconnectMs };
}

const storedIds = (events: RelayEvent[]) =>
  new Set(events.filter((e) => e.type === 'media.stored').map((e) => e.task_id));

/** Waits until every acknowledged task has a media.stored event; then reports what is missing, if anything. */
async function waitForStored(current: Run, acked: string[], timeoutMs = 60_000): Promise<RelayEvent[]> {
  const done = async () => {
    const events = await readEvents(current.redis.url, current.stream);
    const stored = storedIds(events);
    return acked.every((id) => stored.has(id)) ? events : null;
  };
  try {
    return await waitFor(done, { timeoutMs, intervalMs: 200, description: `${acked.length} tasks stored` });
  } catch {
    const stored = storedIds(await readEvents(current.redis.url, current.stream));
    expect(
      acked.filter((id) => !stored.has(id)),
      'acknowledged but never stored',
    ).toEqual([]);
    throw new Error('unreachable');
  }
}

async function statuses(current: Run, taskIds: string[]): Promise<Record<string, number>> {
  const pipeline = current.ingress.inspect.pipeline();
  for (const id of taskIds) pipeline.hget(current.ingress.keys.task(id), 'status');
  const replies = (await pipeline.exec()) ?? [];
  const counts: Record<string, number> = {};
  for (const [, status] of replies) counts[String(status)] = (counts[String(status)] ?? 0) + 1;
  return counts;
}

/** Runs one restart scenario and asserts the guarantee: acknowledged ⇒ stored, nothing lost. */
async function assertNothingLost(current: Run, label: string, crash: () => Promise<void>): Promise<void> {
  const outcome = await streamThroughOutage(current, crash);
  const { results } = outcome;
  const acked = results.filter((r) => r.delivered).map((r) => r.taskId ?? '');
  const got503 = results.filter((r) => r.attempts.some((a) => a.status === 503)).length;
  const otherErrors = results.flatMap((r) => r.attempts).filter((a) => a.status !== 200 && a.status !== 503);
  // A 200 "duplicate" after a 503: the claim (or the job) was written but its answer was lost in the crash.
  const ackedAsDuplicate = results.filter((r) =>
    r.attempts.some((a) => a.status === 200 && a.responseBody?.includes('"duplicate"')),
  ).length;
  const attempts = results.reduce((total, r) => total + r.attempts.length, 0);

  const events = await waitForStored(current, acked);
  const stored = storedIds(events);
  const failed = events.filter((e) => e.type === 'task.failed');
  const records = await statuses(current, acked);
  console.log(
    `[faults] redis ${label}: sent ${results.length} (burst ${outcome.burst} at the crash), acked 200 ${acked.length}, got 503 at least once ${got503}, ` +
      `acked as duplicate after a 503 ${ackedAsDuplicate}, HTTP attempts ${attempts}, stored ${stored.size}, ` +
      `media.stored entries ${events.length - failed.length} (duplicates ${events.length - new Set(events.map((e) => e.id)).size}), task records ${JSON.stringify(records)}, ` +
      `redis down ${outcome.downMs} ms, ingress reconnected ${outcome.ingressReconnectMs} ms after restart`,
  );

  expect(results).toHaveLength(TASKS);
  expect(otherErrors, 'only 200 and 503 answers').toEqual([]);
  expect(got503, 'the outage was hit').toBeGreaterThan(0);
  expect(acked, 'every delivery acknowledged within the retries').toHaveLength(TASKS);
  expect(stored.size).toBe(acked.length);
  expect(failed).toEqual([]);
  expect(records).toEqual({ stored: acked.length });
}

describe('Redis restarted while callbacks stream in', () => {
  it('graceful stop → start (AOF everysec, flushed on shutdown): every acknowledged callback is stored', async () => {
    run = await startRun([]);
    const current = run;
    await assertNothingLost(current, 'SIGTERM (appendfsync everysec)', () => current.redis.stop());
  }, 120_000);

  it('crash (SIGKILL) → start with appendfsync always: every acknowledged callback is stored', async () => {
    run = await startRun(['--appendfsync', 'always']);
    const current = run;
    expect(await current.ingress.inspect.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    await assertNothingLost(current, 'SIGKILL (appendfsync always)', () => current.redis.kill());
  }, 120_000);
});
