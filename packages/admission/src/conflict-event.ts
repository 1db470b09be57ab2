import {
  buildConflictEvent,
  type CallbackSummary,
  type ConflictRecord,
  type TaskConflictEvent,
} from '@runway-relay/contracts';
import { type EventStreamOptions, publishEvent, type RedisClient } from '@runway-relay/runtime';

export interface ConflictNotice {
  taskId: string;
  /** What the task had accepted. */
  accepted: CallbackSummary;
  /** The delivery that disagrees with it. */
  conflicting: Pick<ConflictRecord, 'summary' | 'fingerprint'>;
  /** How it was settled; absent while the conflict is open. */
  resolution?: TaskConflictEvent['resolution'];
}

/**
 * Writes the `task.conflict` event of a conflicting delivery (open), or of its settlement (by an
 * operator or the provider's API). For an open one it is called after the claim script recorded
 * the conflict; if this write fails the delivery is answered 503, and the provider's retry finds
 * the conflict recorded and writes the event again under the same id.
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
      resolution: notice.resolution ?? null,
    }),
  );
}
