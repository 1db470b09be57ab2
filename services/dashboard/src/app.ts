import { createTaskRegistry } from '@runway-relay/admission';
import {
  callbackJobOptions,
  type DashboardConfig,
  eventsStreamFor,
  registryTtlSeconds,
  relayKeys,
} from '@runway-relay/contracts';
import type { DeliveryCore } from '@runway-relay/delivery';
import { createProviderAccess } from '@runway-relay/provider-client';
import {
  HttpError,
  type Logger,
  type ReadinessCheck,
  type RedisClient,
  registerHttpErrorHandling,
  registerOpsRoutes,
} from '@runway-relay/runtime';
import type { ObjectStore } from '@runway-relay/storage';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { registerBasicAuth } from './basic-auth.js';
import { ADMIN_BODY_LIMIT, registerBodyBounds } from './body-bounds.js';
import { mountBullBoard } from './bull-board.js';
import { registerBullBoardReprocess } from './bull-board-reprocess.js';
import { registerBullBoardRetryAll } from './bull-board-retry-all.js';
import { createConflictAdmin } from './conflict-admin.js';
import { createDeliveryAdmin } from './delivery-admin.js';
import { createDashboardMetrics, type DashboardMetrics } from './metrics.js';
import { createQuarantineAdmin } from './quarantine-admin.js';
import { registerRequestLog } from './request-log.js';
import { registerDeliveryRoutes } from './routes/deliveries.route.js';
import { registerEndpointRoutes } from './routes/endpoints.route.js';
import { registerEventRoutes } from './routes/events.route.js';
import { registerQuarantineRoutes } from './routes/quarantine.route.js';
import { registerRegistrationRoutes } from './routes/registration.route.js';
import { registerTaskRoutes } from './routes/tasks.route.js';
import { registerUiRoutes } from './routes/ui.route.js';
import { registerSameOriginGuard } from './same-origin.js';
import { createTaskAdmin } from './task-admin.js';
import { createThrottledAddresses } from './throttled-addresses.js';

export interface DashboardDeps {
  config: DashboardConfig;
  logger: Logger;
  redis: RedisClient;
  /** The callbacks queue, shown in Bull Board and used to look up and retry jobs. */
  queue: Queue;
  /** Webhook delivery: endpoints, the message log, replay; its `deliveries` queue is shown in Bull Board. */
  delivery: DeliveryCore;
  /** Object store for presigned media URLs and the storage readiness check; optional. */
  store?: ObjectStore;
  /** Defaults to a fresh registry with process metrics. */
  metrics?: DashboardMetrics;
}

/** Longest path parameter: a 128-character task id as a job id (`<task_id>.success`), with room. */
const MAX_PARAM_LENGTH = 160;

/** Probes stay open so an orchestrator needs no credentials; everything else needs basic auth. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

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
    // Every admin body, Bull Board's job edits included (routes may set less).
    bodyLimit: ADMIN_BODY_LIMIT,
    // Task ids are up to 128 characters and Bull Board's job ids add `.success`: Fastify's
    // default of 100 answered 414 for valid ids. Longer parameters still get 414.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
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

  registerBodyBounds(app);
  registerHttpErrorHandling(app, {
    loggableUrl: (url) => url.split('?')[0] ?? '',
    serverError: () =>
      redis.status === 'ready' ? undefined : new HttpError(503, 'unavailable', 'redis is unavailable, retry later'),
  });

  const keys = relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME);
  const ttlSeconds = config.TASK_TTL_DAYS * 86_400;
  const events = { stream: eventsStreamFor(config), maxlen: config.EVENTS_MAXLEN };
  const tasks = createTaskAdmin({
    redis,
    queue: deps.queue,
    keys,
    logger: deps.logger,
    eventsStream: events.stream,
    ttlSeconds,
    ...(store ? { presign: (key: string) => store.presign(key, config.PRESIGN_EXPIRY_S) } : {}),
  });
  const conflicts = createConflictAdmin({
    redis,
    queue: deps.queue,
    keys,
    events,
    jobOptions: callbackJobOptions(config),
    logger: deps.logger,
    ttlSeconds,
  });
  const quarantine = createQuarantineAdmin({
    redis,
    queue: deps.queue,
    keys,
    events,
    jobOptions: callbackJobOptions(config),
    ttlSeconds,
    logger: deps.logger,
  });
  registerTaskRoutes(app, { tasks, conflicts, redis, keys, onRetried: () => metrics.retries.inc() });
  registerQuarantineRoutes(app, quarantine);
  registerRegistrationRoutes(app, {
    registry: createTaskRegistry({
      redis,
      keys,
      afterS: config.RECONCILE_AFTER_S,
      ttlSeconds: registryTtlSeconds(config),
    }),
    // Someone waits on POST /api/generate: when the shared budget (PROVIDER_RPS) is spent for
    // longer than one request may take, answer 503 with Retry-After instead of waiting on.
    provider:
      createProviderAccess(config, redis, metrics.registry, { limiterTimeoutMs: config.PROVIDER_TIMEOUT_MS })?.client ??
      null,
    callbackUrl: config.PUBLIC_CALLBACK_URL,
  });
  registerEventRoutes(app, { redis, stream: events.stream });
  const deliveryAdmin = createDeliveryAdmin({ core: deps.delivery, redis, eventsStream: events.stream });
  registerEndpointRoutes(app, deps.delivery, deliveryAdmin);
  registerDeliveryRoutes(app, deps.delivery, deliveryAdmin);
  registerUiRoutes(app);
  registerBullBoardReprocess(app, tasks);
  registerBullBoardRetryAll(app, { tasks, queue: deps.queue, maxJobs: config.DASHBOARD_RETRY_ALL_MAX });
  mountBullBoard(app, [deps.queue, deps.delivery.queue]);

  const checks: Record<string, ReadinessCheck> = { redis: () => redis.ping() };
  if (store) checks.storage = () => store.ping();
  registerOpsRoutes(app, { registry: metrics.registry, checks });
  return app;
}
