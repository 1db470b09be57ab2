import { claimTask, createTaskRegistry, defineClaimCommand } from '@runway-relay/admission';
import {
  CallbackJobSchema,
  callbackJobOptions,
  loadWorkerConfig,
  parseTaskState,
  RawCallbackSchema,
  relayKeys,
} from '@runway-relay/contracts';
import { createProviderClient, createRedisRateLimiter } from '@runway-relay/provider-client';
import { createLogger, parseStreamEntry } from '@runway-relay/runtime';
import { buildCallback, type MediaServer, startMediaServer } from '@runway-relay/simulator';
import { type RedisServerHarness, startRedisServer, waitFor } from '@runway-relay/testkit';
import {
  createPollEnqueuer,
  createReconcileFailureSink,
  createTaskStore,
  gaveUpFailure,
  installReconcileScheduler,
  type ReconcileFailure,
  type ReconcilePassDeps,
  reconcilePass,
} from '@runway-relay/worker';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const KEY = 'sk-reconcile-test';
const POLICY = { intervalS: 300, maxIntervalS: 3600, maxAgeS: 259_200 };
const AFTER_S = 1500;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const DUE = T0 + AFTER_S * 1000;

let redisServer: RedisServerHarness;
let sim: MediaServer;
const cleanups: Array<() => Promise<unknown>> = [];
const logger = createLogger({ service: 'reconcile-test', level: 'silent' });

