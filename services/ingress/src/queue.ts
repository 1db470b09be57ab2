import type { IngressConfig } from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import { Queue } from 'bullmq';

/** The producer side of the callbacks queue, on the ingress's fail-fast connection. */
export function createCallbackQueue(config: IngressConfig, connection: RedisClient): Queue {
  return new Queue(config.QUEUE_NAME, { connection, prefix: config.QUEUE_PREFIX });
}
