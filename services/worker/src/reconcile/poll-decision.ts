import type { RegisteredTask } from '@runway-relay/admission';
import type { CallbackJob } from '@runway-relay/contracts';
import { ProviderError, type TaskDetail } from '@runway-relay/provider-client';
import { jobFromPoll } from './poll-job.js';
import { expiredFailure, gaveUpFailure, providerFailure, type ReconcileFailure } from './reconcile-failure.js';

/** When to poll and when to stop (RECONCILE_* settings, in seconds). */
export interface ReconcilePolicy {
  intervalS: number;
  maxIntervalS: number;
  maxAgeS: number;
}

/** What to do with a task after one poll. */
export type PollDecision =
  | { kind: 'enqueue'; job: CallbackJob }
  | { kind: 'failed'; failure: ReconcileFailure }
  | { kind: 'reschedule'; atMs: number; intervalS: number; state: string };

/** The answer of one poll: the task's detail, or the error the client gave up with. */
export type PollOutcome = { detail: TaskDetail } | { error: ProviderError };

/**
 * Decides from one poll (pure; docs/worker.md, "The reconciler"): success → the job a callback
 * would make; success with expired links → `link_expired`; fail → classified failure; still
 * running or no answer → poll again after an interval doubling up to the maximum, or give up
 * (`no_outcome`) once the task is older than the maximum age.
 */
export function decidePoll(
  task: RegisteredTask,
  outcome: PollOutcome,
  nowMs: number,
  policy: ReconcilePolicy,
): PollDecision {
  const polls = task.polls + 1;
  if ('detail' in outcome) {
    const { detail } = outcome;
    if (detail.state === 'fail') return failed(providerFailure(detail, polls));
    if (detail.state === 'success') {
      return detail.expired
        ? failed(expiredFailure(detail, polls))
        : { kind: 'enqueue', job: jobFromPoll(detail, nowMs) };
    }
  }
  const state = 'detail' in outcome ? outcome.detail.state : `error:${outcome.error.kind}`;
  if (nowMs - task.registeredAt >= policy.maxAgeS * 1000) return failed(gaveUpFailure(task.taskId, polls, state));
  const intervalS = task.intervalS === 0 ? policy.intervalS : Math.min(task.intervalS * 2, policy.maxIntervalS);
  const retryAfterS = 'error' in outcome ? Math.ceil((outcome.error.retryAfterMs ?? 0) / 1000) : 0;
  const waitS = Math.max(intervalS, retryAfterS);
  return { kind: 'reschedule', atMs: nowMs + waitS * 1000, intervalS, state };
}

function failed(failure: ReconcileFailure): PollDecision {
  return { kind: 'failed', failure };
}

/** Errors after which every further poll of this pass would fail the same way. */
export function stopsThePass(error: unknown): boolean {
  return error instanceof ProviderError && (error.kind === 'auth' || error.kind === 'credits');
}
