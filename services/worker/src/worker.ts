import { RELAY_BACKOFF, relayBackoffDelay, type WorkerConfig } from '@runway-relay/contracts';
import type { Logger, RedisClient } from '@runway-relay/runtime';
import { type Job, Worker } from 'bullmq';
import { createWorkerErrorLog } from './oom-log.js';
import type { JobResult } from './process-job.js';

/** Reads the base delay of a job's backoff option (`{ type, delay }`). */
function backoffBase(job: { opts: { backoff?: number | { delay?: number } } } | undefined, fallback: number): number {
  const backoff = job?.opts.backoff;
  if (typeof backoff === 'number') return backoff;
  return backoff?.delay ?? fallback;
}

/**
 * The BullMQ worker of the callbacks queue. Any number may run against one Redis; a job's
 * lock is renewed while it runs, and a dead worker's job is retaken after `WORKER_LOCK_MS`.
 */
export function createCallbackWorker(options: {
  config: WorkerConfig;
  /** A `maxRetriesPerRequest: null` connection (BullMQ duplicates it for blocking calls). */
  connection: RedisClient;
  processor: (job: Job) => Promise<JobResult>;
  /** Called for every failed job (see `createFailedListener`). */
  onFailed?: (job: Job | undefined, error: Error) => void;
  logger: Logger;
  autorun?: boolean;
}): Worker {
  const { config, logger } = options;
  const worker = new Worker(config.QUEUE_NAME, options.processor, {
    connection: options.connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
    maxStalledCount: config.WORKER_MAX_STALLED,
    autorun: options.autorun ?? true,
    settings: {
      backoffStrategy: (attemptsMade, type, error, job) => {
        const retryAfterMs = (error as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0;
        const base = backoffBase(job, config.JOB_BACKOFF_MS);
        if (type !== RELAY_BACKOFF) logger.warn({ type }, 'unknown backoff type, using the relay backoff');
        return relayBackoffDelay(attemptsMade, base, retryAfterMs);
      },
    },
  });
  worker.on('error', createWorkerErrorLog(logger));
  if (options.onFailed) worker.on('failed', options.onFailed);
  worker.on('stalled', (jobId) => logger.warn({ job_id: jobId }, 'job stalled (its worker died?), it will be retried'));
  return worker;
}
