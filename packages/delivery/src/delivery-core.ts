import type { DeliveryConfig } from '@runway-relay/contracts';
import type { Logger, RedisClient } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import { type Breaker, type BreakerSettings, createBreaker } from './breaker.js';
import { type DeliveryJobOptions, deliveryJobOptions } from './delivery-job.js';
import { createDeliveryQueue } from './delivery-worker.js';
import { createEndpointGate, type EndpointGate } from './endpoint-gate.js';
import { createEndpointStore, type EndpointStore } from './endpoint-store.js';
import { createFanOut, type FanOut } from './fan-out.js';
import { type DeliveryKeys, deliveryKeys } from './keys.js';
import { createMessageLog, type MessageLog, type MessageLogLimits } from './message-log.js';
import { createReplay, type Replay } from './replay.js';
import { assertEndpointUrlAllowed, type EndpointUrlPolicy, type ResolveHost } from './url-policy.js';

/** The settings delivery reads: the DELIVERY_* variables and the key prefix. */
export type DeliverySettings = Readonly<DeliveryConfig & { QUEUE_PREFIX: string }>;

export function endpointUrlPolicyFrom(config: DeliverySettings): EndpointUrlPolicy {
  return { allowHttp: config.DELIVERY_ALLOW_HTTP, allowPrivate: config.DELIVERY_ALLOW_PRIVATE };
}

/** The env endpoint (`DELIVERY_URL` + `DELIVERY_SECRET`), when both are set. */
export function envEndpointFrom(config: DeliverySettings): { url: string; secret: string } | undefined {
  const { DELIVERY_URL: url, DELIVERY_SECRET: secret } = config;
  return url !== undefined && secret !== undefined ? { url, secret } : undefined;
}

/**
 * The creation-time URL check for the env endpoint, for a root to run at start (a refusal is a
 * configuration error: exit 78 naming DELIVERY_URL). Connect-time checks apply to it anyway.
 */
export async function assertEnvEndpointAllowed(config: DeliverySettings, resolve?: ResolveHost): Promise<void> {
  const env = envEndpointFrom(config);
  if (env !== undefined) await assertEndpointUrlAllowed(env.url, endpointUrlPolicyFrom(config), resolve);
}

export function messageLogLimitsFrom(config: DeliverySettings): MessageLogLimits {
  return {
    maxEndpointAttempts: config.DELIVERY_LOG_MAX_ATTEMPTS,
    maxMessageAttempts: config.DELIVERY_LOG_MAX_MESSAGE_ATTEMPTS,
    maxMessages: config.DELIVERY_LOG_MAX_MESSAGES,
    retentionS: config.DELIVERY_LOG_RETENTION_S,
  };
}

/** A lease a little longer than an attempt can last, for probes and in-flight slots. */
export function attemptLeaseMs(config: DeliverySettings): number {
  return config.DELIVERY_TIMEOUT_MS + 1000;
}

export function breakerSettingsFrom(config: DeliverySettings): BreakerSettings {
  return {
    threshold: config.DELIVERY_BREAKER_THRESHOLD,
    cooldownMs: config.DELIVERY_BREAKER_COOLDOWN_MS,
    probeLeaseMs: attemptLeaseMs(config),
  };
}

/** The parts both the worker root and the dashboard root need, built from the settings. */
export interface DeliveryCore {
  keys: DeliveryKeys;
  endpoints: EndpointStore;
  log: MessageLog;
  breaker: Breaker;
  gate: EndpointGate;
  queue: Queue;
  jobOptions: DeliveryJobOptions;
  fanOut: FanOut;
  replay: Replay;
  /** Closes the queue (not the connection, which the caller owns). */
  close(): Promise<void>;
}

export function createDeliveryCore(options: {
  /** A `maxRetriesPerRequest: null` connection (BullMQ's Queue takes it). */
  connection: RedisClient;
  config: DeliverySettings;
  logger: Logger;
  /** Name resolution of the creation-time URL check; DNS by default. */
  resolve?: ResolveHost;
}): DeliveryCore {
  const { connection: redis, config, logger } = options;
  const keys = deliveryKeys(config.QUEUE_PREFIX);
  const endpoints = createEndpointStore({
    redis,
    keys,
    policy: endpointUrlPolicyFrom(config),
    envEndpoint: envEndpointFrom(config),
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  const log = createMessageLog({ redis, keys, limits: messageLogLimitsFrom(config) });
  const queue = createDeliveryQueue({ connection: redis, prefix: config.QUEUE_PREFIX });
  const jobOptions = deliveryJobOptions(config);
  return {
    keys,
    endpoints,
    log,
    breaker: createBreaker(redis, keys, breakerSettingsFrom(config)),
    gate: createEndpointGate(redis, keys, attemptLeaseMs(config)),
    queue,
    jobOptions,
    fanOut: createFanOut({ endpoints, log, queue, jobOptions, logger }),
    replay: createReplay({ log, queue, jobOptions }),
    close: () => queue.close(),
  };
}
