import { callbackJobOptions, type DashboardConfig, eventsStreamFor, relayKeys } from '@runway-relay/contracts';
import { type Logger, type ReadinessCheck, type RedisClient, registerOpsRoutes } from '@runway-relay/runtime';
import type { ObjectStore } from '@runway-relay/storage';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { registerBasicAuth } from './basic-auth.js';
import { mountBullBoard } from './bull-board.js';
import { createConflictAdmin } from './conflict-admin.js';
import { HttpError } from './errors.js';
import { createDashboardMetrics, type DashboardMetrics } from './metrics.js';
import { registerRequestLog } from './request-log.js';
import { registerEventRoutes } from './routes/events.route.js';
import { registerTaskRoutes } from './routes/tasks.route.js';
import { registerSameOriginGuard } from './same-origin.js';
import { createTaskAdmin } from './task-admin.js';
import { createThrottledAddresses } from './throttled-addresses.js';

export interface DashboardDeps {
  config: DashboardConfig;
  logger: Logger;
  redis: RedisClient;
  /** The callbacks queue, shown in Bull Board and used to look up and retry jobs. */
  queue: Queue;
  /** Object store for presigned media URLs and the storage readiness check; optional. */
  store?: ObjectStore;
  /** Defaults to a fresh registry with process metrics. */
  metrics?: DashboardMetrics;
}

/** Probes stay open so an orchestrator needs no credentials; everything else needs basic auth. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** Fastify's own client errors (bad content type, body too large, …) by status. */
const CLIENT_ERROR_CODES: Readonly<Record<number, string>> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

/**
 * Builds the dashboard: Bull Board at `/admin/queues`, the admin JSON API under `/api`, and
 * the ops routes, all but the probes behind basic auth. `main.ts` listens; tests `inject()`.
 */
export function buildDashboardApp(deps: DashboardDeps): FastifyInstance {
  const { config, redis, store } = deps;
  const metrics = deps.metrics ?? createDashboardMetrics();
  const throttled = createThrottledAddresses();
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One line per request, from registerRequestLog below.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  // An address refused for failed logins gets no per-request lines: 2,000 guesses must not
  // write 2,000 lines (the throttle logs one line per window instead).
  registerRequestLog(app, { quiet: (request) => throttled.has(request.ip), probePaths: OPEN_PATHS });

  // Before authentication: a forged request is refused without touching the failure count.
  registerSameOriginGuard(app);
  registerBasicAuth(app, {
    user: config.DASHBOARD_USER,
    password: config.DASHBOARD_PASSWORD,
    openPaths: OPEN_PATHS,
    maxFailures: config.DASHBOARD_AUTH_MAX_FAILURES,
    windowMs: config.DASHBOARD_AUTH_WINDOW_S * 1000,
    onThrottled: () => metrics.authThrottled.inc(),
    throttled,
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send({ error: error.error, message: error.message });
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (status < 500) {
      return reply.code(status).send({ error: CLIENT_ERROR_CODES[status] ?? 'bad_request', message: error.message });
    }
    request.log.error({ err: error }, 'unhandled error');
    if (redis.status !== 'ready') {
      return reply.code(503).send({ error: 'unavailable', message: 'redis is unavailable, retry later' });
    }
    return reply.code(500).send({ error: 'internal_error', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  const tasks = createTaskAdmin({
    redis,
    queue: deps.queue,
    keys: relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME),
    logger: deps.logger,
    ...(store ? { presign: (key: string) => store.presign(key, config.PRESIGN_EXPIRY_S) } : {}),
  });
  const conflicts = createConflictAdmin({
    redis,
    queue: deps.queue,
    keys: relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME),
    events: { stream: eventsStreamFor(config), maxlen: config.EVENTS_MAXLEN },
    jobOptions: callbackJobOptions(config),
    logger: deps.logger,
  });
  registerTaskRoutes(app, { tasks, conflicts, onRetried: () => metrics.retries.inc() });
  registerEventRoutes(app, { redis, stream: eventsStreamFor(config) });
  mountBullBoard(app, [deps.queue]);

  const checks: Record<string, ReadinessCheck> = { redis: () => redis.ping() };
  if (store) checks.storage = () => store.ping();
  registerOpsRoutes(app, { registry: metrics.registry, checks });
  return app;
}
