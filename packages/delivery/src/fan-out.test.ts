import type { RelayEvent } from '@runway-relay/contracts';
import { publishEvent } from '@runway-relay/runtime';
import { type RedisServerHarness, startRedisServer, waitFor } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failedEvent, type Harness, startHarness } from '../test/harness.js';
import { createEndpointStore, type EndpointStore } from './endpoint-store.js';
import { createFanOut } from './fan-out.js';
import { runFanOutConsumer } from './fan-out-consumer.js';
import { messageIdFor } from './message-log.js';

let server: RedisServerHarness;
let h: Harness;
let reader: Redis;
const stops: AbortController[] = [];
const running: Promise<void>[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server.dispose();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop.abort();
  await Promise.all(running.splice(0));
  await reader.quit();
  await h.close();
});

async function setUp() {
  // No BullMQ worker: the jobs stay in the queue, where the test counts them.
  h = await startHarness({ redisUrl: server.url, run: false });
  reader = new Redis(server.url, { maxRetriesPerRequest: null });
  const stream = `${h.prefix}:events`;
  return { stream };
}

/** The group's last-delivered-id, from XINFO GROUPS' flat field list. */
async function lastDelivered(stream: string): Promise<string | undefined> {
  const [group] = (await h.connection.xinfo('GROUPS', stream)) as string[][];
  const at = group?.indexOf('last-delivered-id') ?? -1;
  return at >= 0 ? group?.[at + 1] : undefined;
}

function consume(stream: string, consumer: string, claimIdleMs = 60_000) {
  const stop = new AbortController();
  stops.push(stop);
  const done = runFanOutConsumer({
    redis: reader,
    stream,
    fanOut: h.fanOut,
    consumer,
    claimIdleMs,
    startId: '0',
    blockMs: 100,
    signal: stop.signal,
    logger: h.logger,
  });
  running.push(done);
  return { stop, done };
}

