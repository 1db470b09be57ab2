import { randomUUID } from 'node:crypto';
import type { RelayEvent } from '@runway-relay/contracts';
import { createLogger } from '@runway-relay/runtime';
import type { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { Agent } from 'undici';
import { createBreaker, readBreakerStates } from './breaker.js';
import { createDeliveryAgent } from './delivery-agent.js';
import { deliveryJobOptions } from './delivery-job.js';
import { createDeliveryQueue, createDeliveryWorker } from './delivery-worker.js';
import { createEndpointGate } from './endpoint-gate.js';
import { createEndpointStore } from './endpoint-store.js';
import { createFanOut } from './fan-out.js';
import { deliveryKeys } from './keys.js';
import { createMessageLog, type MessageLogLimits } from './message-log.js';
import { createDeliveryMetrics } from './metrics.js';
import type { MetadataFor, Presign } from './payload.js';
import { createDeliveryProcessor } from './processor.js';
import { createReplay } from './replay.js';

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

/** The delivery modules wired as a worker root would, against a real Redis, for tests. */
export async function startHarness(options: HarnessOptions) {
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const keys = deliveryKeys(prefix);
  const logger = createLogger({ service: 'delivery-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const timeoutMs = options.timeoutMs ?? 2_000;
  const jobOptions = deliveryJobOptions({
    DELIVERY_ATTEMPTS: options.attempts ?? 5,
    DELIVERY_BACKOFF_MS: options.backoffMs ?? 20,
    DELIVERY_LOG_RETENTION_S: 3600,
  });
  const endpoints = createEndpointStore({ redis: connection, keys, policy: { allowHttp: true, allowPrivate: true } });
  const log = createMessageLog({
    redis: connection,
    keys,
    limits: {
      maxEndpointAttempts: 1000,
      maxMessageAttempts: 50,
      maxMessages: 1000,
      retentionS: 3600,
      ...options.limits,
    },
  });
  const breaker = createBreaker(connection, keys, {
    threshold: options.breakerThreshold ?? 100,
    cooldownMs: options.breakerCooldownMs ?? 1000,
    probeLeaseMs: timeoutMs + 1000,
  });
  const gate = createEndpointGate(connection, keys, timeoutMs + 1000);
  const agent: Agent = createDeliveryAgent({ timeoutMs, allowPrivate: options.allowPrivateAtConnect ?? true });
  const queue: Queue = createDeliveryQueue({ connection, prefix });
  const registry = new Registry();
  const metrics = createDeliveryMetrics(registry, () => readBreakerStates(endpoints, breaker));
  const processor = createDeliveryProcessor({
    endpoints,
    log,
    breaker,
    gate,
    dispatcher: agent,
    timeoutMs,
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
    backoffBaseMs: options.backoffMs ?? 20,
    processor,
    logger,
    autorun: options.run ?? true,
  });
  const fanOut = createFanOut({ endpoints, log, queue, jobOptions, logger });
  const replay = createReplay({ log, queue, jobOptions });
  return {
    connection,
    prefix,
    keys,
    logger,
    endpoints,
    log,
    breaker,
    gate,
    queue,
    worker,
    fanOut,
    replay,
    jobOptions,
    registry,
    async close() {
      await worker.close();
      await queue.close();
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
