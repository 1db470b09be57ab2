import { DEFAULT_QUEUE_NAME } from '@runway-relay/contracts';
import { type ScriptProcess, waitFor } from '@runway-relay/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { BenchContext } from './bench-types.js';
import type { S3Info } from './servers.js';

/** Starts `count` real worker processes (`services/worker/src/main.ts`) on one queue prefix. */
export async function startWorkerProcesses(
  ctx: BenchContext,
  count: number,
  options: { redisUrl: string; s3: S3Info; prefix: string; env?: Record<string, string> },
): Promise<ScriptProcess[]> {
  const workers: ScriptProcess[] = [];
  for (let i = 0; i < count; i++) {
    const proc = ctx.processes.spawn({
      script: 'services/worker/src/main.ts',
      env: {
        REDIS_URL: options.redisUrl,
        QUEUE_PREFIX: options.prefix,
        EVENTS_STREAM: `${options.prefix}:events`,
        S3_ENDPOINT: options.s3.endpoint,
        S3_ACCESS_KEY: options.s3.accessKey,
        S3_SECRET_KEY: options.s3.secretKey,
        S3_REGION: options.s3.region,
        S3_PREFIX: options.prefix,
        // The simulator serves media over http on 127.0.0.1.
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        DOWNLOAD_ALLOW_HTTP: 'true',
        WORKER_METRICS_HOST: '127.0.0.1',
        WORKER_METRICS_PORT: '0',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        // The bench's redis-server runs without AOF, to measure the relay rather than the disk.
        REDIS_ALLOW_VOLATILE: 'true',
        ...options.env,
      },
    });
    ctx.defer(() => proc.stop().then(() => undefined));
    workers.push(proc);
  }
  // Ready once every worker has connected to the queue (BullMQ names its connections).
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(DEFAULT_QUEUE_NAME, { connection, prefix: options.prefix });
  try {
    await waitFor(
      async () => {
        const dead = workers.find((w) => w.child.exitCode !== null);
        if (dead) throw new Error(`worker exited: ${dead.output().slice(-2000)}`);
        return (await queue.getWorkersCount()) >= count;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: `${count} workers connected` },
    );
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return workers;
}
