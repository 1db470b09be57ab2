import { randomUUID } from 'node:crypto';
import { defineClaimCommand } from '@runway-relay/admission';
import {
  CALLBACK_PATH_TOKEN_MAX_LENGTH,
  eventsStreamFor,
  type IngressConfig,
  relayKeys,
} from '@runway-relay/contracts';
import {
  createReplicaWait,
  HttpError,
  type Logger,
  type RedisClient,
  redisConfigReadiness,
  redisSafetyPolicyOf,
  registerHttpErrorHandling,
  registerOpsRoutes,
} from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { addressMatcher } from './auth/address-matcher.js';
import type { AuthPolicy } from './auth/authenticate.js';
import { limitConnectionsPerAddress } from './connection-limit.js';
import { jsonDepthExceeds } from './json-depth.js';
import { loggableTaskId } from './loggable-task-id.js';
import { registerMemoryHeadroom } from './memory-headroom.js';
import type { IngressMetrics } from './metrics.js';
import { registerCallbackRoutes } from './routes/callback.route.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body's bytes exactly as received, for signatures over the raw bytes and the quarantine. */
    rawBody?: Buffer;
    /** Set once the body names a valid task, so the completion log line carries it. */
    taskId?: string;
    /** The error code the request was rejected with, for the metrics. */
    rejectReason?: string;
    /** What the route decided (e.g. `result: 'received'`), written on the request's one completion line. */
    logFields?: Record<string, unknown>;
  }
}

export interface IngressDeps {
  config: IngressConfig;
  logger: Logger;
  /** Producer connection (fails fast while Redis is away): a single Redis or a Cluster. */
  redis: RedisClient;
  queue: Queue;
  metrics: IngressMetrics;
  now?: () => number;
}

/** Drops the query string and the secret path segment before a URL is logged. */
export function loggableUrl(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.replace(/^(\/callbacks\/runway\/)[^/]+/, '$1[token]');
}

/** Nesting allowed in a callback body; real ones are 3 levels deep. */
const MAX_JSON_DEPTH = 32;
/** Probe paths of the public app (the rest of the ops routes are on the ops app). */
const PROBE_PATHS = new Set(['/healthz']);
/** An `X-Request-Id` a trusted proxy may hand over: short, and safe to log and store as is. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/**
 * How often Node checks the request and headers deadlines of open sockets; its default
 * (30 s) would let a slow client outlive `INGRESS_REQUEST_TIMEOUT_MS` by that much.
 */
const DEADLINE_CHECK_INTERVAL_MS = 1000;

/**
 * Builds the public ingress app (callbacks and `/healthz`); `main.ts` listens, tests use
 * `inject()` or listen on port 0. `/readyz` and `/metrics` are on {@link buildIngressOpsApp}.
 */