describe('fan-out', () => {
  it('adds one job per matching endpoint with a deterministic id, once, however often the event is read', async () => {
    await setUp();
    const all = await h.endpoints.create({ url: 'https://a.example.com/' });
    const storedOnly = await h.endpoints.create({ url: 'https://b.example.com/', event_types: ['media.stored'] });
    const failures = await h.endpoints.create({ url: 'https://c.example.com/', event_types: ['task.failed'] });
    const event = failedEvent();
    expect(await h.fanOut.fanOutEvent(event)).toBe(2);
    expect(await h.fanOut.fanOutEvent(event)).toBe(0);
    const jobs = await h.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.map((job) => job.id).sort()).toEqual(
      [messageIdFor(event.id, all.endpoint.id), messageIdFor(event.id, failures.endpoint.id)].sort(),
    );
    expect(await h.log.endpointMessageIds(storedOnly.endpoint.id, 0)).toEqual([]);
  });

  it('adds nothing twice even after BullMQ removed the job (the message remembers its job)', async () => {
    await setUp();
    await h.endpoints.create({ url: 'https://a.example.com/' });
    const event = failedEvent();
    await h.fanOut.fanOutEvent(event);
    await h.queue.obliterate({ force: true });
    expect(await h.fanOut.fanOutEvent(event)).toBe(0);
    expect(await h.queue.count()).toBe(0);
  });

  it('consumes the stream through a consumer group and acks after the adds; re-reading adds nothing', async () => {
    const { stream } = await setUp();
    await h.endpoints.create({ url: 'https://a.example.com/' });
    const events = [failedEvent(), failedEvent(), failedEvent()];
    let last = '';
    for (const event of events) last = await publishEvent(h.connection, { stream, maxlen: 1000 }, event);
    const first = consume(stream, 'worker-1');
    await waitFor(async () => (await h.queue.getWaitingCount()) === 3);
    await waitFor(async () => ((await h.connection.xpending(stream, 'deliveries')) as [number])[0] === 0);
    first.stop.abort();
    await first.done;
    // Rewind the group: every entry is read again, and nothing is added twice.
    await h.connection.xgroup('SETID', stream, 'deliveries', '0');
    const second = consume(stream, 'worker-1');
    await waitFor(async () => (await lastDelivered(stream)) === last);
    await waitFor(async () => ((await h.connection.xpending(stream, 'deliveries')) as [number])[0] === 0);
    second.stop.abort();
    await second.done;
    expect(await h.queue.getWaitingCount()).toBe(3);
  });

  it("claims a dead consumer's pending entries with XAUTOCLAIM", async () => {
    const { stream } = await setUp();
    await h.endpoints.create({ url: 'https://a.example.com/' });
    await publishEvent(h.connection, { stream, maxlen: 1000 }, failedEvent());
    await h.connection.xgroup('CREATE', stream, 'deliveries', '0', 'MKSTREAM');
    // A consumer reads the entry and dies before fanning it out or acking.
    await h.connection.xreadgroup('GROUP', 'deliveries', 'dead-worker', 'COUNT', '10', 'STREAMS', stream, '>');
    consume(stream, 'live-worker', 200);
    await waitFor(async () => (await h.queue.getWaitingCount()) === 1);
    await waitFor(async () => ((await h.connection.xpending(stream, 'deliveries')) as [number])[0] === 0);
  });

  it('retries a failed fan-out through XAUTOCLAIM without holding up the entries behind it', async () => {
    const { stream } = await setUp();
    await h.endpoints.create({ url: 'https://a.example.com/' });
    const poisoned = failedEvent();
    const later = failedEvent();
    let failures = 0;
    const flaky = {
      async fanOutEvent(event: RelayEvent) {
        if (event.id === poisoned.id && failures < 2) {
          failures += 1;
          throw new Error('Redis hiccup');
        }
        return h.fanOut.fanOutEvent(event);
      },
    };
    await publishEvent(h.connection, { stream, maxlen: 1000 }, poisoned);
    await publishEvent(h.connection, { stream, maxlen: 1000 }, later);
    const stop = new AbortController();
    stops.push(stop);
    running.push(
      runFanOutConsumer({
        redis: reader,
        stream,
        fanOut: flaky,
        consumer: 'worker-1',
        claimIdleMs: 300,
        startId: '0',
        blockMs: 50,
        signal: stop.signal,
        logger: h.logger,
      }),
    );
    // The later event goes through while the first one is still failing.
    const endpointId = (await h.endpoints.all())[0]?.id ?? '';
    await waitFor(async () => (await h.queue.getJob(messageIdFor(later.id, endpointId))) !== undefined);
    expect(await h.queue.getJob(messageIdFor(poisoned.id, endpointId))).toBeUndefined();
    await waitFor(async () => (await h.queue.getWaitingCount()) === 2, { timeoutMs: 5_000 });
    expect(failures).toBe(2);
    await waitFor(async () => ((await h.connection.xpending(stream, 'deliveries')) as [number])[0] === 0);
  });

  it('acknowledges an entry off the schema without adding anything', async () => {
    const { stream } = await setUp();
    await h.endpoints.create({ url: 'https://a.example.com/' });
    await h.connection.xadd(stream, '*', 'event', '{"v":1,"type":"nope"}');
    consume(stream, 'worker-1');
    await waitFor(async () => {
      const groups = (await h.connection.xinfo('GROUPS', stream)) as unknown[][];
      return groups.length === 1 && ((await h.connection.xpending(stream, 'deliveries')) as [number])[0] === 0;
    });
    expect(await h.queue.count()).toBe(0);
  });

  it('parks the message of a disabled endpoint instead of adding a job', async () => {
    await setUp();
    const { endpoint } = await h.endpoints.create({ url: 'https://a.example.com/', enabled: false });
    expect(await h.fanOut.fanOutEvent(failedEvent())).toBe(0);
    const [id] = await h.log.endpointMessageIds(endpoint.id, 0);
    expect((await h.log.get(String(id)))?.status).toBe('parked');
  });
});

