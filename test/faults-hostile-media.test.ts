import type { RelayEvent, TaskFailedEvent } from '@runway-relay/contracts';
import { waitFor } from '@runway-relay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MemorySampler, mib, sampleMemory } from './helpers/faults-memory.js';
import { type Backing, newTaskId, type Stack, simulatedSuccess, startBacking, startStack } from './helpers/stack.js';

/**
 * Media sources that misbehave on purpose. Each must end in its failure category within a
 * bound, and the worker (in this process) must not grow: it streams, it never buffers a body.
 */

const MAX_BYTES = 4 * 1024 * 1024;
const LIMITS = {
  DOWNLOAD_MAX_BYTES: String(MAX_BYTES),
  DOWNLOAD_TIMEOUT_MS: '1000',
  DOWNLOAD_IDLE_TIMEOUT_MS: '1000',
  /** The whole transfer: what cuts a trickle that stays inside the idle timeout. */
  DOWNLOAD_MAX_DURATION_MS: '3000',
  JOB_ATTEMPTS: '2',
  JOB_BACKOFF_MS: '50',
};
/** Every case must be classified within this long after its callback was accepted. */
const BOUND_MS = 15_000;
const MEMORY_BOUND = 64 * 1024 * 1024;

interface HostileCase {
  name: string;
  video: { size?: number; behavior: string };
  category: TaskFailedEvent['category'];
  /** Attempts the job makes: 1 for a non-retryable category, JOB_ATTEMPTS otherwise. */
  attempts: number;
  /** What the event's detail must say, when the category alone does not tell the check apart. */
  detail?: RegExp;
}

const CASES: HostileCase[] = [
  { name: 'a body that never ends', video: { behavior: 'endless' }, category: 'too_large', attempts: 1 },
  { name: 'one byte a second', video: { size: 100_000, behavior: 'slow:1' }, category: 'timeout', attempts: 2 },
  // One byte every 500 ms, strictly inside the 1000 ms idle timeout: only the overall deadline cuts it.
  { name: 'two bytes a second', video: { size: 100_000, behavior: 'slow:2' }, category: 'timeout', attempts: 2 },
  { name: 'a redirect loop', video: { behavior: 'redirect-loop' }, category: 'blocked_url', attempts: 1 },
  {
    name: 'a redirect to a private address',
    video: { behavior: 'redirect-to:http://10.1.2.3/x.mp4' },
    category: 'blocked_url',
    attempts: 1,
  },
  { name: '10 GiB declared', video: { behavior: 'huge-declared' }, category: 'too_large', attempts: 1 },
  {
    name: 'a Content-Length larger than the body',
    video: { size: 100_000, behavior: 'lie-length:larger' },
    category: 'source_unavailable',
    attempts: 2,
  },
  // Content-Length 50 000, 100 000 bytes sent: the client reads the declared 50 000, which match,
  // so only the MP4 structure (the mdat box declares the full file) shows the file is cut.
  {
    name: 'a Content-Length smaller than the body',
    video: { size: 100_000, behavior: 'lie-length:smaller' },
    category: 'source_unavailable',
    attempts: 2,
    detail: /body ends inside an MP4 box \(box 'mdat' at 32 declares 99968 bytes, 49968 arrived\)/,
  },
  { name: 'a body that stalls', video: { size: 100_000, behavior: 'stall' }, category: 'timeout', attempts: 2 },
];

let backing: Backing;
let stack: Stack;
let memory: MemorySampler;
const elapsed: Record<string, number> = {};

beforeAll(async () => {
  backing = await startBacking();
  // 127.0.0.1 (the simulator) counts as public; every other private address stays refused.
  stack = await startStack(backing, LIMITS, { loopbackIsPublic: true });
  // Warm up the whole path with one good download before taking the memory baseline.
  const warm = newTaskId();
  await stack.deliver(simulatedSuccess(backing.media, warm, { size: 1024 * 1024 }, { size: 5_000 }));
  await stack.waitForEvents(1);
  memory = sampleMemory(100);
});
afterAll(async () => {
  const figures = memory?.stop();
  if (figures) {
    console.log(
      `[faults] hostile media rss: baseline ${mib(figures.baseline)}, min ${mib(figures.min)}, ` +
        `peak ${mib(figures.peak)}, growth ${mib(figures.growth)}, peak arrayBuffers ${mib(figures.peakArrayBuffers)} ` +
        `over ${figures.samples} samples; elapsed per case ${JSON.stringify(elapsed)}`,
    );
  }
  // Drop the simulator's connections first, so no source left open can hold worker.close().
  await backing?.media.close();
  await stack?.close();
  await backing?.dispose();
});

/** Delivers a success callback whose video behaves as `c` says; resolves with the task's final event. */
async function provoke(c: HostileCase): Promise<{ taskId: string; event: RelayEvent; ms: number }> {
  const taskId = newTaskId();
  const started = Date.now();
  expect((await stack.deliver(simulatedSuccess(backing.media, taskId, c.video, null))).status).toBe(200);
  const event = await waitFor(async () => (await stack.events()).find((e) => e.task_id === taskId), {
    timeoutMs: BOUND_MS,
    intervalMs: 50,
    description: `an event for ${c.name} within ${BOUND_MS} ms`,
  });
  return { taskId, event, ms: Date.now() - started };
}

describe('hostile media sources', () => {
  it.each(CASES)('$name ($video.behavior) → $category', async (c) => {
    const { taskId, event, ms } = await provoke(c);
    elapsed[c.video.behavior] = ms;
    expect(event).toMatchObject({
      type: 'task.failed',
      source: 'download',
      category: c.category,
      attempts: c.attempts,
    });
    if (c.detail) expect(event).toMatchObject({ detail: expect.stringMatching(c.detail) });
    expect(ms).toBeLessThan(BOUND_MS);
    const prefix = stack.ingress.config.QUEUE_PREFIX;
    expect(await stack.worker.store.stat(`${prefix}/${taskId}/video.mp4`)).toBeNull();
    expect(await stack.taskWhen(taskId, 'failed')).toMatchObject({ status: 'failed', error_category: c.category });
    // Nothing was read past the limit (huge-declared: refused on its header alone).
    expect(backing.media.bytesWritten(backing.media.pathOf(taskId, 'video'))).toBeLessThan(2 * MAX_BYTES);
  });

  it('all of them at once, three of each: each classified, memory flat', async () => {
    const runs = await Promise.all(CASES.flatMap((c) => [c, c, c]).map(async (c) => ({ c, ...(await provoke(c)) })));
    for (const { c, event, ms } of runs) {
      expect(event, c.name).toMatchObject({ type: 'task.failed', category: c.category });
      expect(ms, c.name).toBeLessThan(BOUND_MS);
    }
    elapsed['all at once (slowest)'] = Math.max(...runs.map((r) => r.ms));
    const figures = memory.figures();
    expect(figures.growth, `rss grew from ${mib(figures.baseline)} to ${mib(figures.peak)}`).toBeLessThan(MEMORY_BOUND);
    // Stricter: from the lowest point seen, in case the baseline caught garbage not yet collected.
    expect(figures.peak - figures.min, `rss ranged ${mib(figures.min)}–${mib(figures.peak)}`).toBeLessThan(
      MEMORY_BOUND,
    );
  }, 60_000);
});
