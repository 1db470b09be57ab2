import { randomUUID } from 'node:crypto';
import { useRedisClient } from '@runway-relay/testkit/per-file';
import { describe, expect, it } from 'vitest';
import { failedEvent } from '../test/harness.js';
import { deliveryKeys } from './keys.js';
import { createMessageLog, type MessageLogLimits, messageIdFor } from './message-log.js';

const redis = useRedisClient();

const RETENTION_S = 3600;

/** A log on a fresh prefix whose clock the test moves. */
function logWith(limits: Partial<MessageLogLimits> = {}) {
  const prefix = `{m${randomUUID().slice(0, 8)}}`;
  const keys = deliveryKeys(prefix);
  const clock = { ms: Date.parse('2030-01-01T00:00:00Z') };
  const log = createMessageLog({
    redis,
    keys,
    limits: {
      maxEndpointAttempts: 100,
      maxMessageAttempts: 10,
      maxMessages: 100,
      retentionS: RETENTION_S,
      ...limits,
    },
    now: () => new Date(clock.ms),
  });
  return { log, keys, clock, prefix };
}

const TASK_A = '0f3e9c1a-7b2d-4e5f-8a6b-00000000000a';
const TASK_B = '0f3e9c1a-7b2d-4e5f-8a6b-00000000000b';

describe('message log: the per-task index', () => {
  it('lists every message of a task, to every endpoint, oldest first, written with the message', async () => {
    const { log, keys, clock, prefix } = logWith();
    const first = failedEvent({ task_id: TASK_A });
    const second = failedEvent({ task_id: TASK_A });
    const other = failedEvent({ task_id: TASK_B });
    await log.ensure(first, 'ep_a', 'pending');
    clock.ms += 1;
    await log.ensure(first, 'ep_b', 'parked');
    clock.ms += 1;
    await log.ensure(second, 'ep_a', 'pending');
    await log.ensure(other, 'ep_a', 'pending');

    expect(await log.taskMessageIds(TASK_A)).toEqual([
      messageIdFor(first.id, 'ep_a'),
      messageIdFor(first.id, 'ep_b'),
      messageIdFor(second.id, 'ep_a'),
    ]);
    expect(await log.taskMessageIds(TASK_B)).toEqual([messageIdFor(other.id, 'ep_a')]);
    expect(await log.taskMessageIds('0f3e9c1a-7b2d-4e5f-8a6b-0000000000ff')).toEqual([]);
    // Same prefix (so the same hash slot as the queue), and kept as long as the messages.
    const index = keys.taskMessages(TASK_A);
    expect(index.startsWith(`${prefix}:`)).toBe(true);
    const ttl = await redis.ttl(index);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(RETENTION_S);
  });

  it('adds nothing when the same (event, endpoint) is ensured again', async () => {
    const { log, clock, keys } = logWith();
    const event = failedEvent({ task_id: TASK_A });
    const createdMs = clock.ms;
    expect((await log.ensure(event, 'ep_a', 'pending')).created).toBe(true);
    clock.ms += 5_000;
    expect((await log.ensure(event, 'ep_a', 'pending')).created).toBe(false);
    const id = messageIdFor(event.id, 'ep_a');
    expect(await log.taskMessageIds(TASK_A)).toEqual([id]);
    // The entry keeps its creation time: a re-read of the stream does not move it.
    expect(Number(await redis.zscore(keys.taskMessages(TASK_A), id))).toBe(createdMs);
  });

  it("refreshes the index's expiry whenever one of its messages changes", async () => {
    const { log, keys } = logWith();
    const event = failedEvent({ task_id: TASK_A });
    const { message } = await log.ensure(event, 'ep_a', 'pending');
    const index = keys.taskMessages(TASK_A);
    await redis.expire(index, 10);
    await redis.expire(keys.message(message.id), 10);
    await log.setStatus(message, 'delivered', { httpStatus: 204, error: null });
    expect(await redis.ttl(index)).toBeGreaterThan(10);
    expect(await redis.ttl(keys.message(message.id))).toBeGreaterThan(10);
    await redis.expire(index, 10);
    await log.markEnqueued(message);
    expect(await redis.ttl(index)).toBeGreaterThan(10);
  });

  it("drops a message from its task's index when the endpoint's count bound drops the message", async () => {
    const { log, clock, keys } = logWith({ maxMessages: 2 });
    const oldest = failedEvent({ task_id: TASK_A });
    await log.ensure(oldest, 'ep_a', 'pending');
    await log.ensure(oldest, 'ep_b', 'pending');
    clock.ms += 1;
    await log.ensure(failedEvent({ task_id: TASK_B }), 'ep_a', 'pending');
    clock.ms += 1;
    await log.ensure(failedEvent({ task_id: TASK_B }), 'ep_a', 'pending');

    // ep_a keeps its 2 newest; the oldest message of ep_a is gone from task A's index and the
    // log, while task A's message to ep_b stays.
    expect(await log.get(messageIdFor(oldest.id, 'ep_a'))).toBeNull();
    expect(await log.taskMessageIds(TASK_A)).toEqual([messageIdFor(oldest.id, 'ep_b')]);
    expect(await log.taskMessageIds(TASK_B)).toHaveLength(2);
    expect(await redis.zcard(keys.taskMessages(TASK_B))).toBe(2);
  });

  it("drops messages past the retention age from their tasks' indexes with the messages", async () => {
    const { log, clock, keys } = logWith();
    const old = failedEvent({ task_id: TASK_A });
    await log.ensure(old, 'ep_a', 'pending');
    await log.ensure(failedEvent({ task_id: TASK_B }), 'ep_a', 'pending');
    clock.ms += RETENTION_S * 1000 + 1;
    const fresh = failedEvent({ task_id: TASK_B });
    await log.ensure(fresh, 'ep_a', 'pending');

    expect(await log.taskMessageIds(TASK_A)).toEqual([]);
    expect(await redis.exists(keys.taskMessages(TASK_A))).toBe(0);
    expect(await log.taskMessageIds(TASK_B)).toEqual([messageIdFor(fresh.id, 'ep_a')]);
  });
});

describe('message log: counters', () => {
  it('counts attempts and replays from 0 without storing the zeros', async () => {
    const { log, keys } = logWith();
    const { message } = await log.ensure(failedEvent({ task_id: TASK_A }), 'ep_a', 'pending');
    expect(message).toMatchObject({ attempts: 0, replays: 0, enqueued: false });
    expect(await redis.hexists(keys.message(message.id), 'attempts')).toBe(0);
    expect(await log.nextAttempt(message.id)).toBe(1);
    expect(await log.nextAttempt(message.id)).toBe(2);
    expect(await log.nextReplay(message.id)).toBe(1);
    expect(await log.get(message.id)).toMatchObject({ attempts: 2, replays: 1 });
  });
});