describe('fan-out: the cached endpoint list', () => {
  /** The harness's store, counting its list reads: the fan-out under test reads through it. */
  function countingFanOut() {
    const reads = { all: 0 };
    const endpoints: Pick<EndpointStore, 'all' | 'version'> = {
      all: () => {
        reads.all += 1;
        return h.endpoints.all();
      },
      version: () => h.endpoints.version(),
    };
    const fanOut = createFanOut({ endpoints, log: h.log, queue: h.queue, jobOptions: h.jobOptions, logger: h.logger });
    return { fanOut, reads };
  }

  /** Another process's store: its own connection, same prefix. */
  function otherProcessStore() {
    return createEndpointStore({
      redis: reader,
      keys: h.keys,
      policy: { allowHttp: true, allowPrivate: true },
    });
  }

  /** The endpoints an event's fan-out added a job for, and those it parked. */
  async function outcome(eventId: string, endpointIds: string[]) {
    const jobs: string[] = [];
    const parked: string[] = [];
    for (const id of endpointIds) {
      const messageId = messageIdFor(eventId, id);
      if ((await h.queue.getJob(messageId)) !== undefined) jobs.push(id);
      if ((await h.log.get(messageId))?.status === 'parked') parked.push(id);
    }
    return { jobs, parked };
  }

  it('reads the list once while no endpoint changes', async () => {
    await setUp();
    await h.endpoints.create({ url: 'https://a.example.com/' });
    await h.endpoints.create({ url: 'https://b.example.com/' });
    const { fanOut, reads } = countingFanOut();
    for (let i = 0; i < 5; i += 1) expect(await fanOut.fanOutEvent(failedEvent())).toBe(2);
    expect(reads.all).toBe(1);
    // A burst handled at once (as the consumer handles a batch) shares one read as well.
    await h.endpoints.create({ url: 'https://c.example.com/' });
    const added = await Promise.all(Array.from({ length: 10 }, () => fanOut.fanOutEvent(failedEvent())));
    expect(added).toEqual(Array.from({ length: 10 }, () => 3));
    expect(reads.all).toBe(2);
  });

  it("sees another process's create, patch, disable and delete at the very next event", async () => {
    await setUp();
    const other = otherProcessStore();
    const { fanOut, reads } = countingFanOut();
    const a = (await other.create({ url: 'https://a.example.com/' })).endpoint.id;
    const first = failedEvent();
    await fanOut.fanOutEvent(first);
    expect(await outcome(first.id, [a])).toEqual({ jobs: [a], parked: [] });

    const b = (await other.create({ url: 'https://b.example.com/', event_types: ['task.failed'] })).endpoint.id;
    const afterCreate = failedEvent();
    await fanOut.fanOutEvent(afterCreate);
    expect(await outcome(afterCreate.id, [a, b])).toEqual({ jobs: [a, b], parked: [] });

    await other.update(b, { event_types: ['media.stored'] });
    const afterPatch = failedEvent();
    await fanOut.fanOutEvent(afterPatch);
    expect(await outcome(afterPatch.id, [a, b])).toEqual({ jobs: [a], parked: [] });

    // As a 410 seen by another worker process disables it.
    await other.disable(a, 'answered 410 Gone');
    const afterDisable = failedEvent();
    await fanOut.fanOutEvent(afterDisable);
    expect(await outcome(afterDisable.id, [a, b])).toEqual({ jobs: [], parked: [a] });

    await other.update(a, { enabled: true });
    await other.update(b, { event_types: [] });
    const afterEnable = failedEvent();
    await fanOut.fanOutEvent(afterEnable);
    expect(await outcome(afterEnable.id, [a, b])).toEqual({ jobs: [a, b], parked: [] });

    await other.delete(a);
    const afterDelete = failedEvent();
    await fanOut.fanOutEvent(afterDelete);
    expect(await outcome(afterDelete.id, [a, b])).toEqual({ jobs: [b], parked: [] });
    expect(await h.log.get(messageIdFor(afterDelete.id, a))).toBeNull();

    const unchanged = failedEvent();
    const before = reads.all;
    await fanOut.fanOutEvent(unchanged);
    expect(reads.all).toBe(before);
    expect(await outcome(unchanged.id, [b])).toEqual({ jobs: [b], parked: [] });
  });

  it("sees the env endpoint's enable and disable from another process", async () => {
    await setUp();
    const env = { url: 'https://env.example.com/hooks', secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` };
    const policy = { allowHttp: true, allowPrivate: true };
    const mine = createEndpointStore({ redis: h.connection, keys: h.keys, policy, envEndpoint: env });
    const other = createEndpointStore({ redis: reader, keys: h.keys, policy, envEndpoint: env });
    const fanOut = createFanOut({
      endpoints: mine,
      log: h.log,
      queue: h.queue,
      jobOptions: h.jobOptions,
      logger: h.logger,
    });
    const first = failedEvent();
    await fanOut.fanOutEvent(first);
    expect(await outcome(first.id, ['env'])).toEqual({ jobs: ['env'], parked: [] });
    await other.disable('env', 'answered 410 Gone');
    const second = failedEvent();
    await fanOut.fanOutEvent(second);
    expect(await outcome(second.id, ['env'])).toEqual({ jobs: [], parked: ['env'] });
    await other.update('env', { enabled: true });
    const third = failedEvent();
    await fanOut.fanOutEvent(third);
    expect(await outcome(third.id, ['env'])).toEqual({ jobs: ['env'], parked: [] });
  });
});
