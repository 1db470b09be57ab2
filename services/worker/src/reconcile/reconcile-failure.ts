import {
  classifyProviderFailure,
  type FailureCategory,
  type FailureSource,
  failureClass,
  jobIdFor,
  outcomeEventId,
  type SuggestedAction,
  type TaskFailedEvent,
} from '@runway-relay/contracts';
import type { TaskDetail } from '@runway-relay/provider-client';

/** How the reconciler ended a task without media. */
export interface ReconcileFailure {
  taskId: string;
  /** `provider_failed`: the provider says the task failed; `link_expired`: it succeeded but the media are deleted; `gave_up`: no final state within RECONCILE_MAX_AGE_S. */
  reason: 'provider_failed' | 'link_expired' | 'gave_up';
  source: FailureSource;
  category: FailureCategory;
  retryable: boolean;
  action: SuggestedAction;
  providerCode: number | null;
  providerMessage: string | null;
  detail: string | null;
  videoId: string | null;
  /** Polls of the task, this one included. */
  polls: number;
}

/**
 * A failed task, classified by the shared classifier from its failCode and failMsg. A failure
 * without a code is read as the provider's own (500): the message rules still apply.
 */
export function providerFailure(detail: TaskDetail, polls: number): ReconcileFailure {
  const code = detail.failCode ?? 500;
  const classified = classifyProviderFailure(code, detail.failMsg);
  return {
    taskId: detail.taskId,
    reason: 'provider_failed',
    source: 'provider',
    ...classified,
    providerCode: detail.failCode,
    providerMessage: detail.failMsg === '' ? null : detail.failMsg,
    detail: null,
    videoId: null,
    polls,
  };
}

/** A task that succeeded but whose media the provider already deleted (`expireFlag` 1). */
export function expiredFailure(detail: TaskDetail, polls: number): ReconcileFailure {
  return {
    taskId: detail.taskId,
    reason: 'link_expired',
    source: 'provider',
    ...failureClass('link_expired'),
    providerCode: null,
    providerMessage: null,
    detail: 'the provider reports the media deleted (expireFlag 1) before they were stored',
    videoId: detail.video?.videoId ?? null,
    polls,
  };
}

/** A task with no final state after RECONCILE_MAX_AGE_S. */
export function gaveUpFailure(taskId: string, polls: number, lastSeen: string): ReconcileFailure {
  return {
    taskId,
    reason: 'gave_up',
    source: 'worker',
    ...failureClass('no_outcome'),
    providerCode: null,
    providerMessage: null,
    detail: `no final state from the provider after ${polls} polls (last: ${lastSeen})`,
    videoId: null,
    polls,
  };
}

/**
 * The `task.failed` event of a reconciler failure. Its id is the one the worker gives the
 * event of the task's failure job, so a consumer that deduplicates by id sees one failure
 * even when a failure callback arrives after the poll.
 */
export function reconcileFailedEvent(failure: ReconcileFailure, atMs: number): TaskFailedEvent {
  return {
    v: 1,
    id: outcomeEventId(jobIdFor(failure.taskId, 'failure'), 'task.failed'),
    type: 'task.failed',
    task_id: failure.taskId,
    at: new Date(atMs).toISOString(),
    video_id: failure.videoId,
    source: failure.source,
    category: failure.category,
    retryable: failure.retryable,
    action: failure.action,
    provider_code: failure.providerCode,
    provider_message: failure.providerMessage,
    detail: failure.detail,
    attempts: failure.polls,
  };
}
