import type { Logger, RedisClient } from '@runway-relay/runtime';
import { Queue, Worker } from 'bullmq';
import type { ReconcilePassSummary } from './reconcile-pass.js';

/** Default name of the reconciler's own queue (never the callbacks queue). */
export const RECONCILE_QUEUE_NAME = 'reconcile';
/** The one job scheduler every process upserts: BullMQ makes one job per tick for all of them. */
export const RECONCILE_SCHEDULER_ID = 'reconcile-pass';

export interface ReconcileSchedulerOptions {
  /** A `worker`-role connection (BullMQ duplicates it for blocking calls). */
  connection: RedisClient;
  /** `QUEUE_PREFIX`. */
  prefix: string;
  queueName?: string;
  /** ms between passes (`RECONCILE_PASS_S` · 1000). */
  everyMs: number;
  /** Runs one pass; called with the tick's time. */
  runPass: (nowMs: number) => Promise<ReconcilePassSummary>;
  logger: Logger;
}

export interface ReconcileScheduler {
  queue: Queue;
  worker: Worker;
  /** Stops taking passes (waits for a running one) and closes the queue; the scheduler stays in Redis. */
  close(): Promise<void>;
}

/**
 * Runs reconcile passes on a BullMQ job scheduler in a queue of their own (docs/worker.md,
 * "The reconciler"). Every worker process calls this: the scheduler is upserted under one id,
 * so there is one schedule in Redis whatever the number of processes, it survives restarts,
 * and each tick's job runs in one process. Two passes that still overlap (a slow one, a
 * stalled job retaken) never poll a task twice: tasks are claimed atomically.
 */
export async function installReconcileScheduler(options: ReconcileSchedulerOptions): Promise<ReconcileScheduler> {
  const name = options.queueName ?? RECONCILE_QUEUE_NAME;
  const queue = new Queue(name, { connection: options.connection, prefix: options.prefix });
  await queue.upsertJobScheduler(
    RECONCILE_SCHEDULER_ID,
    { every: options.everyMs },
    { name: 'pass', opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
  const worker = new Worker(name, async () => options.runPass(Date.now()), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: 1,
  });
  worker.on('error', (error) => options.logger.error({ err: error }, 'reconcile scheduler error'));
  worker.on('completed', (_job, summary: ReconcilePassSummary) => {
    if (summary.claimed > 0 || summary.stoppedBy) options.logger.info({ summary }, 'reconcile pass');
  });
  worker.on('failed', (_job, error) => options.logger.error({ err: error }, 'reconcile pass failed'));
  return {
    queue,
    worker,
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}
