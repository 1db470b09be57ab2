import { closeQuietly, createLogger, createRedis } from '@runway-relay/runtime';
import { type Queue, UnrecoverableError, Worker } from 'bullmq';

export interface FailingWorker {
  worker: Worker;
  /** Closes the worker, then its connection. */
  close(): Promise<void>;
}

/**
 * A real BullMQ worker on `queue` (its name and prefix) standing in for the relay's: it fails
 * for good every job whose data says `fail: true`, as the relay fails a job whose link expired
 * (UnrecoverableError, "link expired (HTTP 410)"), and completes the others with `stored`. So a
 * test gets jobs BullMQ itself failed or completed, for the dashboard to show and retry.
 */
export function startFailingWorker(redisUrl: string, queue: Pick<Queue, 'name' | 'opts'>): FailingWorker {
  const connection = createRedis({
    url: redisUrl,
    role: 'worker',
    logger: createLogger({ service: 'worker-test', level: 'silent' }),
    name: 'worker-test',
  });
  const worker = new Worker(
    queue.name,
    async (job) => {
      if ((job.data as { fail?: boolean }).fail) throw new UnrecoverableError('link expired (HTTP 410)');
      return 'stored';
    },
    { connection, prefix: queue.opts.prefix },
  );
  worker.on('error', () => undefined);
  return {
    worker,
    close: async () => {
      await worker.close();
      await closeQuietly([connection]);
    },
  };
}
