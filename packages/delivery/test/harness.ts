import { randomUUID } from 'node:crypto';
import { DeliveryEnvSchema } from '@runway-relay/contracts';
import { createLogger } from '@runway-relay/runtime';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { DeliverySettings } from '../src/delivery-core.js';
import { createDeliveryRunner } from '../src/delivery-runner.js';
import type { MessageLogLimits } from '../src/message-log.js';
import type { MetadataFor, Presign } from '../src/payload.js';

export interface HarnessOptions {
  redisUrl: string;
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
  breakerThreshold?: number;
  breakerCooldownMs?: number;
  allowPrivateAtConnect?: boolean;
  limits?: Partial<MessageLogLimits>;
  metadataFor?: MetadataFor;
  presign?: Presign;
  /** Start the BullMQ worker (default true). */
  run?: boolean;
}

/**
 * The delivery modules wired as the worker root wires them (settings parsed by the contracts
 * schema, `createDeliveryRunner`), without the fan-out consumer, against a real Redis, for tests.
 */
export async function startHarness(options: HarnessOptions) {
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const limits = options.limits ?? {};
  const config: DeliverySettings = {
    ...DeliveryEnvSchema.parse({
      DELIVERY_ALLOW_PRIVATE: 'true',
      DELIVERY_ALLOW_HTTP: 'true',
      DELIVERY_TIMEOUT_MS: String(options.timeoutMs ?? 2_000),
      DELIVERY_ATTEMPTS: String(options.attempts ?? 5),
      DELIVERY_BACKOFF_MS: String(options.backoffMs ?? 20),
      DELIVERY_BREAKER_THRESHOLD: String(options.breakerThreshold ?? 100),
      DELIVERY_BREAKER_COOLDOWN_MS: String(options.breakerCooldownMs ?? 1000),
      DELIVERY_LOG_RETENTION_S: '3600',
      DELIVERY_CONCURRENCY: '4',
      DELIVERY_LINK_TTL_S: '600',
    }),
    // Below the schema's floors, so that bounds show with a few attempts.
    DELIVERY_LOG_MAX_ATTEMPTS: limits.maxEndpointAttempts ?? 1000,
    DELIVERY_LOG_MAX_MESSAGE_ATTEMPTS: limits.maxMessageAttempts ?? 50,
    DELIVERY_LOG_MAX_MESSAGES: limits.maxMessages ?? 1000,
    QUEUE_PREFIX: prefix,
  };
  const logger = createLogger({ service: 'delivery-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const registry = new Registry();
  const runner = createDeliveryRunner({
    connection,
    config,
    logger,
    registry,
    metadataFor: options.metadataFor ?? (async () => null),
    presign: options.presign ?? (async (bucket, key, ttl) => `https://s3.test/${bucket}/${key}?X-Amz-Expires=${ttl}`),
    allowPrivateAtConnect: options.allowPrivateAtConnect ?? true,
    autorun: options.run ?? true,
  });
  const { core, worker } = runner;
  return {
    ...core,
    connection,
    prefix,
    logger,
    worker,
    registry,
    async close() {
      await runner.close();
      await connection.quit();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** A valid task.failed event with a fresh id (testkit's). */
export { failedEvent } from '@runway-relay/testkit';
