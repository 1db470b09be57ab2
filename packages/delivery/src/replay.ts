import type { Queue } from 'bullmq';
import { DELIVERY_JOB_NAME, type DeliveryJobData, type DeliveryJobOptions, replayJobId } from './delivery-job.js';
import type { MessageLog, MessageStatus } from './message-log.js';

export interface Replay {
  /** Sends a message again (same webhook-id); the new job's id, or null for an unknown message. */
  message(messageId: string): Promise<string | null>;
  /** Replays an endpoint's messages created since `sinceMs` whose status is one of `statuses` (default failed, parked). */
  endpoint(endpointId: string, sinceMs: number, statuses?: readonly MessageStatus[]): Promise<string[]>;
}

export function createReplay(options: { log: MessageLog; queue: Queue; jobOptions: DeliveryJobOptions }): Replay {
  const { log, queue, jobOptions } = options;
  async function message(messageId: string): Promise<string | null> {
    const found = await log.get(messageId);
    if (found === null) return null;
    const jobId = replayJobId(found.id, await log.nextReplay(found.id));
    await log.setStatus(found, 'pending');
    const data: DeliveryJobData = { message_id: found.id, endpoint_id: found.endpoint_id, replay: true };
    await queue.add(DELIVERY_JOB_NAME, data, { ...jobOptions, jobId });
    return jobId;
  }
  return {
    message,
    async endpoint(endpointId, sinceMs, statuses = ['failed', 'parked']) {
      const jobIds: string[] = [];
      for (const id of await log.endpointMessageIds(endpointId, sinceMs)) {
        const found = await log.get(id);
        if (found === null || !statuses.includes(found.status)) continue;
        const jobId = await message(id);
        if (jobId !== null) jobIds.push(jobId);
      }
      return jobIds;
    },
  };
}
