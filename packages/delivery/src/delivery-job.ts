import type { DeliveryConfig } from '@runway-relay/contracts';
import { z } from 'zod';
import { DELIVERY_BACKOFF } from './backoff.js';

/** Data of one job on the `deliveries` queue: which message to send. Validated at the processor. */
export const DeliveryJobDataSchema = z.object({
  message_id: z.string().regex(/^msg_[0-9a-f]{32}$/),
  endpoint_id: z.string().min(1).max(64),
  /** True for a job added by a replay (its id carries a `-replay-<n>` suffix). */
  replay: z.boolean().default(false),
});
export type DeliveryJobData = z.input<typeof DeliveryJobDataSchema>;

/** Name of every job on the deliveries queue. */
export const DELIVERY_JOB_NAME = 'deliver';

export interface DeliveryJobOptions {
  attempts: number;
  backoff: { type: typeof DELIVERY_BACKOFF; delay: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number; count: number };
}

/**
 * Options of every delivery job. BullMQ's own job records are kept briefly: the message hash
 * and the attempt logs are the delivery history (docs/delivery.md).
 */
export function deliveryJobOptions(
  config: Pick<DeliveryConfig, 'DELIVERY_ATTEMPTS' | 'DELIVERY_BACKOFF_MS' | 'DELIVERY_LOG_RETENTION_S'>,
): DeliveryJobOptions {
  return {
    attempts: config.DELIVERY_ATTEMPTS,
    backoff: { type: DELIVERY_BACKOFF, delay: config.DELIVERY_BACKOFF_MS },
    removeOnComplete: { age: 86_400, count: 10_000 },
    removeOnFail: { age: config.DELIVERY_LOG_RETENTION_S, count: 100_000 },
  };
}

/** The job id of a replay: new (BullMQ would ignore a second job of one id), same webhook-id. */
export function replayJobId(messageId: string, replay: number): string {
  return `${messageId}-replay-${replay}`;
}
