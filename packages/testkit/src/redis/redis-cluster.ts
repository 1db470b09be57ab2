import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../free-port.js';
import { waitFor } from '../wait-for.js';
import { type ClusterNodeView, parseClusterNodes } from './cluster-nodes.js';
import { readyOrExit, startWithPortRetry } from './early-exit.js';

const execFileAsync = promisify(execFile);

export interface RedisClusterOptions {
  /** Masters; each owns an equal share of the 16384 slots. Default 3. */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in ms: how long a silent master takes to be failed over. Default 1000. */
  nodeTimeoutMs?: number;
  /** Extra `redis-server` arguments for every node. */
  args?: string[];
}

export interface RedisClusterHarness {
  /** Seed nodes as `REDIS_CLUSTER_NODES` wants them: `127.0.0.1:p1,127.0.0.1:p2,…`. */
  nodes: string;
  /** Every node's client port, in creation order (the first `masters` started as masters). */
  ports: number[];
  /** The cluster slot of `key`, asked of a live node (`CLUSTER KEYSLOT`). */
  keySlot(key: string): Promise<number>;
  /** Port of the master currently serving `slot`, as a live node sees it. */
  masterForSlot(slot: number): Promise<number>;
  /** The topology as a live node sees it. */
  topology(): Promise<ClusterNodeView[]>;
  /** Port of a replica of the master on `masterPort`, as a live node sees it. */
  replicaOf(masterPort: number): Promise<number>;
  /** Sends one command to one node, e.g. `CLIENT KILL TYPE replica` or `CLUSTER FAILOVER FORCE`. */
  command(port: number, ...args: string[]): Promise<unknown>;
  /** Kills a node at once (SIGKILL), as a crash would. */
  killNode(port: number): Promise<void>;
  /**
   * Freezes a node (SIGSTOP), as a hung host: its sockets stay open but it answers nothing.
   * The harness leaves it out of every check (topology, health) until {@link resumeNode}.
   */
  pauseNode(port: number): Promise<void>;
  /** Lets a node frozen by {@link pauseNode} run again (SIGCONT). */
  resumeNode(port: number): Promise<void>;
  /**
   * Waits until `slot` is served by a live master other than `deadPort` and every live node
   * reports `cluster_state:ok`; returns the new master's port.
   */
  waitForFailover(slot: number, deadPort: number, timeoutMs?: number): Promise<number>;
  /**
   * Starts a killed node again on its port and data directory. A former master rejoins as a
   * replica of the node that replaced it; resolves once its replication link is up. A node
   * still running is left as it is.
   */
  restartNode(port: number, timeoutMs?: number): Promise<void>;
  /** Resolves once every live node says `cluster_state:ok` and every live replica's link is up. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes their data. */
  dispose(): Promise<void>;
}

function ensureBinaries(): Promise<void> {
  const check = async (binary: string) => {
    try {
      await execFileAsync(binary, ['--version']);
    } catch {
      throw new Error(
        `${binary} not found: install redis (Debian/Ubuntu: apt-get install -y redis-server, which brings redis-tools; macOS: brew install redis) — .ci/run does this automatically`,
      );
    }
  };
  return Promise.all([check('redis-server'), check('redis-cli')]).then(() => undefined);
}

interface Node {
  port: number;
  busPort: number;
  dir: string;
  child?: ChildProcess;
  /** Frozen by SIGSTOP: a command sent to it would hang, so checks skip it. */
  paused?: boolean;
}