export function buildIngressApp(deps: IngressDeps): FastifyInstance {
  const { config } = deps;
  const trustedProxy = addressMatcher(config.TRUSTED_PROXIES);
  const isTrustedProxy = (address: string | undefined) =>
    trustedProxy !== null && address !== undefined && trustedProxy(address);
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Our own completion line (below) carries task_id and a URL without secrets.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Slow clients (issue 10): a callback of at most 64 KiB arrives in milliseconds, so these
    // cut only clients that trickle their request or sit on idle sockets.
    requestTimeout: config.INGRESS_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.INGRESS_KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: config.INGRESS_IDLE_TIMEOUT_MS,
    http: {
      headersTimeout: config.INGRESS_HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS,
    },
    // Room for the longest CALLBACK_PATH_TOKEN; beyond it the router answers 414.
    routerOptions: { maxParamLength: CALLBACK_PATH_TOKEN_MAX_LENGTH },
    // `request.ip` is the sender: the socket peer, or, when that peer is in TRUSTED_PROXIES,
    // X-Forwarded-For walked from the right past every trusted proxy (proxy-addr), so an
    // address a client writes on the left is never believed. No list: the socket peer only.
    trustProxy: trustedProxy ?? false,
    // A client's id is adopted only from a trusted proxy (a load balancer's trace id); anyone
    // else could otherwise plant ids that collide with real requests in logs and receipts.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) && isTrustedProxy(request.socket?.remoteAddress)
        ? incoming
        : randomUUID();
    },
    return503OnClosing: true,
  });

  if (config.INGRESS_MAX_CONNECTIONS > 0) {
    app.server.maxConnections = config.INGRESS_MAX_CONNECTIONS;
    app.server.on('drop', () => deps.metrics.connectionsRefused.inc({ reason: 'max_connections' }));
  }
  if (config.INGRESS_MAX_CONNECTIONS_PER_IP > 0) {
    limitConnectionsPerAddress(app.server, {
      maxPerAddress: config.INGRESS_MAX_CONNECTIONS_PER_IP,
      exempt: isTrustedProxy,
      onRefused: (address, firstOfBurst) => {
        deps.metrics.connectionsRefused.inc({ reason: 'per_ip' });
        // One line per burst: the flood itself must not flood the log.
        if (firstOfBurst) {
          deps.logger.warn(
            { ip: address, max: config.INGRESS_MAX_CONNECTIONS_PER_IP },
            'connections refused: too many open from one address',
          );
        }
      },
    });
  }
  // Keep the raw text (Standard Webhooks sign the exact bytes), then parse with Fastify's
  // own JSON parser, which rejects __proto__ / constructor.prototype keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // Only JSON is a callback: without this, Fastify's built-in text/plain parser would let
  // other content types through to authentication instead of a clear 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    const text = bytes.toString('utf8');
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      done(new HttpError(400, 'body_too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parseJson(request, text, done);
  });

  app.addHook('onResponse', async (request, reply) => {
    // Probes and scrapes would drown the log; a failing readiness probe is visible in its answer.
    const level = PROBE_PATHS.has(request.routeOptions.url ?? '')
      ? 'debug'
      : reply.statusCode >= 500
        ? 'error'
        : 'info';
    // Built only when written: at LOG_LEVEL=warn this hook is on every request's hot path.
    if (!deps.logger.isLevelEnabled(level)) return;
    const line = {
      req_id: request.id,
      task_id: loggableTaskId(request.taskId),
      ...request.logFields,
      method: request.method,
      url: loggableUrl(request.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ip: request.ip,
    };
    request.log[level](line, level === 'error' ? 'request failed' : 'request completed');
  });

  registerHttpErrorHandling(app, {
    loggableUrl,
    onRejected: (request, code) => {
      request.rejectReason = code;
    },
    logFields: (request) => ({ task_id: request.taskId }),
  });

  const authPolicy: AuthPolicy = {
    hmacKeys: config.CALLBACK_HMAC_KEYS,
    webhookSecrets: config.CALLBACK_WEBHOOK_SECRETS,
    pathToken: config.CALLBACK_PATH_TOKEN,
    allowedIps: addressMatcher(config.CALLBACK_ALLOWED_IPS),
    toleranceS: config.CALLBACK_TOLERANCE_S,
    disabled: config.AUTH_DISABLED,
  };
  defineClaimCommand(deps.redis);
  const keys = relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME);
  registerMemoryHeadroom(app, {
    redis: deps.redis,
    headroom: config.REDIS_MEMORY_HEADROOM,
    intervalMs: config.REDIS_MEMORY_CHECK_MS,
    registry: deps.metrics.registry,
    logger: deps.logger,
  });
  registerCallbackRoutes(app, {
    config,
    redis: deps.redis,
    queue: deps.queue,
    keys,
    ...(config.REDIS_WAIT_REPLICAS > 0
      ? {
          replicaWait: createReplicaWait({
            redis: deps.redis,
            replicas: config.REDIS_WAIT_REPLICAS,
            timeoutMs: config.REDIS_WAIT_TIMEOUT_MS,
            slotKey: keys.quarantine,
          }),
        }
      : {}),
    metrics: deps.metrics,
    authPolicy,
    events: { stream: eventsStreamFor(config), maxlen: config.EVENTS_MAXLEN },
    now: deps.now ?? Date.now,
  });
  // A load balancer in front of the public port may probe it; liveness says nothing secret.
  // Readiness (dependency names and errors) and metrics stay on the ops listener.
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  return app;
}

export interface IngressOpsDeps {
  config: IngressConfig;
  metrics: IngressMetrics;
  redis: RedisClient;
  /** The start step still under way, reported by `/readyz` (see `createIngress`). */
  starting?: () => string | undefined;
}

/**
 * The ingress's internal listener (`INGRESS_OPS_HOST:INGRESS_OPS_PORT`): `/healthz`,
 * `/readyz` (Redis, and its eviction and persistence settings) and `/metrics`, as the
 * worker's; off the public callback port.
 */
export function buildIngressOpsApp(deps: IngressOpsDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  registerOpsRoutes(app, {
    registry: deps.metrics.registry,
    checks: {
      redis: () => deps.redis.ping(),
      redis_config: redisConfigReadiness(deps.redis, redisSafetyPolicyOf(deps.config)),
    },
    ...(deps.starting ? { starting: deps.starting } : {}),
  });
  return app;
}
