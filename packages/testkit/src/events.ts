import { randomUUID } from 'node:crypto';
import { newEventId, type TaskFailedEvent } from '@runway-relay/contracts';

/**
 * A valid `task.failed` event (a provider failure: the prompt was moderated) with a fresh id
 * and task id; `overrides` set any field. For tests that need an event of the stream without
 * a worker to write it.
 */
export function failedEvent(overrides: Partial<TaskFailedEvent> = {}): TaskFailedEvent {
  return {
    v: 1,
    id: newEventId(),
    type: 'task.failed',
    task_id: randomUUID(),
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
  };
}
