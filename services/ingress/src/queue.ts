import type { IngressConfig } from '@runway-relay/contracts';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** The producer side of the callbacks queue, on the ingress's fail-fast connection. */
export function createCallbackQueue(config: IngressConfig, connection: Redis): Queue {
  return new Queue(config.QUEUE_NAME, { connection, prefix: config.QUEUE_PREFIX });
}
