import { randomBytes, randomUUID } from 'node:crypto';
import { closeQuietly, keySlot } from '@runway-relay/runtime';
import { type RedisClusterHarness, startRedisCluster, waitFor } from '@runway-relay/testkit';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestIngress,
  jobIdFor,
  jobIds,
  providerHeaders,
  successBody,
  type TestIngress,
} from './helpers/ingress.js';
import { connectInspect } from './helpers/redis.js';

// A cluster of its own: each test kills the master of its prefix's slot (and restores the
// cluster afterwards), which must not disturb the tests of test/cluster.test.ts.
let cluster: RedisClusterHarness;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.dispose();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** The REDIS_URL is never dialled when cluster nodes are set. */
const UNUSED_URL = 'redis://127.0.0.1:1';
/** Callbacks answered while the slot's master has no replica, before it is killed. */
const WINDOW = 20;
/** Callbacks answered while the replica is in sync, before the window. */
const BEFORE = 5;

interface Answer {
  taskId: string;
  status: number;
  body: { status?: string; error?: string };
}

async function deliver(ingress: TestIngress, taskId: string): Promise<Answer> {
  const res = await ingress.app.inject({
    method: 'POST',
    url: '/callbacks/runway',
    headers: providerHeaders(taskId),
    payload: JSON.stringify(successBody(taskId)),
  });
  return { taskId, status: res.statusCode, body: res.json() };
}

const newIds = (count: number) => Array.from({ length: count }, () => randomUUID());

/** Of `taskIds`, those whose task record or job is missing, asked over a fresh connection. */
async function missingAfterFailover(ingress: TestIngress, taskIds: string[]): Promise<string[]> {
  const inspect = connectInspect(ingress.config);
  const queue = new Queue(ingress.config.QUEUE_NAME, { connection: inspect, prefix: ingress.config.QUEUE_PREFIX });
  queue.on('error', () => undefined);
  try {
    const jobs = new Set(await jobIds(queue));
    const missing: string[] = [];
    for (const taskId of taskIds) {
      const recorded = (await inspect.exists(ingress.keys.task(taskId))) === 1;
      if (!recorded || !jobs.has(jobIdFor(taskId, 'success'))) missing.push(taskId);
    }
    return missing.sort();
  } finally {
    await queue.close();
    await closeQuietly([inspect]);
  }
}

/** Resolves once the replica of `master` has acknowledged everything the master applied. */
async function replicated(master: number, prefix: string): Promise<void> {
  await waitFor(
    async () => {
      await cluster.command(master, 'SET', `${prefix}:synced`, '1');
      return Number(await cluster.command(master, 'WAIT', '1', '100')) === 1;
    },
    { timeoutMs: 10_000, description: `the replica of ${master} acknowledging` },
  );
}

/**
 * Delivers {@link BEFORE} callbacks with the slot's replica in sync, then {@link WINDOW} while
 * the master has no replica at all (the replica frozen by SIGSTOP, its link dropped by
 * `CLIENT KILL TYPE replica`, so it cannot come back), then SIGKILLs the master, thaws the
 * replica and promotes it (`CLUSTER FAILOVER FORCE`). The promoted replica has exactly what
 * was replicated before the window. Returns the answers and the acknowledged (200) callbacks
 * missing after the failover; the killed master is left dead for the caller to restart.
 */
async function failoverAfterWindow(ingress: TestIngress) {
  await cluster.waitUntilHealthy();
  const prefix = ingress.config.QUEUE_PREFIX;
  const slot = keySlot(prefix);
  const master = await cluster.masterForSlot(slot);
  const replica = await cluster.replicaOf(master);

  // A replica just back from its initial sync may acknowledge nothing for up to a second.
  await replicated(master, prefix);
  const before = await Promise.all(newIds(BEFORE).map((taskId) => deliver(ingress, taskId)));
  // Everything the master applied so far is on the replica: WAIT covers the whole stream.
  await replicated(master, prefix);

  await cluster.pauseNode(replica);
  expect(Number(await cluster.command(master, 'CLIENT', 'KILL', 'TYPE', 'replica'))).toBe(1);
  const window = await Promise.all(newIds(WINDOW).map((taskId) => deliver(ingress, taskId)));

  // The replica stays frozen until its master is dead, so it never receives the window.
  await cluster.killNode(master);
  await cluster.resumeNode(replica);
  await cluster.command(replica, 'CLUSTER', 'FAILOVER', 'FORCE');
  expect(await cluster.waitForFailover(slot, master)).toBe(replica);

  const acknowledged = [...before, ...window].filter((answer) => answer.status === 200).map((a) => a.taskId);
  const lost = await missingAfterFailover(ingress, acknowledged);
  return { master, before, window, acknowledged, lost };
}

describe('a master failover after writes its replica never received', () => {
  it('loses callbacks acknowledged with REDIS_WAIT_REPLICAS=0', async () => {
    const ingress = await buildTestIngress(UNUSED_URL, {
      REDIS_CLUSTER_NODES: cluster.nodes,
      QUEUE_PREFIX: `{wait-off-${randomBytes(4).toString('hex')}}`,
    });
    cleanups.push(() => ingress.close());
    const { master, before, window, acknowledged, lost } = await failoverAfterWindow(ingress);
    cleanups.push(() => cluster.restartNode(master));

    console.log(
      `[WAIT off] acknowledged ${acknowledged.length} of ${BEFORE + WINDOW}; lost in the failover: ${lost.length}`,
    );
    expect(before.map((answer) => answer.status)).toEqual(Array(BEFORE).fill(200));
    expect(window.map((answer) => answer.body.status)).toEqual(Array(WINDOW).fill('received'));
    // Every callback of the window got its 200 and is gone: the provider will not resend it.
    expect(lost).toEqual(window.map((answer) => answer.taskId).sort());
  }, 30_000);

  it('loses none with REDIS_WAIT_REPLICAS=1: the window is answered 503, the retries 200', async () => {
    const ingress = await buildTestIngress(UNUSED_URL, {
      REDIS_CLUSTER_NODES: cluster.nodes,
      QUEUE_PREFIX: `{wait-on-${randomBytes(4).toString('hex')}}`,
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '200',
    });
    cleanups.push(() => ingress.close());
    const { master, before, window, acknowledged, lost } = await failoverAfterWindow(ingress);
    cleanups.push(() => cluster.restartNode(master));

    console.log(
      `[WAIT on] acknowledged ${acknowledged.length} of ${BEFORE + WINDOW}; lost in the failover: ${lost.length}`,
    );
    expect(before.map((answer) => answer.status)).toEqual(Array(BEFORE).fill(200));
    expect(window.map((answer) => [answer.status, answer.body.error])).toEqual(
      Array(WINDOW).fill([503, 'not_replicated']),
    );
    expect(lost).toEqual([]);

    // The provider retries the 503s: once the dead node is back as the new master's replica,
    // each retry is acknowledged, and is there.
    await cluster.restartNode(master);
    for (const { taskId } of window) {
      await waitFor(async () => (await deliver(ingress, taskId)).status === 200, {
        timeoutMs: 10_000,
        intervalMs: 100,
        description: `retry of ${taskId} acknowledged`,
      });
    }
    expect(
      await missingAfterFailover(
        ingress,
        window.map((answer) => answer.taskId),
      ),
    ).toEqual([]);
  }, 30_000);
});
