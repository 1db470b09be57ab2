import { loadDashboardConfig } from '@runway-relay/contracts';
import { buildDashboardApp } from '@runway-relay/dashboard';
import { closeQuietly, createLogger, createRedis, waitForRedis } from '@runway-relay/runtime';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Backing, Stack } from './stack.js';

export const DASHBOARD_USER = 'ops';
export const DASHBOARD_PASSWORD = 'correct horse battery staple';
export const dashboardAuth = {
  authorization: `Basic ${Buffer.from(`${DASHBOARD_USER}:${DASHBOARD_PASSWORD}`).toString('base64')}`,
};

export interface TestDashboard {
  app: FastifyInstance;
  queue: Queue;
  close(): Promise<void>;
}

/** A dashboard on the queue prefix and event stream of `stack`, presigning against the backing's S3. */
export async function startStackDashboard(backing: Backing, stack: Stack): Promise<TestDashboard> {
  const config = loadDashboardConfig({
    REDIS_URL: backing.redis.url,
    QUEUE_PREFIX: stack.ingress.config.QUEUE_PREFIX,
    EVENTS_STREAM: stack.stream,
    DASHBOARD_USER,
    DASHBOARD_PASSWORD,
    S3_ENDPOINT: backing.s3.endpoint,
    S3_ACCESS_KEY: backing.s3.accessKey,
    S3_SECRET_KEY: backing.s3.secretKey,
    S3_REGION: backing.s3.region,
    S3_BUCKET: 'runway-media',
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
  });
  const logger = createLogger({ service: 'dashboard-test', level: config.LOG_LEVEL });
  const redis = createRedis({ url: config.REDIS_URL, role: 'producer', logger, name: 'dashboard-test' });
  await waitForRedis(redis);
  const queue = new Queue(config.QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  queue.on('error', () => undefined);
  const { createDashboardStore } = await import('@runway-relay/dashboard');
  const app = buildDashboardApp({ config, logger, redis, queue, store: createDashboardStore(config) });
  await app.ready();
  return {
    app,
    queue,
    close: async () => {
      await app.close();
      await queue.close().catch(() => undefined);
      await closeQuietly([redis]);
    },
  };
}
