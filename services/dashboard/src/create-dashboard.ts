import type { DashboardConfig } from '@runway-relay/contracts';
import { createDeliveryCore, type DeliveryCore, type ResolveHost } from '@runway-relay/delivery';
import {
  closeQuietly,
  createLogger,
  createServiceRedis,
  type Logger,
  type RedisClient,
  retryUntil,
  type ServiceRoot,
  waitForRedis,
} from '@runway-relay/runtime';
import type { ObjectStore } from '@runway-relay/storage';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { buildDashboardApp } from './app.js';
import { createDashboardStore } from './object-store.js';

/** Test-only seams: production has no equivalent. */
export interface DashboardOverrides {
  /** Where log lines go (a test reads them back); stdout otherwise. */
  logDestination?: NodeJS.WritableStream;
  /**
   * Name resolution of the endpoint URL check at creation (DNS otherwise): a test makes a
   * public-looking name resolve to 127.0.0.1 without touching the machine's resolver.
   */
  resolveHost?: ResolveHost;
}

export interface DashboardAddresses {
  /** The bound port (UI, admin API and probes); `DASHBOARD_PORT` 0 asks the kernel for one. */
  port: number;
}

export interface DashboardService extends ServiceRoot {
  readonly config: DashboardConfig;
  readonly logger: Logger;
  /** The producer connection: an admin request while Redis is away fails fast. */
  readonly redis: RedisClient;
  readonly queue: Queue;
  readonly store: ObjectStore;
  /** Webhook endpoints, the delivery log and replay (docs/delivery.md §8). */
  readonly delivery: DeliveryCore;
  /** Bull Board, the admin API and the probes (tests `inject()` into it). */
  readonly app: FastifyInstance;
  /**
   * Listens at once (its `/readyz` names Redis or storage while they do not answer), then
   * resolves when Redis answers.
   */
  start(): Promise<DashboardAddresses>;
}

/**
 * The dashboard's composition root (docs/architecture.md §8): builds the logger, the
 * connection, the queue, the object store and the app from `config`. `main.ts` and the tests
 * build the dashboard here, so the wiring exists once.
 */
export function createDashboard(config: DashboardConfig, overrides: DashboardOverrides = {}): DashboardService {
  const logger = createLogger({ service: 'dashboard', level: config.LOG_LEVEL, destination: overrides.logDestination });
  if (config.defaultCredentials) {
    logger.warn('DASHBOARD_USER / DASHBOARD_PASSWORD unset: using admin/admin. Local development only.');
  }
  const redis = createServiceRedis(config, { role: 'producer', logger, name: 'dashboard' });
  const queue = new Queue(config.QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  queue.on('error', (error) => logger.warn({ err: error }, 'queue error'));
  const store = createDashboardStore(config);
  const delivery = createDeliveryCore({
    connection: redis,
    config,
    logger,
    ...(overrides.resolveHost ? { resolve: overrides.resolveHost } : {}),
  });
  const app = buildDashboardApp({ config, logger, redis, queue, store, delivery });
  const stopping = new AbortController();

  const start = async (): Promise<DashboardAddresses> => {
    await app.listen({ host: config.DASHBOARD_HOST, port: config.DASHBOARD_PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.DASHBOARD_PORT;
    const shownHost = config.DASHBOARD_HOST === '0.0.0.0' ? '127.0.0.1' : config.DASHBOARD_HOST;
    logger.info({ url: `http://${shownHost}:${port}/admin/queues`, queue: config.QUEUE_NAME }, 'dashboard listening');
    await retryUntil(() => waitForRedis(redis, 10_000), {
      message: 'redis not reachable yet, retrying',
      logger,
      signal: stopping.signal,
    });
    return { port };
  };

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopping.abort(new Error('dashboard closing'));
      await app.close();
      await queue.close().catch(() => undefined);
      await delivery.close().catch(() => undefined);
      await closeQuietly([redis]);
    })();
    return closing;
  };

  return { config, logger, redis, queue, store, delivery, app, start, close };
}
