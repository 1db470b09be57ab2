import type { RelayEvent } from '@runway-relay/contracts';
import type { Logger } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import { DELIVERY_JOB_NAME, type DeliveryJobData, type DeliveryJobOptions } from './delivery-job.js';
import { createEndpointCache } from './endpoint-cache.js';
import type { EndpointStore } from './endpoint-store.js';
import type { MessageLog } from './message-log.js';

export interface FanOut {
  /** Creates the messages of one event (one per matching endpoint) and their jobs; returns the jobs added. */
  fanOutEvent(event: RelayEvent): Promise<number>;
}

/**
 * One message per (event, endpoint whose filter takes the event type). The message id and job
 * id are derived from the two ids, and a message records when its job was added, so handling
 * the same stream entry again (a crash before XACK, a claimed entry) adds nothing twice.
 * Disabled endpoints get their message parked, without a job, for a later replay. The endpoint
 * list is cached and read again only when the store's version changed (docs/delivery.md §4).
 */
export function createFanOut(options: {
  endpoints: Pick<EndpointStore, 'all' | 'version'>;
  log: MessageLog;
  queue: Queue;
  jobOptions: DeliveryJobOptions;
  logger: Logger;
}): FanOut {
  const { log, queue, jobOptions, logger } = options;
  const endpoints = createEndpointCache(options.endpoints);
  return {
    async fanOutEvent(event) {
      const targets = (await endpoints.current()).filter(
        (endpoint) => endpoint.event_types.length === 0 || endpoint.event_types.includes(event.type),
      );
      let added = 0;
      for (const endpoint of targets) {
        const { message } = await log.ensure(event, endpoint.id, endpoint.enabled ? 'pending' : 'parked');
        if (message.status !== 'pending' || message.enqueued) continue;
        const data: DeliveryJobData = { message_id: message.id, endpoint_id: endpoint.id, replay: false };
        // jobId = message id: while BullMQ keeps the job, a second add is a no-op too.
        await queue.add(DELIVERY_JOB_NAME, data, { ...jobOptions, jobId: message.id });
        await log.markEnqueued(message);
        added += 1;
      }
      logger.debug(
        { task_id: event.task_id, event_id: event.id, endpoints: targets.length, added },
        'event fanned out',
      );
      return added;
    },
  };
}
