import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisClusterHarness, startRedisCluster } from './redis-cluster.js';

let cluster: RedisClusterHarness;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.dispose();
});

const connectedReplicas = async (port: number) =>
  Number(/connected_slaves:(\d+)/.exec(String(await cluster.command(port, 'INFO', 'replication')))?.[1]);

/** PING on a fresh connection; `null` when no answer comes within `timeoutMs`. */
async function ping(port: number, timeoutMs: number): Promise<string | null> {
  const redis = new Redis(port, '127.0.0.1', { commandTimeout: timeoutMs, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  try {
    return await redis.ping();
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

describe('startRedisCluster', () => {
  it('names the replica of a master, freezes and thaws a node, and sends a command to one node', async () => {
    const master = await cluster.masterForSlot(0);
    const replica = await cluster.replicaOf(master);
    expect((await cluster.topology()).find((node) => node.port === replica)).toMatchObject({
      role: 'replica',
      masterPort: master,
    });
    expect(await connectedReplicas(master)).toBe(1);

    await cluster.pauseNode(replica);
    expect(await ping(replica, 300)).toBeNull();
    // The frozen replica cannot reconnect once its master drops it.
    expect(Number(await cluster.command(master, 'CLIENT', 'KILL', 'TYPE', 'replica'))).toBe(1);
    expect(await connectedReplicas(master)).toBe(0);
    expect(await cluster.masterForSlot(0)).toBe(master); // checks skip the frozen node

    await cluster.resumeNode(replica);
    expect(await ping(replica, 5_000)).toBe('PONG');
    await cluster.waitUntilHealthy();
    expect(await connectedReplicas(master)).toBe(1);
  });

  it('leaves a running node alone when asked to restart it, so dispose still stops every server', async () => {
    // A second start on a running node's port would fail to bind and hide the running server
    // from dispose: it outlived the test run.
    const own = await startRedisCluster();
    const port = own.ports[0] ?? 0;
    await own.restartNode(port);
    expect(await ping(port, 2_000)).toBe('PONG');
    await own.dispose();
    for (const nodePort of own.ports) expect(await ping(nodePort, 500)).toBeNull();
  }, 60_000);

  it('rejects a replica lookup for a port that is no master', async () => {
    const master = await cluster.masterForSlot(0);
    const replica = await cluster.replicaOf(master);
    await expect(cluster.replicaOf(replica)).rejects.toThrow(`no replica of the master on port ${replica}`);
  });
});
