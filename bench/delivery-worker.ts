/**
 * The delivery side of the webhooks benchmark in a process of its own, wired as the worker's
 * composition root wires it (docs/delivery.md §8): createDeliveryCore, the guarded agent, the
 * processor with the real Standard Webhooks signer and minio presigning, the BullMQ
 * `deliveries` worker and the fan-out consumer reading the events stream.
 *
 * Env: REDIS_URL, QUEUE_PREFIX, EVENTS_STREAM and the DELIVERY_* variables (parsed by the
 * contracts schema). Prints `delivery worker ready` once the worker and the consumer group exist.
 */
import { hostname } from 'node:os';
import { DeliveryEnvSchema } from '@runway-relay/contracts';
import {
  createDeliveryAgent,
  createDeliveryCore,
  createDeliveryMetrics,
  createDeliveryProcessor,
  createDeliveryWorker,
  DELIVERY_GROUP,
  DELIVERY_QUEUE_STATES,
  type DeliverySettings,
  readBreakerStates,
  runFanOutConsumer,
} from '@runway-relay/delivery';
import { createLogger, ensureConsumerGroup } from '@runway-relay/runtime';
import { Redis } from 'ioredis';
import * as Minio from 'minio';
import { Registry } from 'prom-client';
import { z } from 'zod';

const env = z
  .object({ REDIS_URL: z.string().min(1), QUEUE_PREFIX: z.string().min(1), EVENTS_STREAM: z.string().min(1) })
  .parse(process.env);
const config: DeliverySettings = { ...DeliveryEnvSchema.parse(process.env), QUEUE_PREFIX: env.QUEUE_PREFIX };
const logger = createLogger({ service: 'bench-delivery', level: process.env.LOG_LEVEL ?? 'warn' });

const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
const consumerConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
const core = createDeliveryCore({ connection, config, logger });
const agent = createDeliveryAgent({
  timeoutMs: config.DELIVERY_TIMEOUT_MS,
  allowPrivate: config.DELIVERY_ALLOW_PRIVATE,
});
const metrics = createDeliveryMetrics(
  new Registry(),
  () => readBreakerStates(core.endpoints, core.breaker),
  () => core.queue.getJobCounts(...DELIVERY_QUEUE_STATES),
);
// Presigning is local computation (HMAC) once the region is given: this endpoint is never contacted.
const s3 = new Minio.Client({
  endPoint: '127.0.0.1',
  port: 9000,
  useSSL: false,
  accessKey: 'bench-access-key',
  secretKey: 'bench-secret-key',
  region: 'us-east-1',
  pathStyle: true,
});
const processor = createDeliveryProcessor({
  endpoints: core.endpoints,
  log: core.log,
  breaker: core.breaker,
  gate: core.gate,
  dispatcher: agent,
  timeoutMs: config.DELIVERY_TIMEOUT_MS,
  metrics,
  logger,
  metadataFor: async () => null,
  presign: (bucket, key, ttl) => s3.presignedGetObject(bucket, key, ttl),
  linkTtlS: config.DELIVERY_LINK_TTL_S,
});
const worker = createDeliveryWorker({
  connection,
  prefix: config.QUEUE_PREFIX,
  concurrency: config.DELIVERY_CONCURRENCY,
  backoffBaseMs: config.DELIVERY_BACKOFF_MS,
  processor,
  logger,
});

// The group is created here, before "ready", so no event the bench adds afterwards is missed ('$').
await ensureConsumerGroup(connection, env.EVENTS_STREAM, DELIVERY_GROUP, '$');
const stop = new AbortController();
const consuming = runFanOutConsumer({
  redis: consumerConnection,
  stream: env.EVENTS_STREAM,
  fanOut: core.fanOut,
  consumer: `${hostname()}:${process.pid}`,
  signal: stop.signal,
  logger,
  blockMs: 200,
});
await worker.waitUntilReady();
process.stdout.write('delivery worker ready\n');

// The benchmark's memory probe: with --expose-gc, SIGUSR2 collects garbage and prints the
// process's memory, so "before" and "after" compare what is retained, not what awaits collection.
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(`memory ${JSON.stringify(process.memoryUsage())}\n`);
});

process.once('SIGTERM', () => {
  stop.abort();
  void (async () => {
    await consuming;
    await worker.close();
    await core.close();
    await agent.close();
    consumerConnection.disconnect();
    await connection.quit();
    process.exit(0);
  })();
});
