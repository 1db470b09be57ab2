import type { IngressConfig } from '@runway-relay/contracts';
import {
  closeQuietly,
  createLogger,
  createServiceRedis,
  createStartupProgress,
  type Logger,
  type RedisClient,
  redisSafetyAtStart,
  redisSafetyPolicyOf,
  type ServiceRoot,
  StartRefusedError,
} from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { buildIngressApp, buildIngressOpsApp } from './app.js';
import { createIngressMetrics, type IngressMetrics } from './metrics.js';
import { createCallbackQueue } from './queue.js';

/** Test-only seams: production has no equivalent. */
export interface IngressOverrides {
  /** Where log lines go (a test reads them back); stdout otherwise. */
  logDestination?: NodeJS.WritableStream;
}

export interface IngressAddresses {
  /** The bound public port (the callbacks); `INGRESS_PORT` 0 asks the kernel for one. */
  port: number;
  /** The bound ops port (`/healthz`, `/readyz`, `/metrics`). */
  opsPort: number;
}

export interface IngressService extends ServiceRoot {
  readonly config: IngressConfig;
  readonly logger: Logger;
  /** The producer connection (fails fast while Redis is away). */
  readonly redis: RedisClient;
  readonly queue: Queue;
  readonly metrics: IngressMetrics;
  /** The public app: callbacks and `/healthz` (tests `inject()` into it). */
  readonly app: FastifyInstance;
  /** The ops app on `INGRESS_OPS_PORT`. */
  readonly ops: FastifyInstance;
  /**
   * Listens on the ops port first (so `/readyz` can say what is missing), waits for Redis and
   * checks that it cannot drop ACKed callbacks (a {@link StartRefusedError} otherwise), then
   * listens on the public port.
   */
  start(): Promise<IngressAddresses>;
}

/** The bound port of a listening app (the configured one before it listens). */
function boundPort(app: FastifyInstance, configured: number): number {
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : configured;
}

/**
 * The ingress's composition root (docs/architecture.md §8): builds the logger, the producer
 * connection, the queue, the metrics and both apps from `config`. `main.ts`, the tests and the
 * benchmarks all build the ingress here, so the wiring exists once.
 */
export function createIngress(config: IngressConfig, overrides: IngressOverrides = {}): IngressService {
  const logger = createLogger({ service: 'ingress', level: config.LOG_LEVEL, destination: overrides.logDestination });
  if (config.AUTH_DISABLED) {
    logger.warn('!!! AUTH_DISABLED=true: callbacks are accepted from ANYONE. Local development only. !!!');
  }
  const redis = createServiceRedis(config, {
    role: 'producer',
    logger,
    name: 'ingress',
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  const queue = createCallbackQueue(config, redis);
  queue.on('error', (error) => logger.warn({ err: error }, 'queue error'));
  const metrics = createIngressMetrics();
  const app = buildIngressApp({ config, logger, redis, queue, metrics });
  const progress = createStartupProgress();
  const ops = buildIngressOpsApp({ config, metrics, redis, starting: progress.pending });
  const stopping = new AbortController();

  const start = async (): Promise<IngressAddresses> => {
    await ops.listen({ host: config.INGRESS_OPS_HOST, port: config.INGRESS_OPS_PORT });
    progress.step('waiting for redis');
    // Refuse to ACK callbacks into a Redis that may drop them (eviction, no persistence).
    const safety = await redisSafetyAtStart(redis, redisSafetyPolicyOf(config), logger, stopping.signal);
    if (!safety.ok) throw new StartRefusedError(safety.message);
    stopping.signal.throwIfAborted();
    await app.listen({ host: config.INGRESS_HOST, port: config.INGRESS_PORT });
    progress.done();
    const addresses = {
      port: boundPort(app, config.INGRESS_PORT),
      opsPort: boundPort(ops, config.INGRESS_OPS_PORT),
    };
    logger.info(
      {
        host: config.INGRESS_HOST,
        port: addresses.port,
        ops_host: config.INGRESS_OPS_HOST,
        ops_port: addresses.opsPort,
        queue: config.QUEUE_NAME,
      },
      'ingress listening',
    );
    return addresses;
  };

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopping.abort(new Error('ingress closing'));
      // Stop accepting, let in-flight callbacks finish (each is durable before its 200), then
      // close Redis. The ops listener closes after the drain, so metrics can be scraped during it.
      await app.close();
      await ops.close();
      await queue.close().catch(() => undefined);
      await closeQuietly([redis]);
    })();
    return closing;
  };

  return { config, logger, redis, queue, metrics, app, ops, start, close };
}