/**
 * Starts a real local Redis Cluster (default 3 masters + 3 replicas) on free 127.0.0.1 ports,
 * each node in its own temporary directory with AOF on, created with `redis-cli --cluster
 * create`. Resolves once every node reports `cluster_state:ok` and every replica is in sync.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHarness> {
  await ensureBinaries();
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const count = masters * (1 + replicas);
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    // The bus port is explicit: port + 10000 may not exist for a high ephemeral port.
    nodes.push({
      port: await freePort(),
      busPort: await freePort(),
      dir: mkdtempSync(join(tmpdir(), 'relay-cluster-')),
    });
  }
  /** The node on `port` now (a node may move to other ports on its first start). */
  const nodeOn = (port: number) => nodes.find((node) => node.port === port);
  const clients = new Map<number, Redis>();

  const client = (port: number): Redis => {
    let redis = clients.get(port);
    if (!redis) {
      redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => undefined);
      clients.set(port, redis);
    }
    return redis;
  };
  const ask = async (port: number, ...args: string[]): Promise<unknown> => {
    const redis = client(port);
    if (redis.status !== 'ready') {
      redis.disconnect();
      clients.delete(port);
      const fresh = client(port);
      await fresh.connect();
      return fresh.call(...(args as [string, ...string[]]));
    }
    return redis.call(...(args as [string, ...string[]]));
  };
  const running = (node: Node) => node.child && node.child.exitCode === null && node.child.signalCode === null;
  const alive = () => nodes.filter((node) => running(node) && !node.paused);

  const startNode = async (node: Node) => {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(node.port),
        '--cluster-port',
        String(node.busPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        node.dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(node.dir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(options.nodeTimeoutMs ?? 1000),
        '--appendonly',
        'yes',
        '--save',
        '',
        // A rejoining node syncs at once, not after the 5 s default of diskless sync.
        '--repl-diskless-sync-delay',
        '0',
        ...(options.args ?? []),
      ],
      { stdio: 'ignore' },
    );
    node.child = child;
    await readyOrExit(
      child,
      (signal) =>
        waitFor(async () => (await ask(node.port, 'PING')) === 'PONG', {
          timeoutMs: 10_000,
          description: `redis-server on port ${node.port}`,
          signal,
        }),
      `redis-server on port ${node.port}`,
    );
  };
  /** First start of a node: on another pair of ports when one of its ports was taken meanwhile. */
  const startNew = async (node: Node) => {
    await startWithPortRetry(
      () => startNode(node),
      async () => {
        node.port = await freePort();
        node.busPort = await freePort();
      },
    );
  };

  const topology = async (): Promise<ClusterNodeView[]> => {
    let lastError: unknown;
    for (const node of alive()) {
      try {
        return parseClusterNodes(String(await ask(node.port, 'CLUSTER', 'NODES')));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no live cluster node answers CLUSTER NODES (${String(lastError)})`);
  };

  const masterForSlot = async (slot: number): Promise<number> => {
    const owner = (await topology()).find(
      (node) => node.role === 'master' && node.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner.port;
  };

  const replicaOf = async (masterPort: number): Promise<number> => {
    const replica = (await topology()).find((node) => node.role === 'replica' && node.masterPort === masterPort);
    if (!replica) throw new Error(`no replica of the master on port ${masterPort}`);
    return replica.port;
  };

  /** Sends `signal` to the running node on `port`; SIGSTOP and SIGCONT take effect at once. */
  const signalNode = (port: number, signal: 'SIGSTOP' | 'SIGCONT') => {
    const node = nodeOn(port);
    if (!node || !running(node)) throw new Error(`no running cluster node on port ${port}`);
    node.child?.kill(signal);
    node.paused = signal === 'SIGSTOP';
  };

  const healthy = async (): Promise<boolean> => {
    const views = new Set<string>();
    for (const node of alive()) {
      const info = String(await ask(node.port, 'CLUSTER', 'INFO'));
      if (!info.includes('cluster_state:ok')) return false;
      const replication = String(await ask(node.port, 'INFO', 'replication'));
      if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
      const view = parseClusterNodes(String(await ask(node.port, 'CLUSTER', 'NODES')));
      views.add(JSON.stringify(view.sort((a, b) => a.port - b.port)));
    }
    // Every node sees the same topology: a restarted former master first claims its old slots
    // (and says role:master) until gossip tells it a replica took them over.
    return views.size <= 1;
  };
  const waitUntilHealthy = async (timeoutMs = 30_000) => {
    await waitFor(healthy, { timeoutMs, intervalMs: 100, description: 'cluster_state:ok on every node' });
  };

  const killNode = async (port: number) => {
    const node = nodeOn(port);
    const child = node?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    if (node) node.paused = false;
    clients.get(port)?.disconnect();
    clients.delete(port);
  };

  const dispose = async () => {
    for (const node of nodes) await killNode(node.port);
    for (const node of nodes) rmSync(node.dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(nodes.map(startNew));
    await execFileAsync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    // Every node must also know every other node before the cluster counts as formed.
    await waitFor(
      async () => {
        if (!(await healthy())) return false;
        for (const node of nodes) {
          const info = String(await ask(node.port, 'CLUSTER', 'INFO'));
          if (!info.includes(`cluster_known_nodes:${count}`)) return false;
        }
        const view = await topology();
        return view.filter((node) => node.role === 'replica').length === masters * replicas;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'a formed cluster' },
    );
  } catch (error) {
    await dispose();
    throw error;
  }

  return {
    nodes: nodes.map((node) => `127.0.0.1:${node.port}`).join(','),
    ports: nodes.map((node) => node.port),
    keySlot: async (key) => Number(await ask(alive()[0]?.port ?? 0, 'CLUSTER', 'KEYSLOT', key)),
    masterForSlot,
    topology,
    replicaOf,
    command: (port, ...args) => ask(port, ...args),
    killNode,
    pauseNode: async (port) => {
      signalNode(port, 'SIGSTOP');
      // A reply it sent before freezing could still be read later on the harness's connection.
      clients.get(port)?.disconnect();
      clients.delete(port);
    },
    resumeNode: async (port) => signalNode(port, 'SIGCONT'),
    waitForFailover: async (slot, deadPort, timeoutMs = 30_000) => {
      const port = await waitFor(
        async () => {
          const owner = await masterForSlot(slot);
          return owner !== deadPort && (await healthy()) ? owner : null;
        },
        { timeoutMs, intervalMs: 100, description: `failover of slot ${slot} away from port ${deadPort}` },
      );
      return port;
    },
    restartNode: async (port, timeoutMs = 30_000) => {
      const node = nodeOn(port);
      if (!node) throw new Error(`no cluster node on port ${port}`);
      // Already running (a test restarted it and its cleanup asks again): a second
      // redis-server on the port would fail to bind and take the running one's place in
      // `node.child`, so dispose would never kill the running one.
      if (running(node)) return;
      await startNode(node);
      await waitFor(
        async () => {
          const self = (await topology()).find((view) => view.port === port);
          return self !== undefined && (await healthy());
        },
        { timeoutMs, intervalMs: 100, description: `node ${port} back in the cluster` },
      );
    },
    waitUntilHealthy,
    dispose: async () => {
      for (const redis of clients.values()) redis.disconnect();
      clients.clear();
      await dispose();
    },
  };
}
