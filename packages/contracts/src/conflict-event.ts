import type { CallbackSummary, TaskConflictEvent } from './event.schema.js';

export interface ConflictEventInput {
  taskId: string;
  accepted: CallbackSummary;
  conflicting: CallbackSummary;
  /** Fingerprint of the conflicting callback: one event per distinct conflicting content. */
  conflictingFingerprint: string;
  /** Null while the conflict is open. */
  resolution: TaskConflictEvent['resolution'];
  at?: Date;
}

/**
 * A `task.conflict` event. Its id is deterministic per task, conflicting content and state, so
 * a delivery retried after a failed write re-sends the same event (consumers drop the copy).
 */
export function buildConflictEvent(input: ConflictEventInput): TaskConflictEvent {
  const state = input.resolution === null ? 'open' : 'resolved';
  return {
    v: 1,
    id: `evt_${input.taskId}_conflict_${input.conflictingFingerprint.slice(0, 16)}_${state}`,
    type: 'task.conflict',
    task_id: input.taskId,
    at: (input.at ?? new Date()).toISOString(),
    state,
    accepted: input.accepted,
    conflicting: input.conflicting,
    resolution: input.resolution,
  };
}
