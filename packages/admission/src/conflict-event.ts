import { buildConflictEvent, type CallbackSummary, type ConflictRecord } from '@runway-relay/contracts';
import { type EventStreamOptions, publishEvent, type RedisClient } from '@runway-relay/runtime';

export interface ConflictNotice {
  taskId: string;
  /** What the task had accepted. */
  accepted: CallbackSummary;
  /** The delivery that disagrees with it. */
  conflicting: ConflictRecord;
}

/**
 * Writes the `task.conflict` event of a conflicting delivery. Called after the claim script
 * recorded the conflict; if this write fails the delivery is answered 503, and the provider's
 * retry finds the conflict recorded and writes the event again under the same id.
 */
export async function publishConflict(
  redis: RedisClient,
  events: EventStreamOptions,
  notice: ConflictNotice,
): Promise<void> {
  await publishEvent(
    redis,
    events,
    buildConflictEvent({
      taskId: notice.taskId,
      accepted: notice.accepted,
      conflicting: notice.conflicting.summary,
      conflictingFingerprint: notice.conflicting.fingerprint,
      resolution: null,
    }),
  );
}
