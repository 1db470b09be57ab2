import { randomBytes } from 'node:crypto';
import { DEFAULT_QUEUE_NAME } from '@runway-relay/contracts';
import { freePort, type ScriptProcess, waitFor } from '@runway-relay/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { BenchContext } from './bench-types.js';
import { BENCH_HMAC_KEY } from './signed-callbacks.js';

/** The ingress's own counters, read from /metrics on its ops listener. */
export interface IngressCounters {
  received: number;
  duplicates: number;
  rejected: number;
}

/** A real ingress (`services/ingress/src/main.ts`) in its own process, with a fresh queue prefix. */
export interface IngressProcess {
  url: string;
  prefix: string;
  process: ScriptProcess;
  counters(): Promise<IngressCounters>;
  /** Jobs in the callbacks queue, whatever their state (no worker runs during a benchmark). */
  jobCount(): Promise<number>;
  /** SIGTERM (the ingress drains and exits 0, writing a CPU profile if asked to). */
  stop(): Promise<void>;
}

function counter(text: string, name: string): number {
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'gm'))) sum += Number(match[1]);
  return sum;
}

/**
 * Starts the ingress against `redisUrl` on a free 127.0.0.1 port and waits until /healthz
 * answers. `env` adds or overrides variables (e.g. REDIS_WAIT_REPLICAS).
 */
export async function startIngressProcess(
  ctx: BenchContext,
  redisUrl: string,
  options: { nodeArgs?: string[]; env?: Record<string, string> } = {},
): Promise<IngressProcess> {
  const port = await freePort();
  const opsPort = await freePort();
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const url = `http://127.0.0.1:${port}`;
  const proc = ctx.processes.spawn({
    script: 'services/ingress/src/main.ts',
    nodeArgs: options.nodeArgs,
    env: {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: String(port),
      INGRESS_OPS_HOST: '127.0.0.1',
      INGRESS_OPS_PORT: String(opsPort),
      CALLBACK_HMAC_KEYS: BENCH_HMAC_KEY,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // The bench's redis-server runs without AOF, to measure the relay rather than the disk.
      REDIS_ALLOW_VOLATILE: 'true',
      ...options.env,
    },
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const code = await proc.stop();
    if (code !== 0) ctx.log(`ingress exited with ${code}: ${proc.output().slice(-2000)}`);
  };
  ctx.defer(stop);
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`ingress exited early: ${proc.output().slice(-2000)}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    { timeoutMs: 30_000, intervalMs: 100, description: 'ingress /healthz' },
  );
  return {
    url,
    prefix,
    process: proc,
    stop,
    counters: async () => {
      const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      return {
        received: counter(text, 'relay_callbacks_received_total'),
        duplicates: counter(text, 'relay_callbacks_duplicate_total'),
        rejected: counter(text, 'relay_callbacks_rejected_total'),
      };
    },
    jobCount: async () => {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const queue = new Queue(DEFAULT_QUEUE_NAME, { connection, prefix });
      try {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
        return Object.values(counts).reduce((sum, n) => sum + n, 0);
      } finally {
        await queue.close();
        connection.disconnect();
      }
    },
  };
}
