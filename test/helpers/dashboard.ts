import { jobIdFor, loadDashboardConfig } from '@runway-relay/contracts';
import { createDashboard, type DashboardService } from '@runway-relay/dashboard';
import type { Backing } from './stack.js';

export const DASHBOARD_USER = 'ops';
export const DASHBOARD_PASSWORD = 'correct horse battery staple';
export const dashboardAuth = {
  authorization: `Basic ${Buffer.from(`${DASHBOARD_USER}:${DASHBOARD_PASSWORD}`).toString('base64')}`,
};

export interface TestDashboard extends Pick<DashboardService, 'app' | 'config' | 'queue' | 'redis' | 'store'> {
  /** The listener on 127.0.0.1. */
  port: number;
  close(): Promise<void>;
}

/** `S3_*` variables naming a test S3 server (testkit's `S3Harness`). */
export function dashboardStorageEnv(
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string },
  bucket = 'runway-media',
): Record<string, string> {
  return {
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_REGION: s3.region,
    S3_BUCKET: bucket,
  };
}

/**
 * Builds and starts a dashboard through `createDashboard`, the root `main.ts` uses, listening
 * on a 127.0.0.1 ephemeral port; resolves once Redis answers. `env` carries `REDIS_URL` (or
 * `REDIS_CLUSTER_NODES`), the prefix, credentials and, for a ready `/readyz`, the `S3_*`
 * variables of a test S3 server.
 */
export async function startTestDashboard(
  env: Record<string, string>,
  options: { logDestination?: NodeJS.WritableStream } = {},
): Promise<TestDashboard> {
  const config = loadDashboardConfig({
    DASHBOARD_HOST: '127.0.0.1',
    DASHBOARD_PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const service = createDashboard(config, options.logDestination ? { logDestination: options.logDestination } : {});
  let port: number;
  try {
    ({ port } = await service.start());
  } catch (error) {
    await service.close();
    throw error;
  }
  const { app, queue, redis, store } = service;
  return { app, config, queue, redis, store, port, close: () => service.close() };
}

/** The queue prefix and event stream a dashboard shares with the services under test (a stack has both). */
export interface DashboardQueue {
  prefix: string;
  stream: string;
}

/**
 * A dashboard on the queue prefix and event stream of `queue` (usually a stack), presigning
 * against the backing's S3; `env` adds settings (DELIVERY_*, …) or overrides these.
 */
export function startStackDashboard(
  backing: Pick<Backing, 'redis' | 's3'>,
  queue: DashboardQueue,
  env: Record<string, string> = {},
): Promise<TestDashboard> {
  return startTestDashboard({
    REDIS_URL: backing.redis.url,
    QUEUE_PREFIX: queue.prefix,
    EVENTS_STREAM: queue.stream,
    DASHBOARD_USER,
    DASHBOARD_PASSWORD,
    NODE_ENV: 'test',
    ...dashboardStorageEnv(backing.s3),
    ...env,
  });
}

/**
 * The fields of a task record as the ingress's claim script and the worker's task store leave
 * them for a success callback accepted once; `fields` sets the status, attempts and so on.
 */
export function taskRecordFields(
  taskId: string,
  fields: Record<string, string | number> = {},
): Record<string, string | number> {
  const now = Date.now();
  return {
    status: 'accepted',
    accepted_outcome: 'success',
    code: 200,
    msg: 'All generated successfully.',
    video_id: `v-${taskId}`,
    first_received_at: now - 1000,
    last_received_at: now,
    deliveries: 1,
    duplicates: 0,
    attempts: 0,
    job_id: jobIdFor(taskId, 'success'),
    ...fields,
  };
}
