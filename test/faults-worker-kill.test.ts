import { setTimeout as sleep } from 'node:timers/promises';
import { jobIdFor, outcomeEventId, type RelayEvent } from '@runway-relay/contracts';
import { generatedSha256 } from '@runway-relay/simulator';
import { waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { listObjects, objectSha256 } from './helpers/faults-bucket.js';
import { buildTestIngress, postSigned, type TestIngress } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { type ServiceProcess, spawnService, workerProcessEnv } from './helpers/processes.js';
import { newTaskId, simulatedSuccess, startStack } from './helpers/stack.js';
import { readEvents } from './helpers/worker.js';

/**
 * Worker processes SIGKILLed at random while a batch is processed, each replaced at once so two
 * keep running. Stalled-job recovery must finish every job; a killed transfer must leave no
 * object behind; events are at least once, but with one id per job.
 */

const TASKS = 200;
const WORKERS = 2;
const COVER_SIZE = 3_000;
/** Every third video is throttled to 0.2–0.6 s so kills land mid-transfer. */
const SLOW_BEHAVIOR = 'slow:100000';
/** A kill lands every 0.5–1.5 s. */
const KILL_EVERY_MS = [500, 1500] as const;

const backing = useBacking();
let ingress: TestIngress | undefined;
const spawned: ServiceProcess[] = [];

afterEach(async () => {
  await Promise.all(spawned.splice(0).map((worker) => worker.stop('SIGKILL')));
  await ingress?.close();
  ingress = undefined;
});

/** 20–60 KB, varied per task so a body cut short cannot pass for another task's. */
const videoSize = (index: number) => 20_000 + ((index * 7919) % 40_000);

interface Worker {
  process: ServiceProcess;
  ready: boolean;
}

function spawnWorker(current: TestIngress, env: Record<string, string> = {}): Worker {
  const prefix = current.config.QUEUE_PREFIX;
  const service = spawnService(
    'worker',
    workerProcessEnv(backing, prefix, { WORKER_MAX_STALLED: '20', JOB_ATTEMPTS: '10', JOB_BACKOFF_MS: '100', ...env }),
  );
  spawned.push(service);
  const worker: Worker = { process: service, ready: false };
  const onData = () => {
    if (!service.output().includes('"msg":"worker started"')) return;
    worker.ready = true;
    service.child.stdout?.off('data', onData);
  };
  service.child.stdout?.on('data', onData);
  return worker;
}

/** Kills a random ready worker every KILL_EVERY_MS and starts a replacement, until `stop()`. */
function chaos(current: TestIngress) {
  const live = Array.from({ length: WORKERS }, () => spawnWorker(current));
  let stopped = false;
  let kills = 0;
  const loop = (async () => {
    while (!stopped) {
      const [min, max] = KILL_EVERY_MS;
      await sleep(min + Math.random() * (max - min)); // the fault schedule itself
      const ready = live.filter((w) => w.ready);
      const victim = ready[Math.floor(Math.random() * ready.length)];
      if (stopped || victim === undefined) continue;
      live.splice(live.indexOf(victim), 1);
      await victim.process.stop('SIGKILL');
      kills += 1;
      live.push(spawnWorker(current));
    }
  })();
  return {
    live,
    stop: async () => {
      stopped = true;
      await loop;
      return kills;
    },
  };
}

async function deliver(current: TestIngress, body: ReturnType<typeof simulatedSuccess>): Promise<void> {
  expect((await postSigned(current, body)).statusCode).toBe(200);
}

/** What the unfinished tasks look like, for a timeout message. */
async function diagnose(current: TestIngress, stream: string, tasks: Array<{ taskId: string }>, live: Worker[]) {
  const stored = storedTaskIds(await readEvents(backing.redis.url, stream));
  const lines = [
    `stored ${stored.size}, jobs ${JSON.stringify(await current.queue.getJobCounts())}`,
    `live workers ${live.map((w) => `${w.process.child.pid}:${w.ready ? 'ready' : 'starting'}`).join(' ')}`,
  ];
  for (const { taskId } of tasks.filter((t) => !stored.has(t.taskId)).slice(0, 10)) {
    const job = await current.queue.getJob(jobIdFor(taskId, 'success'));
    const state = await current.inspect.hgetall(current.keys.task(taskId));
    const lock = await current.inspect.get(
      `${current.config.QUEUE_PREFIX}:${current.config.QUEUE_NAME}:${job?.id}:lock`,
    );
    lines.push(
      `${taskId}: job ${job ? await job.getState() : 'missing'} attemptsMade ${job?.attemptsMade} ` +
        `stalled ${job?.stalledCounter} reason ${job?.failedReason} lock ${lock} task ${state.status} ` +
        `video requests ${JSON.stringify(backing.media.stats(backing.media.pathOf(taskId, 'video')))} ` +
        `cover ${JSON.stringify(backing.media.stats(backing.media.pathOf(taskId, 'cover')))}`,
    );
    for (const w of spawned) {
      for (const l of w.lines().filter((x) => x.task_id === taskId || String(x.job_id ?? '').startsWith(taskId))) {
        lines.push(`  worker ${w.child.pid} (${w.child.signalCode ?? 'alive'}) ${l.time} ${l.msg} ${l.kind ?? ''}`);
      }
    }
  }
  return lines.join('\n');
}

const storedTaskIds = (events: RelayEvent[]) =>
  new Set(events.filter((e) => e.type === 'media.stored').map((e) => e.task_id));

describe('worker processes SIGKILLed at random during a batch', () => {
  it('every task ends with exactly one whole video and cover, and one distinct event id', async () => {
    ingress = await buildTestIngress(backing.redis.url, { JOB_ATTEMPTS: '10', JOB_BACKOFF_MS: '100' });
    const current = ingress;
    const prefix = current.config.QUEUE_PREFIX;
    const stream = `${prefix}:events`;
    const tasks = Array.from({ length: TASKS }, (_, i) => ({
      taskId: newTaskId(),
      size: videoSize(i),
      slow: i % 3 === 0,
    }));
    for (const { taskId, size, slow } of tasks) {
      const video = slow ? { size, behavior: SLOW_BEHAVIOR } : { size };
      await deliver(current, simulatedSuccess(backing.media, taskId, video, { size: COVER_SIZE }));
    }

    const started = Date.now();
    const killer = chaos(current);
    // Done when every job is completed or failed for good (failures are reported below, not waited for).
    await waitFor(
      async () => {
        const counts = await current.queue.getJobCounts('completed', 'failed');
        return (counts.completed ?? 0) + (counts.failed ?? 0) >= TASKS;
      },
      { timeoutMs: 120_000, intervalMs: 250, description: `${TASKS} jobs done while workers are being killed` },
    ).catch(async (error: unknown) => {
      console.log(await diagnose(current, stream, tasks, killer.live));
      throw error;
    });
    const kills = await killer.stop();
    const elapsedMs = Date.now() - started;
    await Promise.all(killer.live.map((w) => w.process.stop('SIGTERM')));

    const counts = await current.queue.getJobCounts('completed', 'failed');
    const events = await readEvents(backing.redis.url, stream);
    const stalledWarnings = spawned.reduce(
      (n, w) => n + w.lines().filter((l) => String(l.msg).startsWith('job stalled')).length,
      0,
    );
    const videoRequests = tasks.map(({ taskId }) => backing.media.requests(backing.media.pathOf(taskId, 'video')));
    const redownloads = videoRequests.reduce((n, r) => n + r - 1, 0);
    const duplicateEntries = events.length - new Set(events.map((e) => e.id)).size;
    const withEvent = storedTaskIds(events);
    const lost = tasks.filter(({ taskId }) => !withEvent.has(taskId)).map(({ taskId }) => taskId);
    console.log(
      `[faults] worker kill: tasks ${TASKS}, worker processes ${spawned.length}, SIGKILLs ${kills}, ` +
        `all jobs done after ${elapsedMs} ms, stalled warnings ${stalledWarnings}, video re-downloads ${redownloads} ` +
        `(max ${Math.max(...videoRequests)} requests for one video), event entries ${events.length}, ` +
        `duplicate event entries ${duplicateEntries}, tasks without media.stored ${lost.length}, ` +
        `jobs ${JSON.stringify(counts)}`,
    );

    expect(kills, 'the kill loop ran').toBeGreaterThan(0);
    const failedJobs = await current.queue.getFailed();
    expect(failedJobs.map((job) => `${job.id}: ${job.failedReason}`)).toEqual([]);
    expect(counts).toEqual({ completed: TASKS, failed: 0 });
    expect(events.filter((e) => e.type === 'task.failed')).toEqual([]);
    for (const taskId of tasks.map((t) => t.taskId)) {
      expect((await current.inspect.hget(current.keys.task(taskId), 'status')) ?? '(none)', taskId).toBe('stored');
    }
    // At-least-once: an entry may repeat, but every task has exactly one distinct event id, the job's.
    expect(lost, 'stored tasks without media.stored').toEqual([]);
    for (const taskId of tasks.map((t) => t.taskId)) {
      const ids = new Set(events.filter((e) => e.task_id === taskId).map((e) => e.id));
      expect([...ids]).toEqual([outcomeEventId(jobIdFor(taskId, 'success'), 'media.stored')]);
    }

    // Exactly the expected keys, no partial or stray object, each whole and byte for byte right.
    const objects = await listObjects(backing.s3, prefix);
    const expected = tasks.flatMap(({ taskId, size }) => [
      { key: `${prefix}/${taskId}/cover.png`, size: COVER_SIZE },
      { key: `${prefix}/${taskId}/video.mp4`, size },
    ]);
    expect(objects).toEqual(expected.sort((a, b) => a.key.localeCompare(b.key)));
    for (const { taskId, size } of tasks) {
      expect(await objectSha256(backing.s3, `${prefix}/${taskId}/video.mp4`), taskId).toBe(
        await generatedSha256('video', size, taskId),
      );
    }
  }, 180_000);
});

/**
 * Two crash windows these faults exposed (docs/reliability.md): before the fix, a job BullMQ
 * failed for stalling too often emitted nothing, and a crash between marking the task stored and
 * writing media.stored lost the event for good (the re-run found the task stored and returned).
 */
describe('crash windows of the worker', () => {
  it('a job failed by BullMQ for stalling too often ends with task.failed (worker, interrupted)', async () => {
    ingress = await buildTestIngress(backing.redis.url, { JOB_ATTEMPTS: '10', JOB_BACKOFF_MS: '100' });
    const current = ingress;
    const stream = `${current.config.QUEUE_PREFIX}:events`;
    // WORKER_MAX_STALLED=0: the first stall is one too many (the default is 3: a media file
    // that kills its worker four times in a row ends the same way).
    const first = spawnWorker(current, { WORKER_MAX_STALLED: '0' });
    await waitFor(() => first.ready, { timeoutMs: 20_000, description: 'first worker ready' });
    const taskId = newTaskId();
    await deliver(current, simulatedSuccess(backing.media, taskId, { size: 600_000, behavior: 'slow:200000' }, null));
    const path = backing.media.pathOf(taskId, 'video');
    await waitFor(() => backing.media.bytesWritten(path) > 50_000, { timeoutMs: 20_000, description: 'transfer' });
    await first.process.stop('SIGKILL');
    spawnWorker(current, { WORKER_MAX_STALLED: '0' });

    const event = await waitFor(
      async () => (await readEvents(backing.redis.url, stream)).find((e) => e.task_id === taskId),
      { timeoutMs: 20_000, description: 'the event of the stalled job' },
    );
    const job = await current.queue.getJob(jobIdFor(taskId, 'success'));
    expect(await job?.getState()).toBe('failed');
    expect(job?.failedReason).toMatch(/stalled more than allowable limit/);
    expect(event).toMatchObject({
      type: 'task.failed',
      source: 'worker',
      category: 'interrupted',
      retryable: true,
      action: 'retry_later',
    });
    await waitFor(async () => (await current.inspect.hget(current.keys.task(taskId), 'status')) === 'failed', {
      description: 'task marked failed',
    });
    expect(await listObjects(backing.s3, current.config.QUEUE_PREFIX)).toEqual([]);
  }, 90_000);

  it('media.stored is written before the task is marked stored: a failure in between is retried, not lost', async () => {
    // A real Redis error on the XADD (the stream key holds a string: WRONGTYPE) stands in for a
    // worker dying at that point: the objects are recorded, the event is not written.
    const stack = await startStack(backing, { JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '1000' });
    try {
      await stack.ingress.inspect.set(stack.stream, 'not a stream');
      const taskId = newTaskId();
      await stack.deliver(simulatedSuccess(backing.media, taskId, { size: 20_000 }, null));
      const job = await stack.ingress.queue.getJob(jobIdFor(taskId, 'success'));
      await waitFor(async () => (await job?.getState()) === 'delayed', { timeoutMs: 10_000, description: 'retry' });
      const between = await stack.task(taskId);
      expect(between?.video?.size).toBe(20_000);
      expect(between?.status).not.toBe('stored');

      await stack.ingress.inspect.del(stack.stream);
      await waitFor(async () => (await job?.getState()) === 'completed', { timeoutMs: 10_000, description: 'done' });
      const events = await stack.events();
      expect(events.map((e) => [e.type, e.id])).toEqual([
        ['media.stored', outcomeEventId(jobIdFor(taskId, 'success'), 'media.stored')],
      ]);
      expect((await stack.task(taskId))?.status).toBe('stored');
      // The retry reused the recorded object instead of downloading again.
      expect(backing.media.requests(backing.media.pathOf(taskId, 'video'))).toBe(1);
    } finally {
      await stack.close();
    }
  }, 60_000);
});
