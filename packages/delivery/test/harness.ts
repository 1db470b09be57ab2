import { randomUUID } from 'node:crypto';
import { DeliveryEnvSchema, type RelayEvent } from '@runway-relay/contracts';
import { createLogger } from '@runway-relay/runtime';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { Agent } from 'undici';
import { readBreakerStates } from '../src/breaker.js';
import { createDeliveryAgent } from '../src/delivery-agent.js';
import { createDeliveryCore, type DeliverySettings } from '../src/delivery-core.js';
import { createDeliveryWorker } from '../src/delivery-worker.js';
import type { MessageLogLimits } from '../src/message-log.js';
import { createDeliveryMetrics } from '../src/metrics.js';
import type { MetadataFor, Presign } from '../src/payload.js';
import { createDeliveryProcessor } from '../src/processor.js';

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
 * The delivery modules wired as a worker root would (settings parsed by the contracts schema,
 * `createDeliveryCore`, the processor and the worker), against a real Redis, for tests.
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
    }),
    // Below the schema's floors, so that bounds show with a few attempts.
    DELIVERY_LOG_MAX_ATTEMPTS: limits.maxEndpointAttempts ?? 1000,
    DELIVERY_LOG_MAX_MESSAGE_ATTEMPTS: limits.maxMessageAttempts ?? 50,
    DELIVERY_LOG_MAX_MESSAGES: limits.maxMessages ?? 1000,
    QUEUE_PREFIX: prefix,
  };
  const logger = createLogger({ service: 'delivery-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const core = createDeliveryCore({ connection, config, logger });
  const agent: Agent = createDeliveryAgent({
    timeoutMs: config.DELIVERY_TIMEOUT_MS,
    allowPrivate: options.allowPrivateAtConnect ?? true,
  });
  const registry = new Registry();
  const metrics = createDeliveryMetrics(registry, () => readBreakerStates(core.endpoints, core.breaker));
  const processor = createDeliveryProcessor({
    endpoints: core.endpoints,
    log: core.log,
    breaker: core.breaker,
    gate: core.gate,
    dispatcher: agent,
    timeoutMs: config.DELIVERY_TIMEOUT_MS,
    logger,
    metrics,
    metadataFor: options.metadataFor ?? (async () => null),
    presign: options.presign ?? (async (bucket, key, ttl) => `https://s3.test/${bucket}/${key}?X-Amz-Expires=${ttl}`),
    linkTtlS: 600,
  });
  const worker: Worker = createDeliveryWorker({
    connection,
    prefix,
    concurrency: 4,
    backoffBaseMs: config.DELIVERY_BACKOFF_MS,
    processor,
    logger,
    autorun: options.run ?? true,
  });
  return {
    ...core,
    connection,
    prefix,
    logger,
    worker,
    registry,
    async close() {
      await worker.close();
      await core.close();
      await agent.close();
      await connection.quit();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

let counter = 0;

/** A valid task.failed event with a fresh id. */
export function failedEvent(overrides: Partial<RelayEvent> = {}): RelayEvent {
  counter += 1;
  return {
    v: 1,
    id: `evt_test_${Date.now()}_${counter}`,
    type: 'task.failed',
    task_id: `0f3e9c1a-7b2d-4e5f-8a6b-${String(counter).padStart(12, '0')}`,
    at: new Date().toISOString(),
    video_id: null,
    source: 'provider',
    category: 'prompt_moderation',
    retryable: false,
    action: 'revise_prompt',
    provider_code: 400,
    provider_message: 'Your prompt was caught by our AI moderator.',
    detail: null,
    attempts: 1,
    ...overrides,
  } as RelayEvent;
}
