import type { Cluster, Redis } from 'ioredis';
import { keySlot } from './hash-slot.js';
import type { RedisClient } from './redis.js';

/**
 * Outcome of a replication check. Expected failures are values: `timeout` (fewer replicas
 * acknowledged within the timeout), `master_changed` (the slot moved to another master while
 * the request wrote, so its writes may sit on a node that is gone), `master_unreachable` (the
 * slot's master has no usable connection).
 */
export type ReplicaAck =
  | { ok: true; replicas: number }
  | { ok: false; reason: 'timeout' | 'master_changed' | 'master_unreachable'; replicas: number };

/** One request's writes: begun before its first write, confirmed after its last. */
export interface WriteSession {
  /** Runs `WAIT` on the connection that carried the writes; rejects only on a Redis error. */
  confirm(): Promise<ReplicaAck>;
}

export interface ReplicaWait {
  /** Call before a request's first write (on a cluster it remembers the slot's master). */
  begin(): WriteSession;
}

export interface ReplicaWaitOptions {
  /** The connection the writes go through (the ingress's producer connection). */
  redis: RedisClient;
  /** Replicas that must acknowledge (`WAIT numreplicas`); at least 1. */
  replicas: number;
  /** ms `WAIT` may block (`WAIT … timeout`); at least 1 (0 would block forever). */
  timeoutMs: number;
  /**
   * A key of the slot the writes go to. Every relay key carries the `QUEUE_PREFIX` hash
   * tag, so one key stands for all of them.
   */
  slotKey: string;
}

const isCluster = (redis: RedisClient): redis is Cluster => (redis as Cluster).isCluster === true;

async function waitOn(redis: Redis | Cluster, replicas: number, timeoutMs: number): Promise<ReplicaAck> {
  const acknowledged = Number(await redis.call('WAIT', String(replicas), String(timeoutMs)));
  return acknowledged >= replicas
    ? { ok: true, replicas: acknowledged }
    : { ok: false, reason: 'timeout', replicas: acknowledged };
}

/**
 * Shares WAITs between concurrent requests on one connection (group commit). A WAIT covers
 * every write sent before it on its connection, so a caller whose writes are done can use any
 * WAIT sent after it called: the first caller sends one at once; callers arriving while it is
 * in flight share the single WAIT sent as soon as it returns. Without this, N concurrent
 * requests would queue N WAITs, each blocking the connection for a replica round trip. A
 * caller waits for at most two WAITs. The writes before it may each have queued behind one
 * too (WAIT blocks the connection), so with no replica a request can take four timeouts.
 */
export function groupCommit(run: () => Promise<ReplicaAck>): () => Promise<ReplicaAck> {
  let inFlight: Promise<ReplicaAck> | undefined;
  let next: Promise<ReplicaAck> | undefined;
  const start = () => {
    const sent = run();
    inFlight = sent;
    const clear = () => {
      if (inFlight === sent) inFlight = undefined;
    };
    sent.then(clear, clear);
    return sent;
  };
  return () => {
    if (inFlight === undefined) return start();
    next ??= inFlight
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}

/** `host:port` of a node connection, as ioredis keys `cluster.slots`. */
const nodeKey = (node: Redis) => `${node.options.host}:${node.options.port}`;

function clusterSession(
  cluster: Cluster,
  slot: number,
  waitOnNode: (node: Redis) => Promise<ReplicaAck>,
): WriteSession {
  const masterAtStart = cluster.slots[slot]?.[0];
  return {
    confirm: async () => {
      // ioredis sends a slot's commands to `slots[slot][0]`, updated on MOVED: unchanged
      // means every write of this request went through that node's one connection.
      const master = cluster.slots[slot]?.[0];
      if (master === undefined || master !== masterAtStart) {
        return { ok: false, reason: 'master_changed', replicas: 0 };
      }
      const node = cluster.nodes('all').find((candidate) => nodeKey(candidate) === master);
      if (node?.status !== 'ready') return { ok: false, reason: 'master_unreachable', replicas: 0 };
      return waitOnNode(node);
    },
  };
}

/**
 * Makes a request's writes survive the loss of its Redis master: `WAIT <replicas> <timeout>`
 * blocks until that many replicas have received every write made *on the same connection*,
 * or the timeout passes. WAIT is per connection, so it runs where the writes ran: on a
 * single Redis the producer connection itself; on a cluster the connection ioredis keeps to
 * the master of the relay keys' slot (`cluster.slots[slot][0]`), checked unchanged since
 * `begin()`. Replication is one ordered stream per master, so the acknowledgement also
 * covers everything the master applied earlier, from any connection. Concurrent requests
 * share WAITs ({@link groupCommit}).
 */
export function createReplicaWait(options: ReplicaWaitOptions): ReplicaWait {
  const { redis, replicas, timeoutMs } = options;
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error('replicas must be an integer >= 1');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error('timeoutMs must be an integer >= 1');
  if (isCluster(redis)) {
    const slot = keySlot(options.slotKey);
    // One group per node connection (a reconnect makes a new instance, hence a new group).
    const groups = new WeakMap<Redis, () => Promise<ReplicaAck>>();
    const waitOnNode = (node: Redis) => {
      let group = groups.get(node);
      if (!group) {
        group = groupCommit(() => waitOn(node, replicas, timeoutMs));
        groups.set(node, group);
      }
      return group();
    };
    return { begin: () => clusterSession(redis, slot, waitOnNode) };
  }
  const session: WriteSession = { confirm: groupCommit(() => waitOn(redis, replicas, timeoutMs)) };
  return { begin: () => session };
}