beforeAll(async () => {
  redisServer = await startRedisServer();
  sim = await startMediaServer({ apiKey: KEY });
});
afterAll(async () => {
  await sim?.close();
  await redisServer?.dispose();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let counter = 0;
const unique = (label: string) => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

function connect(): Redis {
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  cleanups.push(() => redis.quit());
  return redis;
}

/** One "worker process": its own connection, registry, limiter and client, on a shared prefix. */
function processFor(prefix: string) {
  const redis = connect();
  const keys = relayKeys(prefix, 'runway-callbacks');
  const registry = createTaskRegistry({ redis, keys, afterS: AFTER_S, ttlSeconds: 30 * 86_400 });
  const limiter = createRedisRateLimiter({ redis, key: keys.providerRate, ratePerSecond: 500, burst: 50 });
  const client = createProviderClient({ baseUrl: sim.origin, apiKey: KEY, limiter, retries: 0 });
  return { redis, keys, registry, client };
}

interface Recorder {
  jobs: unknown[];
  failures: ReconcileFailure[];
}

function passDeps(proc: ReturnType<typeof processFor>, now: number, recorder: Recorder): ReconcilePassDeps {
  return {
    registry: proc.registry,
    client: proc.client,
    now,
    policy: POLICY,
    logger,
    enqueue: async (job) => {
      recorder.jobs.push(job);
    },
    emitFailed: async (failure) => {
      recorder.failures.push(failure);
    },
  };
}

/** The callbacks queue of `prefix` and the poll enqueuer on it, wired as the reconciler wires them. */
function pollQueue(proc: ReturnType<typeof processFor>, prefix: string, stream: string) {
  const config = loadWorkerConfig({ QUEUE_PREFIX: prefix });
  const queue = new Queue(config.QUEUE_NAME, { connection: proc.redis, prefix });
  cleanups.push(() => queue.close());
  const enqueue = createPollEnqueuer({
    redis: proc.redis,
    keys: proc.keys,
    queue,
    jobOptions: callbackJobOptions(config),
    ttlSeconds: 30 * 86_400,
    events: { stream, maxlen: 1000 },
  });
  return { queue, enqueue };
}

/** A reconcile pass at DUE whose polls go through `enqueue`; the pass's summary and each enqueue's decision. */
async function passThrough(proc: ReturnType<typeof processFor>, enqueue: ReturnType<typeof pollQueue>['enqueue']) {
  const decisions: unknown[] = [];
  const summary = await reconcilePass({
    ...passDeps(proc, DUE, { jobs: [], failures: [] }),
    enqueue: async (job) => decisions.push(await enqueue(job)),
  });
  return { summary, decisions };
}

/** Claims a success callback for `id` naming `media`, as the ingress does; the claim's decision. */
async function claimCallback(
  proc: ReturnType<typeof processFor>,
  id: string,
  media: Parameters<typeof buildCallback>[2],
) {
  defineClaimCommand(proc.redis);
  const job = CallbackJobSchema.parse({
    v: 1,
    callback: RawCallbackSchema.parse(buildCallback('success', id, media)),
    receipt: {
      received_at: new Date().toISOString(),
      request_id: 'r',
      source_ip: '127.0.0.1',
      auth: ['none'],
      path: '/callbacks/runway',
    },
    extra: {},
  });
  return (await claimTask(proc.redis, proc.keys, { job, nowMs: Date.now(), ttlSeconds: 3600 })).decision;
}

describe('task registry', () => {
  it('registers once: a second call changes neither the time, the metadata nor the schedule', async () => {
    const { registry, redis, keys } = processFor(unique('reg'));
    expect(await registry.register('task-a', { model: 'aleph', user: 'u1' }, T0)).toBe(true);
    expect(await registry.register('task-a', { user: 'u2' }, T0 + 60_000)).toBe(false);
    expect(await registry.get('task-a')).toMatchObject({
      registeredAt: T0,
      model: 'aleph',
      metadata: { model: 'aleph', user: 'u1' },
      polls: 0,
    });
    expect(await redis.zscore(keys.pollDue, 'task-a')).toBe(String(DUE));
    await expect(registry.register('task-b', { model: 'sora' }, T0)).rejects.toThrow(/model/);
  });

  it('markTerminal takes a task out of the index for good; unknown tasks get no record', async () => {
    const { registry, redis, keys } = processFor(unique('term'));
    await registry.register('task-a', {}, T0);
    await registry.markTerminal('task-a', 'stored', T0 + 1);
    expect(await registry.counts(DUE)).toEqual({ open: 0, due: 0 });
    expect(await registry.get('task-a')).toMatchObject({ terminalAt: T0 + 1, terminalReason: 'stored' });
    expect(await registry.register('task-a', {}, T0 + 2)).toBe(false);
    expect(await registry.counts(DUE)).toEqual({ open: 0, due: 0 });
    await registry.markTerminal('never-registered', 'stored');
    expect(await redis.exists(keys.pollTask('never-registered'))).toBe(0);
  });

  it('claims only due tasks, and hides them from a second claim until the lease ends', async () => {
    const { registry } = processFor(unique('claim'));
    await registry.register('early', {}, T0);
    await registry.register('late', {}, T0 + 600_000);
    expect(await registry.claimDue(DUE - 1, DUE + 60_000, 10)).toEqual([]);
    expect(await registry.claimDue(DUE, DUE + 60_000, 10)).toEqual(['early']);
    expect(await registry.claimDue(DUE + 1000, DUE + 60_000, 10)).toEqual([]);
    expect(await registry.claimDue(DUE + 60_000, DUE + 120_000, 10)).toEqual(['early']);
  });
});

describe('reconcilePass against the simulated provider', () => {
  it('decides success, fail, expired, running and too old, each once', async () => {
    const proc = processFor(unique('pass'));
    const ids = {
      ok: unique('ok'),
      fail: unique('fail'),
      gone: unique('gone'),
      run: unique('run'),
      old: unique('old'),
    };
    sim.tasks.put({
      taskId: ids.ok,
      state: 'success',
      videoId: 'v-ok',
      videoUrl: sim.url(ids.ok, 'video'),
      imageUrl: sim.url(ids.ok, 'cover'),
    });
    sim.tasks.put({ taskId: ids.fail, state: 'fail', failCode: 400, failMsg: 'Incorrect image format.' });
    sim.tasks.put({ taskId: ids.gone, state: 'success', videoId: 'v-gone', videoUrl: sim.url(ids.gone, 'video') });
    sim.expire(ids.gone);
    sim.tasks.put({ taskId: ids.run, state: 'generating' });
    sim.tasks.put({ taskId: ids.old, state: 'queueing' });
    for (const id of [ids.ok, ids.fail, ids.gone, ids.run]) await proc.registry.register(id, {}, T0);
    await proc.registry.register(ids.old, {}, DUE - POLICY.maxAgeS * 1000);

    const recorder: Recorder = { jobs: [], failures: [] };
    const summary = await reconcilePass(passDeps(proc, DUE, recorder));
    expect(summary).toEqual({ claimed: 5, enqueued: 1, failed: 1, expired: 1, gaveUp: 1, rescheduled: 1, errors: 0 });
    for (const id of Object.values(ids)) expect(sim.api.polls(id)).toBe(1);

    const job = CallbackJobSchema.parse(recorder.jobs[0]);
    expect(job).toMatchObject({
      source: 'poll',
      callback: { task_id: ids.ok, outcome: 'success', video_id: 'v-ok', video_url: sim.url(ids.ok, 'video') },
    });
    const byTask = Object.fromEntries(recorder.failures.map((f) => [f.taskId, f]));
    expect(byTask[ids.fail]).toMatchObject({ category: 'invalid_image_format', providerCode: 400 });
    expect(byTask[ids.gone]).toMatchObject({ category: 'link_expired' });
    expect(byTask[ids.old]).toMatchObject({ category: 'no_outcome', reason: 'gave_up' });

    // Only the running task is still open, due after the interval; then the interval doubles.
    expect(await proc.registry.counts(DUE + 300_000)).toEqual({ open: 1, due: 1 });
    expect(await proc.registry.get(ids.run)).toMatchObject({ polls: 1, intervalS: 300, lastState: 'generating' });
    const again = await reconcilePass(passDeps(proc, DUE + 300_000, recorder));
    expect(again).toMatchObject({ claimed: 1, rescheduled: 1 });
    expect(await proc.registry.get(ids.run)).toMatchObject({ polls: 2, intervalS: 600 });
    expect(await reconcilePass(passDeps(proc, DUE + 300_000 + 599_000, recorder))).toMatchObject({ claimed: 0 });
    expect(sim.api.polls(ids.run)).toBe(2);
  });

  it('a refused key stops the pass and leaves the tasks for later', async () => {
    const proc = processFor(unique('auth'));
    const bad = { ...proc, client: createProviderClient({ baseUrl: sim.origin, apiKey: 'sk-wrong', retries: 0 }) };
    for (let i = 0; i < 5; i += 1) await proc.registry.register(unique('a'), {}, T0);
    const summary = await reconcilePass({ ...passDeps(bad, DUE, { jobs: [], failures: [] }), concurrency: 1 });
    expect(summary).toMatchObject({ claimed: 5, stoppedBy: 'auth', rescheduled: 1 });
    expect(await proc.registry.counts(DUE + 300_000)).toEqual({ open: 5, due: 5 });
  });

  it('two concurrent passes in two processes never poll a task twice', async () => {
    const prefix = unique('race');
    const a = processFor(prefix);
    const b = processFor(prefix);
    const ids = Array.from({ length: 40 }, () => unique('r'));
    for (const id of ids) {
      sim.tasks.put({ taskId: id, state: 'generating' });
      await a.registry.register(id, {}, T0);
    }
    const recorder: Recorder = { jobs: [], failures: [] };
    const [first, second] = await Promise.all([
      reconcilePass({ ...passDeps(a, DUE, recorder), batchSize: 5 }),
      reconcilePass({ ...passDeps(b, DUE, recorder), batchSize: 5 }),
    ]);
    expect((first?.claimed ?? 0) + (second?.claimed ?? 0)).toBe(40);
    expect(ids.map((id) => sim.api.polls(id))).toEqual(ids.map(() => 1));
  });
});

describe('poll → dedupe claim → callbacks queue', () => {
  it('a polled success makes one job; the late real callback is a duplicate', async () => {
    const prefix = unique('enq');
    const proc = processFor(prefix);
    const { queue, enqueue } = pollQueue(proc, prefix, `${prefix}:events`);
    const id = unique('late');
    const media = { video: sim.url(id, 'video'), image: sim.url(id, 'cover'), videoId: 'vid-late' };
    sim.tasks.put({
      taskId: id,
      state: 'success',
      videoId: media.videoId,
      videoUrl: media.video,
      imageUrl: media.image,
    });
    await proc.registry.register(id, {}, T0);
    const { summary, decisions } = await passThrough(proc, enqueue);
    expect(summary.enqueued).toBe(1);
    expect(decisions).toEqual(['new']);
    const job = await queue.getJob(`${id}.success`);
    expect(job?.data).toMatchObject({ source: 'poll', callback: { task_id: id } });

    // The provider's own callback, late: same content → duplicate, no second job.
    expect(await claimCallback(proc, id, media)).toBe('duplicate');
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('a poll that disagrees with an accepted callback holds the task and publishes task.conflict', async () => {
    const prefix = unique('conflict');
    const proc = processFor(prefix);
    const stream = `${prefix}:events`;
    const { enqueue } = pollQueue(proc, prefix, stream);
    const id = unique('disagree');
    // The callback the relay accepted first names other media than the provider's API does.
    const forged = { video: 'https://cdn.example/forged.mp4', image: 'https://cdn.example/forged.png', videoId: 'v' };
    expect(await claimCallback(proc, id, forged)).toBe('new');
    sim.tasks.put({
      taskId: id,
      state: 'success',
      videoId: 'v',
      videoUrl: sim.url(id, 'video'),
      imageUrl: sim.url(id, 'cover'),
    });
    await proc.registry.register(id, {}, T0);
    const { decisions } = await passThrough(proc, enqueue);
    expect(decisions).toEqual(['conflict']);
    const entries = await proc.redis.xrange(stream, '-', '+');
    const events = entries.map(([, fields]) => parseStreamEntry(fields));
    expect(events).toMatchObject([{ type: 'task.conflict', task_id: id, state: 'open' }]);
  });
});

describe('installReconcileScheduler', () => {
  it('one scheduler for any number of processes; each tick runs once, in one of them', async () => {
    const prefix = unique('sched');
    let passes = 0;
    const runPass = async () => {
      passes += 1;
      return { claimed: 0, enqueued: 0, failed: 0, expired: 0, gaveUp: 0, rescheduled: 0, errors: 0 };
    };
    const schedulers = await Promise.all(
      [connect(), connect()].map((connection) =>
        installReconcileScheduler({ connection, prefix, everyMs: 100, runPass, logger }),
      ),
    );
    cleanups.push(() => Promise.all(schedulers.map((s) => s.close())));
    const completed: string[] = [];
    for (const scheduler of schedulers) scheduler.worker.on('completed', (job) => completed.push(String(job.id)));
    await waitFor(() => completed.length >= 4, { timeoutMs: 10_000 });
    expect(await schedulers[0]?.queue.getJobSchedulersCount()).toBe(1);
    // Every tick's job ran once: no id twice, and each completion was one pass.
    expect(new Set(completed).size).toBe(completed.length);
    expect(passes).toBeGreaterThanOrEqual(completed.length);
  });
});

describe('createReconcileFailureSink', () => {
  it('publishes task.failed with the registered labels and records the failure; a callback record keeps its fields', async () => {
    const prefix = unique('sink');
    const proc = processFor(prefix);
    const stream = `${prefix}:events`;
    const tasks = createTaskStore(proc.redis, proc.keys, 3600);
    const emitFailed = createReconcileFailureSink({
      redis: proc.redis,
      registry: proc.registry,
      tasks,
      events: { stream, maxlen: 1000 },
      logger,
    });
    // Never called back: the record is made from the failure, complete enough for every reader.
    const lost = unique('lost');
    await proc.registry.register(lost, { customer: 'acme' }, T0);
    await emitFailed(gaveUpFailure(lost, 12, 'generating'));
    const record = parseTaskState(await proc.redis.hgetall(proc.keys.task(lost)));
    expect(record).toMatchObject({
      status: 'failed',
      accepted_outcome: 'failure',
      error_category: 'no_outcome',
      attempts: 12,
    });
    expect(await proc.redis.zscore(proc.keys.taskIndex('failed'), lost)).not.toBeNull();
    const events = (await proc.redis.xrange(stream, '-', '+')).map(([, fields]) => parseStreamEntry(fields));
    expect(events).toMatchObject([
      { type: 'task.failed', task_id: lost, category: 'no_outcome', metadata: { customer: 'acme' } },
    ]);

    // A record the ingress made (a callback was accepted) keeps its outcome and code.
    const called = unique('called');
    await proc.redis.hset(proc.keys.task(called), {
      status: 'processing',
      accepted_outcome: 'success',
      code: 200,
      msg: 'ok',
      first_received_at: T0,
      last_received_at: T0,
    });
    await emitFailed(gaveUpFailure(called, 3, 'generating'));
    expect(parseTaskState(await proc.redis.hgetall(proc.keys.task(called)))).toMatchObject({
      status: 'failed',
      accepted_outcome: 'success',
      code: 200,
      first_received_at: T0,
    });
  });
});
