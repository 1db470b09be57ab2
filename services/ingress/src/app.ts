import { randomUUID } from 'node:crypto';
import { eventsStreamFor, type IngressConfig, relayKeys } from '@runway-relay/contracts';
import { createReplicaWait, type Logger, type RedisClient, registerOpsRoutes } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import type { AuthPolicy } from './auth/authenticate.js';
import { cidrList, clientIp } from './auth/client-ip.js';
import { defineClaimCommand } from './dedupe/claim-task.js';
import { FASTIFY_ERROR_CODES, HttpError } from './errors.js';
import { jsonDepthExceeds } from './json-depth.js';
import type { IngressMetrics } from './metrics.js';
import { registerCallbackRoutes } from './routes/callback.route.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body's bytes exactly as received, for signatures over the raw bytes and the quarantine. */
    rawBody?: Buffer;
    /** The sender's address after trusted-proxy resolution. */
    clientIp: string;
    /** Set once the body names a valid task, so the completion log line carries it. */
    taskId?: string;
    /** The error code the request was rejected with, for the metrics. */
    rejectReason?: string;
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
const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Builds the ingress app; `main.ts` listens, tests use `inject()` or listen on port 0. */
export function buildIngressApp(deps: IngressDeps): FastifyInstance {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Our own completion line (below) carries task_id and a URL without secrets.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Proxy handling is ours (TRUSTED_PROXIES), so the IP allow-list cannot be spoofed.
    trustProxy: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
  });

  const trusted = config.TRUSTED_PROXIES.length > 0 ? cidrList(config.TRUSTED_PROXIES) : null;
  app.decorateRequest('clientIp', '');
  app.addHook('onRequest', async (request) => {
    const forwarded = request.headers['x-forwarded-for'];
    request.clientIp = clientIp(
      request.socket.remoteAddress ?? '',
      Array.isArray(forwarded) ? forwarded.join(',') : forwarded,
      trusted,
    );
  });

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
    const level = OPS_PATHS.has(request.routeOptions.url ?? '') ? 'debug' : reply.statusCode >= 500 ? 'error' : 'info';
    // Built only when written: at LOG_LEVEL=warn this hook is on every request's hot path.
    if (!deps.logger.isLevelEnabled(level)) return;
    const line = {
      req_id: request.id,
      task_id: request.taskId,
      method: request.method,
      url: loggableUrl(request.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ip: request.clientIp,
    };
    request.log[level](line, level === 'error' ? 'request failed' : 'request completed');
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      request.rejectReason = error.error;
      if (error.headers) void reply.headers(error.headers);
      return reply.code(error.statusCode).send({ error: error.error, message: error.message, details: error.details });
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (status < 500) {
      const code = FASTIFY_ERROR_CODES[error.code] ?? 'bad_request';
      request.rejectReason = code;
      return reply.code(status).send({ error: code, message: error.message });
    }
    request.log.error({ err: error, task_id: request.taskId }, 'unhandled error');
    request.rejectReason = 'internal_error';
    return reply.code(500).send({ error: 'internal_error', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${loggableUrl(request.url)}` }),
  );

  const authPolicy: AuthPolicy = {
    hmacKeys: config.CALLBACK_HMAC_KEYS,
    webhookSecrets: config.CALLBACK_WEBHOOK_SECRETS,
    pathToken: config.CALLBACK_PATH_TOKEN,
    allowedIps: config.CALLBACK_ALLOWED_IPS.length > 0 ? cidrList(config.CALLBACK_ALLOWED_IPS) : null,
    toleranceS: config.CALLBACK_TOLERANCE_S,
    disabled: config.AUTH_DISABLED,
  };
  defineClaimCommand(deps.redis);
  const keys = relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME);
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
  registerOpsRoutes(app, { registry: deps.metrics.registry, checks: { redis: () => deps.redis.ping() } });
  return app;
}
